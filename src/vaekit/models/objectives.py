"""Training objectives beyond the plain ELBO: beta schedules, capacity annealing, free bits, the
IWAE bound.

A schedule is a pure function of the step, so resuming or re-running gives the same betas.
"""

from __future__ import annotations

import math

import torch

from vaekit.config.model import ModelConfig


def beta_at(step: int, total_steps: int, config: ModelConfig) -> float:
    """The KL weight at optimiser step ``step`` (0-based) of ``total_steps``.

    constant: beta. linear: 0 -> beta over ``warmup_steps`` (Bowman et al. 2016), then beta.
    cyclical: ``cycles`` repeats of a rise over the first ``cycle_ratio`` of each cycle, then
    beta for the rest (Fu et al. 2019).
    """
    beta = config.resolved_beta()
    if config.beta_schedule == "linear":
        return beta * min(1.0, step / config.warmup_steps)
    if config.beta_schedule == "cyclical":
        period = total_steps / config.cycles
        position = (step % period) / period  # in [0, 1) within the current cycle
        return beta * min(1.0, position / config.cycle_ratio)
    return beta


def capacity_at(step: int, total_steps: int, config: ModelConfig) -> float:
    """Capacity annealing's KL target at ``step`` (Burgess et al. 2018): 0 -> ``capacity``
    nats linearly over ``capacity_steps`` (default: the whole run), then held."""
    span = config.capacity_steps or total_steps
    return config.capacity * min(1.0, step / max(span, 1))


def kl_penalty(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """(B,) KL term as optimised. With free bits (Kingma et al. 2016), each dimension's KL,
    averaged over the batch, counts at least ``free_bits`` nats, so a dimension below the floor
    gets no push towards the prior."""
    if free_bits <= 0:
        return kl_per_dim.sum(-1)
    floored = torch.clamp(kl_per_dim.mean(0), min=free_bits)  # (Z,)
    return floored.sum().expand(kl_per_dim.shape[0])


def iwae_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """(B,) log (1/K) sum_k w_k from log-weights (K, B) (Burda et al. 2015), computed stably."""
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])
