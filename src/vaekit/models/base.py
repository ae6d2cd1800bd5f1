"""The interface every vaekit model answers, whatever its family.

``loss(x)`` gives the training objective and its parts; ``encode(x)`` a distribution over codes
(a point mass for deterministic autoencoders); ``decode(z)`` a distribution over data with
``log_prob``, ``mean`` and ``sample``; ``reconstruct`` and ``sample`` return decoder means in
model space. Probabilistic models (``probabilistic = True``) also give ``elbo`` and
``log_likelihood``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vaekit.config import ModelConfig
from vaekit.distributions import Bernoulli, Gaussian, sample_prior
from vaekit.nets import build_decoder


def full_precision(t: torch.Tensor) -> torch.Tensor:
    """Half-precision network outputs (bf16 autocast) back to float32 for the distributions;
    float32 and float64 pass through unchanged."""
    return t.float() if t.dtype in (torch.bfloat16, torch.float16) else t


@dataclass
class LossTerms:
    """Per-example parts of an objective, in nats: ``loss`` is what the optimiser minimises."""

    loss: torch.Tensor  # scalar: mean over the batch
    recon: torch.Tensor  # (B,) negative log-likelihood -log p(x|z)
    kl: torch.Tensor  # (B,) KL(q(z|x) || p(z)), zero for models without one

    @property
    def elbo(self) -> torch.Tensor:
        """(B,) the evidence lower bound with beta = 1, whatever beta was trained with."""
        return -(self.recon + self.kl)


class Autoencoder(nn.Module):
    """Base class: the config, shape bookkeeping, and the decoder's likelihood, shared by all."""

    probabilistic = False  # True where the ELBO and log-likelihood are defined
    regularised_latent = False  # True where training pulls codes towards N(0, I)

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.input_shape = tuple(config.input_shape)
        self.input_size = math.prod(self.input_shape)
        self.latent_dim = config.latent_dim

    @property
    def device(self) -> torch.device:
        return next(iter(self.state_dict().values())).device

    # -- the decoder and its likelihood, one implementation for every network model ---------

    def build_decoder(self) -> None:
        params = 2 if self.config.likelihood == "gaussian-learned" else 1
        c = self.config
        self.decoder = build_decoder(
            c.arch, c.latent_dim, c.hidden, c.channels, self.input_shape, params
        )
        self.log_sigma = math.log(c.sigma)

    def decode(self, z: torch.Tensor) -> Bernoulli | Gaussian:
        """p(x|z) for codes (..., Z): a distribution over (..., *input_shape)."""
        out = full_precision(self.decoder(z))  # (..., P, *input_shape)
        param_dim = -(len(self.input_shape) + 1)
        event_ndim = len(self.input_shape)
        first = out.select(param_dim, 0)
        likelihood = self.config.likelihood
        if likelihood == "bernoulli":
            return Bernoulli(first, event_ndim)
        if likelihood == "gaussian-learned":
            # A floor on sigma keeps the density bounded: without it a pixel that is always 0
            # drives sigma to 0 and the likelihood to infinity.
            sigma = self.config.min_sigma + F.softplus(out.select(param_dim, 1))
            return Gaussian(first, torch.log(sigma), event_ndim)
        return Gaussian(first, self.log_sigma, event_ndim)

    # -- the interface ----------------------------------------------------------------------

    def draw_noise(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """The random numbers one training ``loss(x)`` uses, drawn from ``generator`` in the
        order the loss would draw them (None: the loss is deterministic). Training draws them
        first and passes them in, so a compiled loss holds no random op; the numbers, and so the
        results, are the same as when the loss draws them itself."""
        return None

    def loss(
        self,
        x: torch.Tensor,
        beta: float | torch.Tensor = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> LossTerms:
        raise NotImplementedError

    def forward(
        self,
        x: torch.Tensor,
        beta: float | torch.Tensor = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> LossTerms:
        """Calling the module is ``loss``: DistributedDataParallel hooks ``forward`` to
        synchronise gradients, so training calls the module."""
        return self.loss(x, beta, generator, noise)

    def encode(self, x: torch.Tensor):  # -> distribution with .mean
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder mean at the posterior mean: (B, *input_shape)."""
        return self.decode(self.encode(x).mean).mean

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws z ~ N(0, I) through the decoder; returns decoder means (n, *input_shape)."""
        z = sample_prior(n, self.latent_dim, device=self.device, generator=generator)
        return self.decode(z).mean

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
