"""Variational autoencoders (Kingma & Welling 2014; seeds 000-004) and their variants, which are
values of one class rather than classes of their own:

- ``vae``: q(z|x) = N(mu, diag sigma^2) (or N(mu, L L^T) with ``posterior="full"``), loss
  -log p(x|z) + beta * KL(q(z|x) || N(0, I)).
- ``beta-vae``: the same with beta following a schedule and optional free bits.
- ``iwae``: trained on the importance-weighted bound with K samples (Burda et al. 2015).
- ``beta-tcvae``, ``factor-vae``, ``dip-vae`` and ``beta-vae --capacity``: the ELBO plus a
  penalty for dependent code dimensions (:mod:`vaekit.models.disentangling`).
- ``noisy-ae``: seed 004's "not yet a VAE": an autoencoder whose code gets fixed Gaussian noise of
  std ``code_sigma`` and a KL towards N(0, I); only sigma is not learned.

Each is also a conditional VAE (Sohn et al. 2015) when built with ``condition_dim`` > 0:
q(z|x, c), p(x|z, c), and the prior N(0, I) or, with ``prior="conditional"``, a learned
p(z|c) = N(mu(c), diag sigma(c)^2), whose KL to the posterior has the same closed form.

With ``prior="vamp"`` (unconditional models) the prior is the VampPrior (Tomczak & Welling
2018): the mixture of the encoder's posteriors of ``pseudo_inputs`` learned inputs, whose KL
term is estimated at the drawn code, log q(z|x) - log p(z).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vaekit.config.model import DISENTANGLING_MODELS, ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.base import Autoencoder, LossTerms, code_noise
from vaekit.models.disentangling import (
    DISCRIMINATOR_BETAS,
    Discriminator,
    dip_penalty,
    total_correlation,
)
from vaekit.models.distributions import (
    DiagonalGaussian,
    FullGaussian,
    VampMixture,
    full_precision,
    standard_normal_log_prob,
)
from vaekit.models.flows import IAF, FlowPosterior
from vaekit.models.nets import build_encoder, mlp
from vaekit.models.objectives import capacity_at, iwae_bound, kl_penalty

PRIOR_HIDDEN = 128  # width of the learned conditional prior's one hidden layer


class VAE(Autoencoder):
    """A variational autoencoder and its variants (vae, beta-vae, iwae, noisy-ae; see the
    module): Gaussian q(z|x), the prior N(0, I) or a learned p(z|c), the config's decoder.
    ``loss`` is the negative (beta-weighted, K-sample for the IWAE) ELBO; ``elbo`` and
    ``log_likelihood`` estimate log p(x) per example in nats."""

    probabilistic = True
    regularised_latent = True
    kl_weighted = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        z = config.latent_dim
        self.fixed_sigma = config.model == "noisy-ae"
        self.full = config.posterior == "full" and not self.fixed_sigma
        self.flowing = config.posterior == "iaf" and not self.fixed_sigma
        outputs = z if self.fixed_sigma else z + z * (z + 1) // 2 if self.full else 2 * z
        c = config
        if self.flowing:  # the encoder also gives the flow its context h
            outputs += c.flow_hidden
            self.flow = IAF(z, c.flow_steps, c.flow_hidden, c.flow_hidden)
        self.encoder = build_encoder(
            c.arch, self.input_shape, c.hidden, c.channels, outputs, c.condition_dim
        )
        self.build_decoder()
        if config.prior == "conditional":  # c -> (mean, log-variance) of p(z|c)
            self.prior_net = mlp(c.condition_dim, [PRIOR_HIDDEN], 2 * z)
        if config.prior == "vamp":  # learned inputs whose posteriors make the prior
            shape = self.input_shape
            start = 0.5 if len(shape) == 3 else 0.0  # mid-grey images; a table's column means
            self.pseudo_inputs = torch.nn.Parameter(
                start + 0.1 * torch.randn(c.pseudo_inputs, *shape)
            )
        self.samples = config.k if config.model == "iwae" else 1
        if config.needs_dataset_size and config.dataset_size < 1:
            raise VaekitError("model.dataset_size: not set; it is filled in from the data")
        if config.model == "factor-vae":
            self.discriminator = Discriminator(z, c.discriminator_hidden)
        if config.model == "beta-vae" and config.capacity > 0:  # set by at_step
            self.register_buffer("kl_target", torch.zeros(()), persistent=False)
        if self.full:
            rows, cols = torch.tril_indices(z, z)
            self.register_buffer("tril_rows", rows, persistent=False)
            self.register_buffer("tril_cols", cols, persistent=False)

    def prior(self, condition: torch.Tensor | None = None) -> DiagonalGaussian | VampMixture | None:
        """The learned p(z|c) (B, Z) for conditions (B, C), the VampPrior's mixture (K, Z), or
        None: the prior is N(0, I)."""
        if hasattr(self, "pseudo_inputs"):
            components = self.encode(self.pseudo_inputs)
            return VampMixture(components.mean, components.logvar)
        if not hasattr(self, "prior_net"):
            return None
        mean, logvar = full_precision(self.prior_net(condition)).chunk(2, dim=-1)
        return DiagonalGaussian(mean, logvar)

    def _prior_log_prob(self, z: torch.Tensor, prior) -> torch.Tensor:
        return standard_normal_log_prob(z) if prior is None else prior.log_prob(z)

    def kl_per_dim(self, posterior, condition: torch.Tensor | None = None) -> torch.Tensor:
        """(B, Z) KL(q(z|x, c) || p(z|c)) per latent dimension: to N(0, I), or to the learned
        conditional prior."""
        prior = self.prior(condition)
        if isinstance(prior, VampMixture) or isinstance(posterior, FlowPosterior):
            # estimated, with a fixed seed: a stable diagnosis
            generator = torch.Generator(posterior.mean.device).manual_seed(0)
            if isinstance(prior, VampMixture):
                return prior.kl_per_dim(posterior, generator)
            return posterior.kl_per_dim(prior, generator)
        return posterior.kl_per_dim() if prior is None else posterior.kl_per_dim(prior)

    def _kl(self, posterior, prior, z: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
        """(B,) KL(q || p): closed form, or, for the VampPrior and a flow posterior, which have
        none, the one-draw estimate log q(z|x) - log p(z) at the drawn codes z (unbiased)."""
        if isinstance(prior, VampMixture) or isinstance(posterior, FlowPosterior):
            return log_q - self._prior_log_prob(z, prior)
        if prior is None:
            return posterior.kl_to_standard_normal()
        return posterior.kl_per_dim(prior).sum(-1)

    def encode(
        self, x: torch.Tensor, condition: torch.Tensor | None = None
    ) -> DiagonalGaussian | FullGaussian | FlowPosterior:
        """q(z|x[, c]): diagonal or full-covariance Gaussian over (B, Z) codes, or the diagonal
        one through the IAF."""
        self.check_condition(condition, len(x))
        out = full_precision(self.encoder(x, condition))  # posterior parameters never in bf16
        z = self.latent_dim
        if self.fixed_sigma:
            logvar = torch.full_like(out, 2 * math.log(self.config.code_sigma))
            return DiagonalGaussian(out, logvar)
        if self.full:
            mean, entries = out[:, :z], out[:, z:]  # (B, Z), (B, Z(Z+1)/2)
            tril = out.new_zeros(out.shape[0], z, z)
            tril[:, self.tril_rows, self.tril_cols] = entries
            # Positive diagonal (softplus, with a small floor) makes L a valid Cholesky factor.
            diagonal = F.softplus(torch.diagonal(tril, dim1=-2, dim2=-1)) + 1e-4
            tril = torch.tril(tril, diagonal=-1) + torch.diag_embed(diagonal)
            return FullGaussian(mean, tril)
        mean, logvar = out[:, :z], out[:, z : 2 * z]  # (B, Z) each
        if self.config.logvar_clamp is not None:
            logvar = logvar.clamp(-self.config.logvar_clamp, self.config.logvar_clamp)
        if self.flowing:
            return FlowPosterior(DiagonalGaussian(mean, logvar), out[:, 2 * z :], self.flow)
        return DiagonalGaussian(mean, logvar)

    def draw_noise(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """eps ~ N(0, I) for the reparameterised draw: (B, Z), or (K, B, Z) for the IWAE;
        FactorVAE's (B, 2Z) adds the keys that shuffle its codes' dimensions."""
        samples = self.samples if self.samples > 1 else None
        width = self.latent_dim * (2 if hasattr(self, "discriminator") else 1)
        return code_noise(x, width, samples, generator)

    def parameter_groups(self) -> list[dict]:
        """One Adam group, or two for FactorVAE: its discriminator learns by its own Adam
        (``discriminator_lr``, betas 0.5 and 0.9, as Kim & Mnih)."""
        if not hasattr(self, "discriminator"):
            return super().parameter_groups()
        own = {id(p) for p in self.discriminator.parameters()}
        return [
            {"params": [p for p in self.parameters() if id(p) not in own]},
            {
                "params": list(self.discriminator.parameters()),
                "lr": self.config.discriminator_lr,
                "betas": DISCRIMINATOR_BETAS,
            },
        ]

    def at_step(self, step: int, total_steps: int) -> None:
        """Capacity annealing's KL target for this step."""
        if hasattr(self, "kl_target"):
            self.kl_target.fill_(capacity_at(step, total_steps, self.config))

    def loss(
        self,
        x: torch.Tensor,
        beta: float | torch.Tensor = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """-ELBO with the KL weighted by ``beta`` (and floored per dimension by free bits), or
        the IWAE's -log (1/K) sum_k w_k; ``recon`` and ``kl`` are the one-sample ELBO's parts
        (B,). See :meth:`Autoencoder.loss` for the arguments."""
        posterior = self.encode(x, condition)
        prior = self.prior(condition)
        if noise is None:
            noise = self.draw_noise(x, generator)
        if self.samples > 1:
            return self._iwae_loss(x, posterior, prior, beta, noise, condition)
        eps = noise[:, : self.latent_dim]
        z, log_q = posterior.rsample_with_log_prob(noise=eps)  # (B, Z), (B,)
        recon = -self.decode(z, condition).log_prob(x)  # (B,)
        kl = self._kl(posterior, prior, z, log_q)  # (B,)
        if self.config.model in DISENTANGLING_MODELS or hasattr(self, "kl_target"):
            loss = self._disentangling_loss(recon, kl, posterior, z, noise, beta)
            return LossTerms(loss=loss, recon=recon, kl=kl)
        free_bits = self.config.free_bits
        # Free bits need a KL per dimension: the diagonal posterior's closed form, or the flow's
        # estimate split by dimension at the same draw.
        penalty = kl
        if free_bits > 0:
            per_dim = (
                posterior.kl_per_dim(prior, noise=eps)
                if isinstance(posterior, FlowPosterior)
                else posterior.kl_per_dim(prior)
            )
            penalty = kl_penalty(per_dim, free_bits)
        return LossTerms(loss=(recon + beta * penalty).mean(), recon=recon, kl=kl)

    def _disentangling_loss(self, recon, kl, posterior, z, noise, beta) -> torch.Tensor:
        """The scalar loss of the disentangling objectives (see vaekit.models.disentangling);
        each is the VAE's at its neutral setting (beta 1, gamma 0, lambdas 0, capacity 0 with
        gamma 1)."""
        c = self.config
        if hasattr(self, "kl_target"):  # Burgess et al.: gamma |KL - C| on the batch's KL
            return recon.mean() + c.resolved_gamma() * (kl.mean() - self.kl_target).abs()
        if c.model == "beta-tcvae":
            tc = total_correlation(z, posterior.mean, posterior.logvar, c.dataset_size)
            return (recon + kl + (beta - 1) * tc).mean()
        loss = (recon + beta * kl).mean()
        if c.model == "dip-vae":
            return loss + dip_penalty(
                posterior.mean, posterior.logvar, c.dip, c.lambda_od, c.resolved_lambda_d()
            )
        keys = noise[:, self.latent_dim :]
        tc = self.discriminator.total_correlation(z)
        return loss + c.resolved_gamma() * tc.mean() + self.discriminator.loss(z, keys)

    def _iwae_loss(self, x, posterior, prior, beta, noise: torch.Tensor, condition) -> LossTerms:
        z, log_q = posterior.rsample_with_log_prob(self.samples, noise=noise)  # (K, B, Z), (K, B)
        log_px_z = self.decode(z, condition).log_prob(x)  # (K, B)
        log_ratio = log_q - self._prior_log_prob(z, prior)  # (K, B)
        bound = iwae_bound(log_px_z - beta * log_ratio)  # (B,)
        # The parts reported are the K-sample ELBO's: the mean over samples of each term.
        kl = self._kl(posterior, prior, z[0], log_q[0])
        return LossTerms(loss=-bound.mean(), recon=-log_px_z.mean(0), kl=kl)

    @torch.no_grad()
    def elbo(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B,) single-sample ELBO estimate (beta = 1); of log p(x|c) for a conditional model."""
        posterior = self.encode(x, condition)
        z, log_q = posterior.rsample_with_log_prob(generator=generator)
        kl = self._kl(posterior, self.prior(condition), z, log_q)
        return self.decode(z, condition).log_prob(x) - kl

    @torch.no_grad()
    def log_likelihood(
        self,
        x: torch.Tensor,
        k: int = 1000,
        chunk: int = 250,
        generator: torch.Generator | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Importance-sampled log p(x) with K draws from q(z|x) (Burda et al. 2015), (B,):
        logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K; for a conditional
        model log p(x|c), with q(z|x, c), p(x|z, c) and p(z|c).
        Samples are drawn ``chunk`` at a time for all B points at once to bound memory."""
        posterior = self.encode(x, condition)
        prior = self.prior(condition)
        weights = []
        for start in range(0, k, chunk):
            z, log_q = posterior.rsample_with_log_prob(min(chunk, k - start), generator=generator)
            log_w = (
                self.decode(z, condition).log_prob(x) + self._prior_log_prob(z, prior) - log_q
            )  # (k', B): z is (k', B, Z)
            weights.append(log_w)
        return iwae_bound(torch.cat(weights))
