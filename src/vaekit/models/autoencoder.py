"""Deterministic autoencoders (seeds 001-004): x -> h = f(x) -> x_hat = g(h).

One class, three variants chosen by ``config.model``:
- ``ae``: minimises -log p(x | h), e.g. the squared error for a Gaussian decoder.
- ``sparse-ae``: adds lambda * sum_i |h_i| (seed 002's L1 penalty on the features).
- ``denoising-ae``: encodes a corrupted x~ (additive Gaussian noise or masked pixels) and is
  scored on reconstructing the clean x (seed 002).
Nothing pulls the codes towards N(0, I): prior samples are not a generative model's (seed 001).
"""

from __future__ import annotations

import torch

from vaekit.config import ModelConfig
from vaekit.distributions import PointMass
from vaekit.models.base import Autoencoder, LossTerms, full_precision
from vaekit.nets import build_encoder


class AE(Autoencoder):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = build_encoder(c.arch, self.input_shape, c.hidden, c.channels, c.latent_dim)
        self.build_decoder()

    def encode(self, x: torch.Tensor) -> PointMass:
        return PointMass(self.encoder(x))

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        level = self.config.noise_level
        if self.config.noise == "mask":
            keep = torch.rand(x.shape, device=x.device, generator=generator) >= level
            return x * keep
        return x + level * torch.randn(x.shape, device=x.device, generator=generator)

    def loss(
        self, x: torch.Tensor, beta: float = 1.0, generator: torch.Generator | None = None
    ) -> LossTerms:
        noisy = self.training and self.config.model == "denoising-ae"
        code = full_precision(self.encoder(self.corrupt(x, generator) if noisy else x))  # (B, Z)
        recon = -self.decode(code).log_prob(x)  # (B,)
        objective = recon
        if self.config.model == "sparse-ae":
            objective = recon + self.config.l1 * code.abs().sum(-1)
        return LossTerms(loss=objective.mean(), recon=recon, kl=torch.zeros_like(recon))
