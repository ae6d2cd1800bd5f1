"""The interface every vaekit model answers, whatever its family.

``loss(x)`` gives the training objective and its parts; ``encode(x)`` a distribution over codes
(a point mass for deterministic autoencoders); ``decode(z)`` a distribution over data;
``reconstruct`` and ``sample`` return decoder means in model space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vaekit.config import ModelConfig
from vaekit.distributions import sample_prior


@dataclass
class LossTerms:
    """Per-example parts of an objective, in nats: ``loss`` is what the optimiser minimises."""

    loss: torch.Tensor  # scalar: mean over the batch
    recon: torch.Tensor  # (B,) negative log-likelihood -log p(x|z) (one z per example)
    kl: torch.Tensor  # (B,) KL(q(z|x) || p(z)), zero for models without one

    @property
    def elbo(self) -> torch.Tensor:
        """(B,) the evidence lower bound with beta = 1, whatever beta was trained with."""
        return -(self.recon + self.kl)


class Autoencoder(nn.Module):
    """Base class: holds the config and the shape bookkeeping shared by all models."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.input_shape = tuple(config.input_shape)
        self.input_size = math.prod(self.input_shape)
        self.latent_dim = config.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def loss(
        self, x: torch.Tensor, beta: float = 1.0, generator: torch.Generator | None = None
    ) -> LossTerms:
        raise NotImplementedError

    def encode(self, x: torch.Tensor):  # -> distribution with .mean
        raise NotImplementedError

    def decode(self, z: torch.Tensor):  # -> distribution with .mean, .log_prob, .sample
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder mean at the posterior mean: (B, *input_shape)."""
        return self.decode(self.encode(x).mean).mean

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws z ~ N(0, I) through the decoder; returns decoder means (B, *input_shape)."""
        z = sample_prior(n, self.latent_dim, device=self.device, generator=generator)
        return self.decode(z).mean

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
