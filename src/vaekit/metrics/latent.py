"""Latent health: KL per dimension, active units, the aggregate posterior, continuity of the
decoder, and the seeds' diagnosis of collapse and non-compression in plain words."""

from __future__ import annotations

import torch

from vaekit.metrics.likelihood import condition_rows
from vaekit.models.base import Autoencoder


@torch.no_grad()
def latent_statistics(
    model: Autoencoder,
    x: torch.Tensor,
    batch_size: int = 2048,
    conditions: torch.Tensor | None = None,
) -> dict:
    """KL per latent dimension (to the model's prior), active units and the aggregate
    posterior's moments; for a two-layer model these are the top layer's (the code), and
    ``lower`` holds the lower layer's active units and KL per dimension.

    Active units (Burda et al. 2015): dimensions whose posterior mean varies across the data,
    Cov_x(E_q[z_d]) > 0.01. The aggregate posterior q(z) = E_x q(z|x) has per-dimension mean
    E[mu_d] and variance Var(mu_d) + E[sigma_d^2]; for a model that matches its N(0, I) prior
    these are 0 and 1.
    """
    device = model.device
    means, variances, kls = [], [], []
    lower: dict[str, list[torch.Tensor]] = {"mean": [], "kl_per_dim": []}
    two_layer = hasattr(model, "lower_layer_statistics")
    for start in range(0, len(x), batch_size):
        c = condition_rows(conditions, start, batch_size, device)
        batch = x[start : start + batch_size].to(device)
        posterior = model.encode(batch, c)
        means.append(posterior.mean.double().cpu())
        if hasattr(posterior, "kl_per_dim"):
            variances.append(torch.exp(posterior.logvar).double().cpu())
            kls.append(model.kl_per_dim(posterior, c).double().cpu())
        if two_layer:
            for key, value in model.lower_layer_statistics(batch, c).items():
                lower[key].append(value.double().cpu())
    mu = torch.cat(means)
    activity = mu.var(0)
    stats = {
        "active_units": int((activity > 0.01).sum()),
        "latent_dim": int(mu.shape[1]),
        "activity": activity.tolist(),
        "aggregate_mean": mu.mean(0).tolist(),
    }
    if kls:
        var = torch.cat(variances)
        stats["kl_per_dim"] = torch.cat(kls).mean(0).tolist()
        stats["aggregate_var"] = (activity + var.mean(0)).tolist()
    else:
        stats["kl_per_dim"] = None
        stats["aggregate_var"] = activity.tolist()
    if two_layer:  # the lower stochastic layer z1 of a two-layer model
        lower_activity = torch.cat(lower["mean"]).var(0)
        stats["lower"] = {
            "latent_dim": len(lower_activity),
            "active_units": int((lower_activity > 0.01).sum()),
            "kl_per_dim": torch.cat(lower["kl_per_dim"]).mean(0).tolist(),
        }
    return stats


