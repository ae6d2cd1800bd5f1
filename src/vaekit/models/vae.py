"""The variational autoencoder (Kingma & Welling 2014; seeds 000-004).

The encoder maps x to q(z|x) = N(mu, diag(sigma^2)); z is drawn by reparameterisation; the
decoder gives p(x|z). Training minimises the negative ELBO
    -log p(x|z) + beta * KL(q(z|x) || N(0, I)),
with beta = 1 the true bound. ``log_likelihood`` is the importance-sampled estimate of log p(x).
"""

from __future__ import annotations

import math

import torch

from vaekit.config import ModelConfig
from vaekit.distributions import Bernoulli, DiagonalGaussian, Gaussian, standard_normal_log_prob
from vaekit.models.base import Autoencoder, LossTerms
from vaekit.nets import mlp


class VAE(Autoencoder):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        if config.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"likelihood must be resolved before building, got {config.likelihood!r}"
            )
        self.encoder = mlp(self.input_size, config.hidden, 2 * config.latent_dim)
        self.decoder = mlp(config.latent_dim, config.hidden[::-1], self.input_size)
        self.log_sigma = math.log(config.sigma)

    def encode(self, x: torch.Tensor) -> DiagonalGaussian:
        mean, logvar = self.encoder(x.flatten(1)).chunk(2, dim=-1)  # (B, Z) each
        return DiagonalGaussian(mean, logvar)

    def decode(self, z: torch.Tensor) -> Bernoulli | Gaussian:
        out = self.decoder(z).unflatten(-1, self.input_shape)  # (..., *input_shape)
        event_ndim = len(self.input_shape)
        if self.config.likelihood == "bernoulli":
            return Bernoulli(out, event_ndim)
        return Gaussian(out, self.log_sigma, event_ndim)

    def loss(
        self, x: torch.Tensor, beta: float = 1.0, generator: torch.Generator | None = None
    ) -> LossTerms:
        posterior = self.encode(x)
        z = posterior.rsample(generator=generator)  # (B, Z)
        recon = -self.decode(z).log_prob(x)  # (B,)
        kl = posterior.kl_to_standard_normal()  # (B,)
        return LossTerms(loss=(recon + beta * kl).mean(), recon=recon, kl=kl)

    @torch.no_grad()
    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.loss(x, generator=generator).elbo

    @torch.no_grad()
    def log_likelihood(
        self,
        x: torch.Tensor,
        k: int = 1000,
        chunk: int = 250,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Importance-sampled log p(x) with K draws from q(z|x) (Burda et al. 2015), (B,):
        logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K.
        Samples are drawn ``chunk`` at a time for all B points at once to bound memory."""
        posterior = self.encode(x)
        weights = []
        for start in range(0, k, chunk):
            z = posterior.rsample(min(chunk, k - start), generator=generator)  # (k', B, Z)
            log_w = (
                self.decode(z).log_prob(x) + standard_normal_log_prob(z) - posterior.log_prob(z)
            )  # (k', B)
            weights.append(log_w)
        return torch.logsumexp(torch.cat(weights), dim=0) - math.log(k)
