"""Numbers that say how good a model is, computed in batches without gradients."""

from __future__ import annotations

import numpy as np
import torch

from vaekit.core.numerics import denormals_flushed
from vaekit.models.registry import Autoencoder


@torch.no_grad()
def validation_metrics(
    model: Autoencoder,
    x: torch.Tensor,
    batch_size: int = 1024,
    seed: int = 0,
    conditions: torch.Tensor | None = None,
) -> dict[str, float | None]:
    """Mean per-example numbers over ``x`` (with its ``conditions`` for a conditional model),
    in nats (``mse`` in squared data units):

    recon: -log p(x|z), one z ~ q(z|x) per example; kl: KL(q(z|x) || p(z)), p(z) = N(0, I) or
    a learned p(z|c);
    elbo: -(recon + kl) where the model defines one, else None;
    mse: squared error of the reconstruction at the posterior mean (comparable across models).
    The noise is drawn with a fixed seed, so repeated calls agree exactly.
    """
    was_training = model.training
    model.eval()
    device = model.device
    gen = torch.Generator(device=device).manual_seed(seed)
    sums = torch.zeros(3, device=device, dtype=torch.float64)  # recon, kl, mse
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size].to(device)
        c = condition_rows(conditions, start, batch_size, device)
        terms = model.loss(batch, generator=gen, condition=c)
        squared = (model.reconstruct(batch, c) - batch).pow(2).flatten(1).sum(-1)
        sums += torch.stack([terms.recon.sum(), terms.kl.sum(), squared.sum()]).double()
    model.train(was_training)
    recon, kl, mse = (sums / len(x)).tolist()
    elbo = -(recon + kl) if model.probabilistic else None
    return {"elbo": elbo, "recon": recon, "kl": kl, "mse": mse}


def condition_rows(
    conditions: torch.Tensor | None, start: int, count: int, device: torch.device
) -> torch.Tensor | None:
    """The conditions of rows ``start`` to ``start + count`` on ``device`` (None: none)."""
    return None if conditions is None else conditions[start : start + count].to(device)


COMPILE_ABOVE = 10**7  # samples x points beyond which a fused compiled kernel pays off


@torch.no_grad()
@denormals_flushed()
def importance_log_likelihood(
    model: Autoencoder,
    x: torch.Tensor,
    k: int = 1000,
    batch_size: int = 100,
    seed: int = 0,
    compile: bool | None = None,
    conditions: torch.Tensor | None = None,
    precision: str = "fp32",
) -> torch.Tensor:
    """(N,) importance-sampled log p(x) (log p(x|c) given ``conditions``) with K samples from
    q(z|x) per point (see ``VAE.log_likelihood``), batched over data points and samples
    together. ``compile``: use the fused compiled likelihood kernel (None: when N * K exceeds
    ``COMPILE_ABOVE``). ``precision`` "bf16": the networks' matrix products in bfloat16 (the
    likelihood terms stay float32): on an MNIST VAE 0.002 nats from float32's estimate, whose
    standard error was 0.58, in 0.58x the time (benchmarks/eval_precision.py)."""
    from vaekit.core.distributed import gather_objects, joined_cluster
    from vaekit.models.distributions import compiled_kernels

    if compile is None:
        compile = len(x) * k > COMPILE_ABOVE
    cluster = joined_cluster()  # under torchrun: this rank's share of the batches
    bf16 = torch.autocast(model.device.type, torch.bfloat16, enabled=precision == "bf16")
    with compiled_kernels(compile), bf16:
        mine = log_likelihood_shard(
            model, x, k, batch_size, seed, cluster.rank, cluster.world, conditions
        )
    parts: dict[int, torch.Tensor] = {}
    for shard in gather_objects(cluster, mine):
        parts.update(shard)
    return torch.cat([parts[i] for i in sorted(parts)])


