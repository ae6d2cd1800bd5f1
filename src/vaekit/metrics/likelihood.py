"""Likelihood numbers of a model on examples, in batches without gradients: the ELBO and its parts,
and log p(x) importance-sampled (sharded across processes under torchrun)."""

from __future__ import annotations

import torch

from vaekit.core.numerics import denormals_flushed
from vaekit.core.progress import ProgressBar
from vaekit.models.base import Autoencoder


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
    batches = range(0, len(x), batch_size)
    bar = ProgressBar(len(range(rank, len(batches), world)), f"log p(x), K = {k}")
    for i, start in enumerate(batches):
        if i % world != rank:
            continue
        bar.update()
        gen.manual_seed(seed * 1_000_003 + i)
        batch = x[start : start + batch_size].to(device)
        c = condition_rows(conditions, start, batch_size, device)
        log_p = model.log_likelihood(batch, k=k, chunk=chunk, generator=gen, condition=c)
        out[i] = log_p.double().cpu()
    bar.close()
    return out
