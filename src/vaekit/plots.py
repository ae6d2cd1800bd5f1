"""The pictures the seed notes explain VAEs with, drawn for the user's own model.

Each ``plot_*`` function returns a matplotlib Figure; :func:`save_plot` renders one kind to PNG.
Image data is shown as images in its own shape (grey or colour); tabular data gets per-feature
plots instead. Everything runs headless (Agg backend).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaekit.errors import VaekitError  # noqa: E402
from vaekit.evaluate import latent_statistics  # noqa: E402
from vaekit.files import atomic_write  # noqa: E402
from vaekit.images import grid  # noqa: E402

KINDS = (
    "curves",
    "recon",
    "samples",
    "latent",
    "manifold",
    "interpolate",
    "traverse",
    "kl",
    "compare",
)


def _show_images(ax, images: np.ndarray, columns: int, title: str = "") -> None:
    """Draw (N, C, H, W) images in [0, 1] as one mosaic on ``ax``."""
    mosaic = grid(np.clip(images, 0, 1), columns)
    ax.imshow(
        mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic,
        cmap="gray",
        interpolation="nearest",
        vmin=0,
        vmax=255,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def _codes(run, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return torch.cat(
            [
                run.model.encode(x[i : i + 4096].to(run.model.device)).mean.cpu()
                for i in range(0, len(x), 4096)
            ]
        ).numpy()


def _decode(run, z: np.ndarray) -> np.ndarray:
    return run.decode(torch.as_tensor(z, dtype=torch.float32))


def _latent_order(run, x: torch.Tensor) -> list[int]:
    """Latent dimensions from most to least active (variance of the posterior mean)."""
    activity = latent_statistics(run.model, x)["activity"]
    return [int(i) for i in np.argsort(activity)[::-1]]


def _latent_scale(run, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and spread to sweep the latent space with: the prior's for models regularised
    towards N(0, I), else the codes' own (an AE's codes can live anywhere)."""
    if run.model.regularised_latent:
        return np.zeros(codes.shape[1]), np.ones(codes.shape[1])
    return codes.mean(0), codes.std(0) + 1e-8


def plot_curves(run, **_) -> Figure:
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
    ax.set_title("ELBO" if probabilistic else "−training loss")
    ax.set_ylabel("nats per example")
    for ax, key, title in (
        (axes[0, 1], "recon", "reconstruction −log p(x|z)"),
        (axes[1, 0], "kl", "KL(q(z|x) ‖ N(0, I))"),
    ):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], label="train")
        ax.plot(epochs, [r[f"val_{key}"] for r in rows], label="validation")
        ax.set_title(title)
        ax.set_ylabel("nats per example")
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


def plot_recon(run, x: torch.Tensor, n: int = 16, **_) -> Figure:
    x = x[:n]
    recon = run.reconstruct(x)
    if run.kind == "image":
        fig, axes = plt.subplots(2, 1, figsize=(min(16, n), 2.6))
        _show_images(axes[0], x.numpy(), n, "originals")
        _show_images(axes[1], recon, n, "reconstructions")
        fig.tight_layout()
        return fig
    original, rebuilt = run.to_data_units(x.numpy()), run.to_data_units(recon)
    features = min(8, original.shape[1])
    fig, axes = plt.subplots(1, features, figsize=(2.6 * features, 2.8), squeeze=False)
    for f, ax in enumerate(axes[0]):
        ax.scatter(original[:, f], rebuilt[:, f], s=8)
        lo, hi = original[:, f].min(), original[:, f].max()
        ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
        ax.set_title(f"feature {f}")
        ax.set_xlabel("original")
        ax.set_ylabel("reconstruction")
    fig.tight_layout()
    return fig


def plot_samples(run, x: torch.Tensor, n: int = 64, seed: int = 0, **_) -> Figure:
    prior = run.sample(n, seed=seed, warn=False)
    gmm = run.sample(n, seed=seed, sampler="gmm")
    if run.kind == "image":
        fig, axes = plt.subplots(1, 2, figsize=(12, 6.4))
        _show_images(axes[0], prior, int(math.sqrt(n)), "z ~ N(0, I) (prior)")
        _show_images(axes[1], gmm, int(math.sqrt(n)), "z ~ mixture fitted to training codes")
        fig.tight_layout()
        return fig
    real = run.to_data_units(x.numpy())
    fake = run.to_data_units(run.sample(max(n, len(real)), seed=seed, warn=False))
    features = min(6, real.shape[1])
    fig, axes = plt.subplots(2, max(features, 2), figsize=(3 * max(features, 2), 6), squeeze=False)
    for f in range(features):
        ax = axes[0, f]
        bins = np.histogram_bin_edges(np.concatenate([real[:, f], fake[:, f]]), bins=30)
        ax.hist(real[:, f], bins=bins, alpha=0.5, density=True, label="data")
        ax.hist(fake[:, f], bins=bins, alpha=0.5, density=True, label="generated")
        ax.set_title(f"feature {f}")
        ax.legend(fontsize=7)
    for ax, values, title in (
        (axes[1, 0], real, "data correlations"),
        (axes[1, 1], fake, "generated correlations"),
    ):
        shown = ax.imshow(np.corrcoef(values.T), vmin=-1, vmax=1, cmap="coolwarm")
        ax.set_title(title)
    fig.colorbar(shown, ax=axes[1, :2].tolist(), shrink=0.8)
    for ax in axes[1, 2:]:
        ax.axis("off")
    return fig