def log_likelihood_shard(
    model: Autoencoder,
    x: torch.Tensor,
    k: int,
    batch_size: int,
    seed: int,
    rank: int,
    world: int,
    conditions: torch.Tensor | None = None,
) -> dict[int, torch.Tensor]:
    """Batches i with i % world == rank, each with its own seeded noise stream, so the union of
    all ranks' shards is exactly the single-process result."""
    device = model.device
    gen = torch.Generator(device=device)
    # Samples per decoder call: about 2**20 output values (4 MB) at a time, so the logits stay
    # in cache between the matrix product and the likelihood (2x faster than 2**24 here).
    chunk = max(1, min(k, 2**20 // max(1, batch_size * model.input_size)))
    out = {}
    for i, start in enumerate(range(0, len(x), batch_size)):
        if i % world != rank:
            continue
        gen.manual_seed(seed * 1_000_003 + i)
        batch = x[start : start + batch_size].to(device)
        c = condition_rows(conditions, start, batch_size, device)
        log_p = model.log_likelihood(batch, k=k, chunk=chunk, generator=gen, condition=c)
        out[i] = log_p.double().cpu()
    return out


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


def evaluate_run(
    run,
    source: str | None = None,
    k: int = 1000,
    samples: int = 10000,
    seed: int = 0,
    limit: int | None = None,
    target: str | None = None,
) -> dict:
    """Every number ``vaekit evaluate`` reports, as one JSON-ready dict. ``source``: a split
    name (train, val, test), a file, or None for the held-out split. For a table run also the
    synthetic table's quality, privacy and (given a ``target`` column) ML usefulness, from as
    many generated rows as the training split has (see
    :func:`vaekit.metrics.synthetic.synthetic_table_figures`)."""
    import math
    import time

    from vaekit.core.errors import VaekitError
    from vaekit.metrics.quality import judge_for, sample_quality

    if k < 1:
        raise VaekitError(f"--k: must be at least 1, got {k}")
    if samples < 2:
        raise VaekitError(f"--samples: must be at least 2, got {samples}")
    if target is not None:
        if run.kind != "table":
            raise VaekitError("--target: is for table runs (a column to predict)")
        from vaekit.metrics.synthetic import check_target

        check_target(run.schema.columns, target)
    started = time.perf_counter()
    # run.data and the sample-quality judge share the run's splits, read once: reading MNIST
    # twice raised the peak memory of `vaekit evaluate` from 650 MB to 840 MB.
    data = run.data(source).take(slice(0, limit))
    x, labels, conditions = data.x, data.labels, data.conditions
    model = run.model
    dims = model.input_size
    result: dict = {
        "run": str(run.path),
        "model": run.config.model.model,
        "data": run.split_label(source),
        "examples": len(x),
        "weights_sha256": run.weights_checksum,  # which weights these numbers are of
        "k": k,
        "seed": seed,
    }
    val = validation_metrics(model, x, seed=seed, conditions=conditions)
    run.require_finite(np.array([v for v in val.values() if v is not None]), "ELBO terms")
    result["elbo"] = {
        **val,
        "bits_per_dim": None if val["elbo"] is None else -val["elbo"] / (dims * math.log(2)),
    }
    if model.probabilistic:
        # A run trained in bf16 (auto chose it: the device has bf16 units and the products
        # are large) is evaluated in bf16 too, where it was measured as accurate.
        precision = run.config.train.precision
        ll = importance_log_likelihood(
            model, x, k=k, seed=seed, conditions=conditions, precision=precision
        )
        run.require_finite(np.asarray(ll), "log-likelihoods")
        result["log_likelihood"] = {
            "mean": float(ll.mean()),
            "stderr": float(ll.std() / math.sqrt(len(ll))) if len(ll) > 1 else None,
            "bits_per_dim": float(-ll.mean() / (dims * math.log(2))),
            "k": k,
            "precision": precision,
        }
    else:
        result["log_likelihood"] = None
    stats = latent_statistics(model, x, conditions=conditions)
    result["latent"] = stats
    result["continuity"] = (
        continuity(model, x, seed=seed, conditions=conditions) if len(x) >= 2 else None
    )
    judge = None
    if run.kind == "image" and labels is not None:
        judge = judge_for(run.splits(), seed=seed)
    if model.conditional:
        result["conditioned_on"] = [c.name for c in run.schema.conditions]
        result["conditional"] = _conditional(run, judge, data, samples, seed)
    if judge is None:
        result["sample_quality"] = {
            "skipped": "needs labelled image data (a classifier judges the samples)"
        }
    else:
        fake = torch.as_tensor(run.sample(samples, seed=seed, sampler="prior", warn=False))
        result["sample_quality"] = sample_quality(judge, x, labels, fake)
    if run.kind == "table":
        result["synthetic"] = _synthetic(run, source, limit, target, seed)
    result["diagnosis"] = diagnose(model, stats, result["elbo"], run.config.model.beta)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _synthetic(run, source: str | None, limit: int | None, target: str | None, seed: int) -> dict:
    """Synthetic rows, as many as the training rows (what a model trained on them for ML
    usefulness sees, as on real ones), scored against the evaluated real rows and the training
    rows (privacy); evaluating on the training split itself scores quality only."""
    from vaekit.metrics.synthetic import real_and_synthetic, synthetic_table_figures

    train, real, fake = real_and_synthetic(run, source, seed, limit)
    on_train = source == "train"
    if source is None:
        words = "held-out rows"
    else:  # "rows of the test split", "rows of new.csv"
        words = f"rows of {'the ' if source in ('val', 'test') else ''}{run.split_label(source)}"
    return synthetic_table_figures(
        train, None if on_train else real, fake, run.schema.columns, target, seed, words
    )


def _conditional(run, judge, data, samples: int, seed: int) -> dict:
    """Whether samples follow their condition: the classifier's agreement with the asked-for
    class (images), or column shapes per condition value (tables)."""
    from vaekit.metrics.conditional import conditional_accuracy, conditional_column_shapes

    if run.kind == "table":
        return conditional_column_shapes(run, data, seed)
    if judge is None:
        return {"skipped": "needs labelled image data (a classifier judges the samples)"}
    return conditional_accuracy(run, judge, samples, seed)
