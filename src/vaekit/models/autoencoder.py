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

from vaekit.config.model import ModelConfig
from vaekit.models.base import Autoencoder, LossTerms
from vaekit.models.distributions import PointMass, full_precision
from vaekit.models.nets import build_encoder


class AE(Autoencoder):
    """A deterministic autoencoder (ae, sparse-ae, denoising-ae; see the module): the code is
    a point, there is no KL term, and ``loss`` is -log p(x|h) (plus the L1 penalty)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = build_encoder(
            c.arch, self.input_shape, c.hidden, c.channels, c.latent_dim, c.condition_dim
        )
        self.build_decoder()

    def encode(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> PointMass:
        """The code h = f(x[, c]) as a point mass."""
        self.check_condition(condition, len(x))
        return PointMass(full_precision(self.encoder(x, condition)))  # never bf16

    def draw_noise(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """The denoising autoencoder's corruption noise, shaped like ``x``, in training; None
        otherwise."""
        if not (self.training and self.config.model == "denoising-ae"):
            return None
        draw = torch.rand if self.config.noise == "mask" else torch.randn
        return draw(x.shape, device=x.device, generator=generator)

    def corrupt(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x~: pixels masked where the uniform ``noise`` is below the level, or x plus
        level * the Gaussian ``noise``."""
        level = self.config.noise_level
        if self.config.noise == "mask":
            return x * (noise >= level)
        return x + level * noise

    def loss(
        self,
        x: torch.Tensor,
        beta: float | torch.Tensor = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """-log p(x|h) of the clean x from the (corrupted, for denoising-ae) input's code,
        plus ``l1`` times the code's L1 norm for sparse-ae; ``kl`` is zero."""
        if noise is None:
            noise = self.draw_noise(x, generator)
        code = self.encode(x if noise is None else self.corrupt(x, noise), condition).mean
        recon = -self.decode(code, condition).log_prob(x)  # (B,)
        objective = recon
        if self.config.model == "sparse-ae":
            objective = recon + self.config.l1 * code.abs().sum(-1)
        return LossTerms(loss=objective.mean(), recon=recon, kl=torch.zeros_like(recon))
