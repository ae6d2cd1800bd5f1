"""A VAE with two stochastic layers (Burda et al. 2015, section 5: z1 100 / z2 50 on MNIST):

    generative  p(z2) p(z1|z2) p(x|z1)       inference  q(z1|x) q(z2|z1)

each conditional a diagonal Gaussian from an MLP (the data's own network, MLP or conv, between
x and z1; ``lower_hidden`` widths between z1 and z2). Trained on the ELBO (``vae``,
``beta-vae``) or the IWAE bound (``iwae``); the importance-sampled log-likelihood weighs each
joint draw (z1, z2) by p(x|z1) p(z1|z2) p(z2) / q(z1|x) q(z2|z1).

The code of the vaekit interface (``encode``, ``decode``, the explorer, samplers) is the top
layer z2, of ``latent_dim`` numbers; ``lower_latent_dim`` is z1's size. A conditional model gives
every network the condition, and may learn p(z2|c).
"""

from __future__ import annotations

import torch

from vaekit.config.model import ModelConfig
from vaekit.models.base import Autoencoder, Likelihood, LossTerms, code_noise
from vaekit.models.distributions import (
    DiagonalGaussian,
    full_precision,
    normal_log_density,
    sample_prior,
    standard_normal_log_prob,
)
from vaekit.models.nets import build_encoder, mlp, run_mlp
from vaekit.models.objectives import iwae_bound, kl_penalty
from vaekit.models.vae import PRIOR_HIDDEN


def _gaussian(out: torch.Tensor) -> DiagonalGaussian:
    mean, logvar = full_precision(out).chunk(2, dim=-1)
    return DiagonalGaussian(mean, logvar)


