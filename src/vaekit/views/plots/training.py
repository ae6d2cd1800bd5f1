"""How training went: the per-epoch curves of the losses (and of β under a schedule), and
how much each latent dimension ended up carrying (KL per dimension)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from vaekit.core.errors import VaekitError
from vaekit.metrics.latent import latent_statistics
from vaekit.runs.run import Run
from vaekit.views.plots.common import latent_name


def plot_curves(run: Run, **_) -> plt.Figure:
    """Per-epoch ELBO (or training loss), reconstruction and KL terms on the training and
    validation data, and β when it follows a schedule (else the validation squared error)."""
    rows = run.metrics
    if not rows:
        raise VaekitError(f"{run.path}: no metrics.jsonl to plot")
    epochs = [r["epoch"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    probabilistic = rows[-1].get("val_elbo") is not None
    ax = axes[0, 0]
    ax.plot(epochs, [-r["train_loss"] for r in rows], label="train (−loss)")
    if probabilistic:
        ax.plot(epochs, [r["val_elbo"] for r in rows], label="validation ELBO")
    ax.set(title="ELBO" if probabilistic else "−training loss", ylabel="nats per example")
    terms = {"recon": "reconstruction −log p(x|z)", "kl": "KL(q(z|x) ‖ N(0, I))"}
    for ax, (key, title) in zip((axes[0, 1], axes[1, 0]), terms.items(), strict=True):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], label="train")
        ax.plot(epochs, [r[f"val_{key}"] for r in rows], label="validation")
        ax.set(title=title, ylabel="nats per example")
    ax = axes[1, 1]
    betas = [r.get("beta") for r in rows]
    if len({b for b in betas if b is not None}) > 1:  # a schedule: show it
        ax.plot(epochs, [b if b is not None else np.nan for b in betas], color="C3", label="β")
        ax.set_title("β in force (end of epoch)")
    else:
        ax.plot(epochs, [r["val_mse"] for r in rows], color="C2", label="validation")
        ax.set_title("reconstruction squared error")
    for ax in axes.flat:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Training curves — {run.config.model.model} on {run.config.data.source}")
    fig.tight_layout()
    return fig


def plot_kl(run: Run, x: Tensor, conditions: Tensor | None = None, **_) -> plt.Figure:
    """KL to the prior per latent dimension of held-out ``x`` (the variance of the code for
    a model without a KL term); the dimensions in use in blue, the unused in grey."""
    stats = latent_statistics(run.model, x, conditions=conditions)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * stats["latent_dim"] + 2), 3.6))
    active = np.asarray(stats["activity"]) > 0.01
    kl = bool(stats["kl_per_dim"])
    values = stats["kl_per_dim"] or stats["activity"]
    ax.bar(range(len(values)), values, color=np.where(active, "C0", "lightgray"))
    ax.set(xlabel="latent dimension", ylabel="KL (nats)" if kl else "variance of the code")
    heading = "KL per latent dimension" if kl else "code activity"
    ax.set_title(f"{heading}: {int(active.sum())} of {len(values)} active (blue)")
    ax.set_xticks(range(len(values)), [latent_name(d) for d in range(len(values))], fontsize=8)
    return fig