def plot_latent(
    run, x: torch.Tensor, labels: torch.Tensor | None = None, projection: str = "pca", **_
) -> Figure:
    codes = _codes(run, x)
    if codes.shape[1] == 1:
        codes = np.concatenate([codes, np.zeros_like(codes)], 1)
    title = "posterior means"
    if codes.shape[1] > 2:
        if projection == "tsne":
            from sklearn.manifold import TSNE

            codes = TSNE(2, random_state=0, init="pca").fit_transform(codes)
            title += " (t-SNE)"
        else:
            # Orthonormal principal directions, not centred: N(0, I) maps to N(0, I_2).
            _, _, vt = np.linalg.svd(codes - codes.mean(0), full_matrices=False)
            codes = codes @ vt[:2].T
            title += " (PCA projection)"
    fig, ax = plt.subplots(figsize=(7, 6.2))
    if labels is not None:
        shown = ax.scatter(codes[:, 0], codes[:, 1], c=labels.numpy(), cmap="tab10", s=6)
        fig.colorbar(shown, ax=ax, label="label")
    else:
        ax.scatter(codes[:, 0], codes[:, 1], s=6)
    if projection != "tsne":
        for radius, style in ((1, "-"), (2, "--")):
            ax.add_patch(
                plt.Circle(
                    (0, 0), radius, fill=False, ls=style, color="gray", label=f"prior {radius}σ"
                )
            )
        ax.legend(loc="upper right")
    ax.set_aspect("equal")
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title(title)
    return fig


def manifold_grid(run, x: torch.Tensor, n: int = 15) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Latent points of the manifold plot: (n*n, Z) codes on the plane of the two most active
    dimensions, the others at the centre, at inverse-CDF spaced points (the centre of an odd
    grid is the centre of the latent space exactly). Returns codes, axis values, dims."""
    from scipy.stats import norm

    codes = _codes(run, x)
    centre, spread = _latent_scale(run, codes)
    dims = _latent_order(run, x)[:2] if codes.shape[1] > 1 else [0]
    values = norm.ppf(np.linspace(0.05, 0.95, n))
    values[n // 2] = 0.0 if n % 2 else values[n // 2]
    z = np.tile(centre, (n * n, 1))
    rows, cols = np.meshgrid(values[::-1], values, indexing="ij")  # top row = high z_b
    z[:, dims[0]] = centre[dims[0]] + cols.ravel() * spread[dims[0]]
    if len(dims) > 1:
        z[:, dims[1]] = centre[dims[1]] + rows.ravel() * spread[dims[1]]
    return z.astype(np.float32), values, dims


def plot_manifold(run, x: torch.Tensor, n: int = 15, **_) -> Figure:
    z, values, dims = manifold_grid(run, x, n)
    decoded = _decode(run, z)
    if run.kind == "image":
        fig, ax = plt.subplots(figsize=(8, 8))
        _show_images(ax, decoded, n)
        ax.set_title(
            f"decoded latent plane: z{dims[0]} → (columns), z{dims[-1]} ↑ (rows), "
            "others at the centre"
        )
        return fig
    units = run.to_data_units(decoded)
    features = min(4, units.shape[1])
    fig, axes = plt.subplots(1, features, figsize=(3.6 * features, 3.4), squeeze=False)
    for f, ax in enumerate(axes[0]):
        shown = ax.imshow(
            units[:, f].reshape(n, n),
            cmap="viridis",
            extent=(values[0], values[-1], values[0], values[-1]),
        )
        ax.set_title(f"feature {f} over the latent plane")
        ax.set_xlabel(f"z{dims[0]}")
        ax.set_ylabel(f"z{dims[-1]}")
        fig.colorbar(shown, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between rows of a and b at fractions t (T,) -> (T, P, Z)."""
    cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)
    omega = np.arccos(np.clip(cos, -1, 1))[None, :, None]
    t = t[:, None, None]
    sin = np.sin(omega)
    safe = np.where(sin < 1e-6, 1.0, sin)
    curved = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / safe
    straight = (1 - t) * a + t * b
    return np.where(sin < 1e-6, straight, curved)