class TwoLayerVAE(Autoencoder):
    """The two-stochastic-layer VAE/IWAE (see the module). ``loss`` is the negative
    (beta-weighted) ELBO or the IWAE bound; ``recon`` is -log p(x|z1) and ``kl`` both layers'
    KL, [log q(z1|x) - log p(z1|z2)] at the draw plus KL(q(z2|z1) || p(z2)) in closed form."""

    probabilistic = True
    kl_weighted = True
    regularised_latent = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        top, lower = c.latent_dim, c.lower_latent_dim
        self.lower_dim = lower
        self.noise_width = lower + top  # one eps per number of z1 and z2
        self.encoder = build_encoder(
            c.arch, self.input_shape, c.hidden, c.channels, 2 * lower, c.condition_dim
        )
        self.upper_encoder = mlp(lower, c.lower_hidden, 2 * top, c.condition_dim)  # q(z2|z1)
        self.upper_decoder = mlp(top, c.lower_hidden[::-1], 2 * lower, c.condition_dim)  # p(z1|z2)
        self.build_decoder(latent_dim=lower)  # p(x|z1)
        if c.prior == "conditional":
            self.prior_net = mlp(c.condition_dim, [PRIOR_HIDDEN], 2 * top)
        self.samples = c.k if c.model == "iwae" else 1

    # -- the layers ---------------------------------------------------------------------------

    def lower_posterior(self, x: torch.Tensor, condition=None) -> DiagonalGaussian:
        """q(z1|x[, c]) over (B, Z1)."""
        self.check_condition(condition, len(x))
        return self._clamped(_gaussian(self.encoder(x, condition)))

    def upper_posterior(self, z1: torch.Tensor, condition=None) -> DiagonalGaussian:
        """q(z2|z1[, c]) for z1 (..., B, Z1)."""
        return self._clamped(_gaussian(run_mlp(self.upper_encoder, z1, condition)))

    def _clamped(self, posterior: DiagonalGaussian) -> DiagonalGaussian:
        """``--logvar-clamp`` applied to a posterior layer, as the one-layer VAE applies it."""
        limit = self.config.logvar_clamp
        if limit is not None:
            posterior.logvar = posterior.logvar.clamp(-limit, limit)
        return posterior

    def lower_prior(self, z2: torch.Tensor, condition=None) -> DiagonalGaussian:
        """p(z1|z2[, c]) for z2 (..., B, Z2)."""
        return _gaussian(run_mlp(self.upper_decoder, z2, condition))

    def prior(self, condition: torch.Tensor | None = None) -> DiagonalGaussian | None:
        """The learned p(z2|c) (B, Z2) of a conditional model, or None: p(z2) = N(0, I)."""
        if not hasattr(self, "prior_net"):
            return None
        return _gaussian(self.prior_net(condition))

    def _top_log_prob(self, z2: torch.Tensor, prior: DiagonalGaussian | None) -> torch.Tensor:
        return standard_normal_log_prob(z2) if prior is None else prior.log_prob(z2)

    # -- the interface ------------------------------------------------------------------------

    def encode(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> DiagonalGaussian:
        """q(z2|x[, c]) summarised at the lower layer's mean: q(z2 | z1 = E[z1|x]), (B, Z2)."""
        return self.upper_posterior(self.lower_posterior(x, condition).mean, condition)

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> Likelihood:
        """p(x | z1 = E[z1|z2]) for top-layer codes z2 (..., B, Z2): the data a code stands for,
        without the lower layer's noise (pictures, the explorer, reconstructions of codes)."""
        self.check_condition(condition, z.shape[-2] if z.ndim > 1 else 1)
        return self.decode_lower(self.lower_prior(z, condition).mean, condition)

    def decode_lower(self, z1: torch.Tensor, condition: torch.Tensor | None = None):
        """p(x|z1[, c]) for lower-layer codes (..., B, Z1)."""
        return Autoencoder.decode(self, z1, condition)

    def reconstruction(self, x: torch.Tensor, condition: torch.Tensor | None = None):
        """p(x | z1 = E[z1|x]): the reconstruction through the lower layer, which keeps more
        of x than the top layer's code."""
        return self.decode_lower(self.lower_posterior(x, condition).mean, condition)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Ancestral draws z2 ~ p(z2[|c]), z1 ~ p(z1|z2), then p(x|z1)'s mean, (n, *shape)."""
        z2 = self.prior_codes(n, generator, condition)
        eps = sample_prior(n, self.lower_dim, device=z2.device, generator=generator)
        z1 = self.lower_prior(z2, condition).rsample(noise=eps)
        return self.decode_lower(z1, condition).mean

    def draw_noise(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """eps ~ N(0, I) for both layers' draws: (B, Z1 + Z2), or (K, B, Z1 + Z2) for the
        IWAE."""
        samples = self.samples if self.samples > 1 else None
        return code_noise(x, self.noise_width, samples, generator)

    def _draw(self, x, noise: torch.Tensor, condition):
        """One joint draw per noise row: the layers' posteriors, codes and p(z1|z2)."""
        q1 = self.lower_posterior(x, condition)
        z1 = q1.rsample(noise=noise[..., : self.lower_dim])
        q2 = self.upper_posterior(z1, condition)
        z2 = q2.rsample(noise=noise[..., self.lower_dim :])
        return q1, z1, q2, z2, self.lower_prior(z2, condition)

    def _log_weights(self, x, noise, condition) -> torch.Tensor:
        """log p(x|z1) + log p(z1|z2) + log p(z2) - log q(z1|x) - log q(z2|z1) per draw."""
        q1, z1, q2, z2, p1 = self._draw(x, noise, condition)
        return (
            self.decode_lower(z1, condition).log_prob(x)
            + p1.log_prob(z1)
            + self._top_log_prob(z2, self.prior(condition))
            - q1.log_prob(z1)
            - q2.log_prob(z2)
        )

    def loss(
        self,
        x: torch.Tensor,
        beta: float | torch.Tensor = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """-ELBO with both layers' KL weighted by ``beta`` (free bits floor each dimension of
        both), or the IWAE's -log (1/K) sum_k w_k; see :meth:`Autoencoder.loss`."""
        if noise is None:
            noise = self.draw_noise(x, generator)
        q1, z1, q2, z2, p1 = self._draw(x, noise, condition)
        log_px = self.decode_lower(z1, condition).log_prob(x)
        prior = self.prior(condition)
        lower_kl = normal_log_density(z1, q1.mean, q1.logvar) - normal_log_density(
            z1, p1.mean, p1.logvar
        )  # (..., B, Z1): one-draw, per dimension
        upper_kl = q2.kl_per_dim(prior)  # (..., B, Z2): closed form given z1
        if self.samples > 1:
            log_ratio = lower_kl.sum(-1) + q2.log_prob(z2) - self._top_log_prob(z2, prior)
            bound = iwae_bound(log_px - beta * log_ratio)  # (B,) from (K, B)
            kl = lower_kl[0].sum(-1) + upper_kl[0].sum(-1)
            return LossTerms(loss=-bound.mean(), recon=-log_px.mean(0), kl=kl)
        per_dim = torch.cat([lower_kl, upper_kl], dim=-1)
        kl = per_dim.sum(-1)
        free_bits = self.config.free_bits
        penalty = kl if free_bits <= 0 else kl_penalty(per_dim, free_bits)
        return LossTerms(loss=(-log_px + beta * penalty).mean(), recon=-log_px, kl=kl)

    @torch.no_grad()
    def elbo(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B,) one-draw ELBO estimate (beta = 1)."""
        return self._log_weights(x, code_noise(x, self.noise_width, None, generator), condition)

    @torch.no_grad()
    def log_likelihood(
        self,
        x: torch.Tensor,
        k: int = 1000,
        chunk: int = 250,
        generator: torch.Generator | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Importance-sampled log p(x) (B,) with K joint draws (z1, z2) ~ q(z1|x) q(z2|z1),
        ``chunk`` at a time."""
        weights = []
        for start in range(0, k, chunk):
            noise = code_noise(x, self.noise_width, min(chunk, k - start), generator)
            weights.append(self._log_weights(x, noise, condition))
        return iwae_bound(torch.cat(weights))

    def kl_per_dim(self, posterior: DiagonalGaussian, condition=None) -> torch.Tensor:
        """(B, Z2) the top layer's KL(q(z2|z1 = E[z1|x]) || p(z2)) per dimension."""
        return posterior.kl_per_dim(self.prior(condition))

    @torch.no_grad()
    def lower_layer_statistics(self, x: torch.Tensor, condition=None) -> dict[str, torch.Tensor]:
        """The lower layer z1's posterior means (B, Z1) and a one-draw estimate (fixed seed) of
        each dimension's KL, log q(z1_d|x) - log p(z1_d|z2), z2 ~ q(z2|z1) (B, Z1)."""
        generator = torch.Generator(x.device).manual_seed(0)
        noise = code_noise(x, self.noise_width, None, generator)
        q1, z1, _, _, p1 = self._draw(x, noise, condition)
        kl = normal_log_density(z1, q1.mean, q1.logvar) - normal_log_density(z1, p1.mean, p1.logvar)
        return {"mean": q1.mean, "kl_per_dim": kl}