@torch.no_grad()
def continuity(
    model: Autoencoder,
    x: torch.Tensor,
    pairs: int = 200,
    steps: int = 16,
    seed: int = 0,
    conditions: torch.Tensor | None = None,
) -> dict:
    """How smoothly decoded outputs change along straight lines between encoded data points
    (seeds 001/003: close latent points should decode to similar outputs); a conditional
    model decodes each line with its first end's condition.

    roughness: path length of the decoded outputs / distance between its end points (1 for an
    output that changes steadily; large when it detours or jumps);
    change_per_std: path length per unit of latent distance, the latent measured in the codes'
    own standard deviation, so models with differently scaled codes compare fairly.
    """
    gen = torch.Generator().manual_seed(seed)
    pairs = min(pairs, len(x) // 2)
    order = torch.randperm(len(x), generator=gen)[: 2 * pairs]
    device = model.device
    c = None if conditions is None else conditions[order].to(device)
    codes = model.encode(x[order].to(device), c).mean  # (2P, Z)
    head = min(len(x), 4096)
    scale = (
        model.encode(x[:head].to(device), condition_rows(conditions, 0, head, device))
        .mean.std(0)
        .mean()
    )
    za, zb = codes[:pairs], codes[pairs:]
    t = torch.linspace(0, 1, steps + 1, device=codes.device)[:, None, None]  # (T+1, 1, 1)
    ca = None if c is None else c[:pairs]
    path = model.decode(za + t * (zb - za), ca).mean.flatten(2)  # (T+1, P, D)
    length = (path[1:] - path[:-1]).norm(dim=-1).sum(0)  # (P,)
    direct = (path[-1] - path[0]).norm(dim=-1).clamp(min=1e-8)
    latent = ((zb - za).norm(dim=-1) / scale).clamp(min=1e-8)
    return {
        "roughness": float((length / direct).mean()),
        "change_per_std": float((length / latent).mean()),
        "pairs": int(pairs),
        "steps": steps,
    }


def diagnose(model: Autoencoder, stats: dict, elbo: dict | None, beta: float | None) -> list[str]:
    """Plain-words diagnosis of seed 002's two failure modes, with the seeds' advice."""
    notes = []
    z, active = stats["latent_dim"], stats["active_units"]
    if not model.regularised_latent:
        notes.append(
            "Latent space not regularised: this autoencoder was never pulled towards N(0, I), so "
            "prior samples are not meaningful; sample with --sampler gmm, or train a vae."
        )
        return notes
    if stats["kl_per_dim"] is None:
        return notes
    learned_prior = model.config.prior != "standard"  # codes follow it, not N(0, I)
    prior_name = "VampPrior" if model.config.prior == "vamp" else "prior p(z|c)"
    total_kl = sum(stats["kl_per_dim"])
    lower_kl = sum(stats["lower"]["kl_per_dim"]) if stats.get("lower") else 0.0
    if (active == 0 or total_kl < 0.5) and lower_kl >= 0.5:
        notes.append(
            f"The top layer z2 is unused (KL {total_kl:.2f} nats): the model codes the data in "
            f"its lower layer z1 (KL {lower_kl:.2f} nats), common in two-layer VAEs; samples "
            "still vary through z1, but codes of z2 (the explorer, decode) carry little. IWAE "
            "training (--model iwae) activates more units (Burda et al. 2015)."
        )
    elif active == 0 or total_kl < 0.5:
        notes.append(
            f"Posterior collapse — latent code ignored: {active} of {z} dimensions active and "
            f"KL {total_kl:.2f} nats, so the decoder makes its outputs without using z. Lower "
            "beta, or keep it low and increase it gradually (--model beta-vae --beta-schedule "
            "linear or cyclical), or give each dimension free bits."
        )
    elif active < z:
        notes.append(
            f"{z - active} of {z} latent dimensions are unused (KL near 0): common when the "
            "latent space is larger than the data needs; a smaller --latent-dim loses nothing."
        )
    used = [i for i, a in enumerate(stats["activity"]) if a > 0.01]
    mean = [stats["aggregate_mean"][i] for i in used]
    var = [stats["aggregate_var"][i] for i in used]
    off = [
        i
        for i, (m, v) in enumerate(zip(mean, var, strict=True))
        if abs(m) > 0.5 or not 0.5 <= v <= 2.0
    ]
    if used and len(off) > len(used) / 2 and not learned_prior:
        notes.append(
            f"Not compressed — codes far from N(0, I): {len(off)} of {len(used)} active "
            "dimensions have an aggregate mean beyond ±0.5 or a variance outside [0.5, 2], so "
            "N(0, I) samples land where no data was encoded. Raise beta (or schedule it up) so the "
            "KL term regularises the latent space."
        )
    if not notes:
        notes.append(
            f"Healthy: {active} of {z} dimensions active, KL {total_kl:.1f} nats, "
            + (
                f"codes follow the learned {prior_name} (the check against N(0, I) does not apply)."
                if learned_prior
                else "aggregate posterior close to N(0, I)."
            )
        )
    return notes
