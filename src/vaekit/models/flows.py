"""Inverse autoregressive flow posteriors (Kingma et al. 2016): q(z|x) is a diagonal Gaussian
pushed through T invertible steps, each z <- sigma * z + (1 - sigma) * m, where (m, s) come from
a masked autoregressive network (MADE, Germain et al. 2015) of z and a context h from the
encoder, and sigma = sigmoid(s). Output d depends on inputs before d only, so each step's
Jacobian is triangular with diagonal sigma, and

    log q(z_T|x) = sum_d [log N(eps_d; 0, 1) - log std_d - sum_t log sigma_t,d]

exactly, at the flow's own draws (its density at any other point would need the inverse, one
dimension at a time: the estimators only ever need their own draws). Steps alternate the
variable order, so every dimension can depend on every other after two steps.
"""

from __future__ import annotations

from functools import cached_property

import torch
import torch.nn.functional as F
from torch import nn

from vaekit.models.distributions import (
    LOG_2PI,
    DiagonalGaussian,
    full_precision,
    normal_log_density,
    standard_normal_noise,
)

GATE_BIAS = 2.0  # sigma starts near sigmoid(2) = 0.88: each step begins close to the identity


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (a MADE connection
    pattern)."""

    def __init__(self, inputs: int, outputs: int, mask: torch.Tensor) -> None:
        super().__init__(inputs, outputs)
        self.register_buffer("mask", mask.to(self.weight.dtype), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class IAFStep(nn.Module):
    """One flow step: a one-hidden-layer MADE of z (in the dimensions' order, or the reverse
    with ``reverse``) plus the context, giving the shift m and gate s of every dimension."""

    def __init__(self, latent_dim: int, hidden: int, context_dim: int, reverse: bool) -> None:
        super().__init__()
        z = latent_dim
        degree_in = torch.arange(1, z + 1)  # the position of each variable in the order
        if reverse:
            degree_in = degree_in.flip(0)
        # Hidden units see variables up to their degree, outputs hidden units below theirs: so
        # output d reads variables before d only (Germain et al. 2015). With one variable,
        # degree 0 hidden units see no variable: the output depends on the context alone.
        degree_hidden = torch.arange(hidden) % max(z - 1, 1) + (1 if z > 1 else 0)
        to_hidden = (degree_in[None, :] <= degree_hidden[:, None]).float()  # (H, Z)
        to_out = (degree_hidden[None, :] < degree_in[:, None]).float()  # (Z, H)
        self.hidden = MaskedLinear(z, hidden, to_hidden)
        self.context = nn.Linear(context_dim, hidden)
        self.out = MaskedLinear(hidden, 2 * z, torch.cat([to_out, to_out]))

    def forward(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(m, s) for codes z (..., B, Z) and contexts (B, H), never in half precision."""
        h = F.elu(self.hidden(z) + self.context(context))
        shift, gate = full_precision(self.out(h)).chunk(2, dim=-1)
        return shift, gate + GATE_BIAS


class IAF(nn.Module):
    """``steps`` IAF steps with ``hidden`` units each, alternating the variable order."""

    def __init__(self, latent_dim: int, steps: int, hidden: int, context_dim: int) -> None:
        super().__init__()
        self.steps = nn.ModuleList(
            IAFStep(latent_dim, hidden, context_dim, reverse=t % 2 == 1) for t in range(steps)
        )

    def forward(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Push codes z (..., B, Z) through every step: the new codes and sum_t log sigma_t
        per dimension (..., B, Z), the log of the Jacobian's diagonal."""
        log_scale = torch.zeros_like(z)
        for step in self.steps:
            shift, gate = step(z, context)
            sigma = torch.sigmoid(gate)
            z = sigma * z + (1 - sigma) * shift
            log_scale = log_scale + F.logsigmoid(gate)
        return z, log_scale


class FlowPosterior:
    """q(z|x): the diagonal Gaussian ``base`` through the flow, with the encoder's ``context``
    (B, H). Draws come with their exact log-density (:meth:`rsample_with_log_prob`); ``mean``
    is the code at zero noise (the flow of the base mean) and ``logvar`` the log of its local
    variance there, the Jacobian's diagonal (a summary: it leaves out the correlations)."""

    def __init__(self, base: DiagonalGaussian, context: torch.Tensor, flow: IAF) -> None:
        self.base = base
        self.context = context
        self.flow = flow

    @cached_property
    def _centre(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.flow(self.base.mean, self.context)

    @property
    def mean(self) -> torch.Tensor:
        """(B, Z) the code at zero noise."""
        return self._centre[0]

    @property
    def logvar(self) -> torch.Tensor:
        """(B, Z) log of the flow's local variance at the zero-noise code, per dimension."""
        return self.base.logvar + 2 * self._centre[1]

    def sample_terms(
        self,
        samples: int | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised codes z (B, Z) or (samples, B, Z) and each dimension's share of
        log q(z|x) (same shape): log N(eps_d) - log std_d - sum_t log sigma_t,d, which sum to
        the exact log-density."""
        base = self.base
        eps = standard_normal_noise(base.mean, samples, generator) if noise is None else noise
        z, log_scale = self.flow(base.mean + base.std * eps, self.context)
        log_q = -0.5 * (eps.pow(2) + LOG_2PI + base.logvar) - log_scale
        return z, log_q

    def rsample(
        self,
        samples: int | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Reparameterised codes, (B, Z) or (samples, B, Z)."""
        return self.sample_terms(samples, generator, noise)[0]

    def rsample_with_log_prob(
        self,
        samples: int | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes and their exact log q(z|x), summed over dimensions."""
        z, log_q = self.sample_terms(samples, generator, noise)
        return z, log_q.sum(-1)

    def kl_per_dim(
        self,
        prior: DiagonalGaussian | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, Z) a one-draw estimate of KL(q || p) split by dimension: each dimension's share
        of log q(z|x) minus log p(z_d), p = N(0, I) or a diagonal Gaussian; they sum to the
        estimate log q(z|x) - log p(z), unbiased for the KL over draws."""
        z, log_q = self.sample_terms(generator=generator, noise=noise)
        if prior is None:
            return log_q + 0.5 * (z.pow(2) + LOG_2PI)
        return log_q - normal_log_density(z, prior.mean, prior.logvar)