def plot_interpolate(
    run, x: torch.Tensor, pairs: int = 4, steps: int = 10, seed: int = 0, **_
) -> Figure:
    gen = np.random.default_rng(seed)
    idx = gen.choice(len(x), size=2 * pairs, replace=len(x) < 2 * pairs)
    codes = _codes(run, x[torch.as_tensor(idx)])
    a, b = codes[:pairs], codes[pairs:]
    t = np.linspace(0, 1, steps)
    linear = (1 - t)[:, None, None] * a + t[:, None, None] * b  # (T, P, Z)
    spherical = slerp(a, b, t)
    if run.kind == "image":
        fig, axes = plt.subplots(2, 1, figsize=(steps * 0.9, pairs * 1.9))
        for ax, path, title in (
            (axes[0], linear, "straight line"),
            (axes[1], spherical, "spherical (slerp)"),
        ):
            images = _decode(run, path.transpose(1, 0, 2).reshape(-1, codes.shape[1]))
            _show_images(ax, images, steps, f"{title}: one pair of test points per row")
        fig.tight_layout()
        return fig
    fig, axes = plt.subplots(1, pairs, figsize=(3.4 * pairs, 3), squeeze=False)
    for p, ax in enumerate(axes[0]):
        values = run.to_data_units(_decode(run, linear[:, p]))
        for f in range(min(6, values.shape[1])):
            ax.plot(t, values[:, f], label=f"feature {f}")
        ax.set_title(f"pair {p + 1}: straight line")
        ax.set_xlabel("t")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_traverse(run, x: torch.Tensor, steps: int = 11, max_dims: int = 10, **_) -> Figure:
    codes = _codes(run, x)
    centre, spread = _latent_scale(run, codes)
    dims = _latent_order(run, x)[:max_dims]
    sweep = np.linspace(-3, 3, steps)
    base = codes[0]
    rows = []
    for d in dims:
        z = np.tile(base, (steps, 1))
        z[:, d] = centre[d] + sweep * spread[d]
        rows.append(z)
    decoded = _decode(run, np.concatenate(rows).astype(np.float32))
    if run.kind == "image":
        fig, ax = plt.subplots(figsize=(steps * 0.8, len(dims) * 0.85 + 0.6))
        _show_images(ax, decoded, steps)
        ax.set_yticks([(i + 0.5) * (decoded.shape[-2] + 1) for i in range(len(dims))])
        ax.set_yticklabels([f"z{d}" for d in dims])
        ax.set_title("one latent dimension swept from −3σ to +3σ per row, the others fixed")
        return fig
    values = run.to_data_units(decoded).reshape(len(dims), steps, -1)
    fig, axes = plt.subplots(1, len(dims), figsize=(3 * len(dims), 3), squeeze=False)
    for i, ax in enumerate(axes[0]):
        for f in range(min(6, values.shape[2])):
            ax.plot(sweep, values[i, :, f], label=f"feature {f}")
        ax.set_title(f"z{dims[i]}")
        ax.set_xlabel("σ")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_kl(run, x: torch.Tensor, **_) -> Figure:
    stats = latent_statistics(run.model, x)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * stats["latent_dim"] + 2), 3.6))
    active = np.asarray(stats["activity"]) > 0.01
    values = stats["kl_per_dim"] or stats["activity"]
    colours = np.where(active, "C0", "lightgray")
    ax.bar(range(len(values)), values, color=colours)
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("KL (nats)" if stats["kl_per_dim"] else "variance of the code")
    ax.set_title(
        f"{'KL per latent dimension' if stats['kl_per_dim'] else 'code activity'}: "
        f"{int(active.sum())} of {len(values)} active (blue)"
    )
    ax.set_xticks(range(len(values)))
    return fig


def plot_compare(run, x: torch.Tensor, others: list | None = None, n: int = 12, **_) -> Figure:
    runs = [run, *(others or [])]
    x = x[:n]
    if run.kind != "image":
        raise VaekitError("plot compare: needs image data (use plot recon per run for tables)")
    fig, axes = plt.subplots(len(runs) + 1, 1, figsize=(n * 0.9, 1.2 * (len(runs) + 1) + 0.4))
    _show_images(axes[0], x.numpy(), n, "originals")
    for ax, other in zip(axes[1:], runs, strict=True):
        _show_images(
            ax, other.reconstruct(x), n, f"{other.config.model.model} ({Path(other.path).name})"
        )
    fig.tight_layout()
    return fig


PLOTTERS: dict[str, Callable[..., Figure]] = {
    "curves": plot_curves,
    "recon": plot_recon,
    "samples": plot_samples,
    "latent": plot_latent,
    "manifold": plot_manifold,
    "interpolate": plot_interpolate,
    "traverse": plot_traverse,
    "kl": plot_kl,
    "compare": plot_compare,
}


def render(run, kind: str, data=None, **options) -> bytes:
    """One plot kind as PNG bytes; ``data`` is the held-out Dataset to draw from."""
    if kind not in PLOTTERS:
        raise VaekitError(f"plot: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    data = data if data is not None else run.data("test")
    fig = PLOTTERS[kind](run, x=data.x, labels=data.labels, **options)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def save_plot(run, kind: str, path: Path, data=None, **options) -> None:
    png = render(run, kind, data, **options)
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(png))
