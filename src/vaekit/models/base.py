"""The interface every vaekit model answers, whatever its family.

``loss(x)`` gives the training objective and its parts; ``encode(x)`` a distribution over codes
(a point mass for deterministic autoencoders); ``decode(z)`` a distribution over data with
``log_prob``, ``mean`` and ``sample``; ``reconstruct`` and ``sample`` return decoder means in
model space. Probabilistic models (``probabilistic = True``) also give ``elbo`` and
``log_likelihood``.

A conditional model (``conditional``: built with ``condition_dim`` > 0) takes every example's
condition c, (B, condition_dim) in model space, as ``condition=`` in each of these methods:
q(z|x, c), p(x|z, c), and the prior p(z|c) where it is learned. Giving a condition to an
unconditional model, or none to a conditional one, raises VaekitError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vaekit.config.model import ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.discretised import DiscretisedLogistic
from vaekit.models.distributions import (
    Bernoulli,
    ColumnLayout,
    DiagonalGaussian,
    Gaussian,
    PerColumn,
    VampMixture,
    full_precision,
    sample_prior,
)
from vaekit.models.nets import build_decoder

Likelihood = Bernoulli | Gaussian | PerColumn | DiscretisedLogistic
TWO_PARAMETERS = ("gaussian-learned", "per-column")  # the decoder gives a location and a scale


def code_noise(
    x: torch.Tensor,
    width: int,
    samples: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """eps ~ N(0, I) for the reparameterised codes of a batch ``x``: (B, width), or
    (samples, B, width) when ``samples`` is given, on x's device in its float dtype."""
    shape = (len(x), width) if samples is None else (samples, len(x), width)
    dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
    return torch.randn(shape, device=x.device, dtype=dtype, generator=generator)


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
    """Base class of every vaekit model: the config, shape bookkeeping, and the decoder's
    likelihood, shared by all. Built from a :class:`vaekit.ModelConfig` whose ``input_shape``
    is filled in (``vaekit.models.build_model``); tensors are in model space (images in
    [0, 1], table columns standardised), (B, *input_shape), codes (B, latent_dim)."""

    probabilistic = False  # True where the ELBO and log-likelihood are defined
    regularised_latent = False  # True where training pulls codes towards N(0, I)
    kl_weighted = False  # True where the objective has a KL term weighted by beta
    closed_form = False  # True where ``fit(x)`` replaces the optimiser (no network, no loop)

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.input_shape = tuple(config.input_shape)
        self.input_size = math.prod(self.input_shape)
        self.latent_dim = config.latent_dim
        self.condition_dim = config.condition_dim

    @property
    def conditional(self) -> bool:
        """Whether the model takes a condition c with every example (a conditional VAE)."""
        return self.condition_dim > 0

    def check_condition(self, condition: torch.Tensor | None, examples: int) -> None:
        """Refuse a condition missing for a conditional model, given to an unconditional one,
        or of the wrong shape: (examples, condition_dim)."""
        if condition is None:
            if self.conditional:
                raise VaekitError(
                    "this model is conditional: give each example's condition "
                    f"({self.condition_dim} numbers in model space)"
                )
            return
        if not self.conditional:
            raise VaekitError("this model was not trained with a condition; give none")
        if condition.shape[-1] != self.condition_dim or condition.shape[0] != examples:
            raise VaekitError(
                f"conditions must have shape ({examples}, {self.condition_dim}), got "
                f"{tuple(condition.shape)}"
            )

    def parameter_groups(self) -> list[dict]:
        """The parameters as Adam's groups: one group, trained with the run's ``--lr``; a model
        with a part that learns by its own rule (FactorVAE's discriminator) adds a group with
        its own ``lr`` and ``betas``."""
        return [{"params": list(self.parameters())}]

    def at_step(self, step: int, total_steps: int) -> None:
        """Told by the training loop before each step where the run is; a model whose
        objective follows a schedule of its own (capacity annealing) sets it here."""

    @property
    def device(self) -> torch.device:
        """The device the model's tensors live on."""
        return next(iter(self.state_dict().values())).device

    # -- the decoder and its likelihood, one implementation for every network model ---------

    def build_decoder(self, latent_dim: int | None = None) -> None:
        """Create ``self.decoder`` for the config's network and likelihood (two numbers per
        value for a learned-variance Gaussian, one otherwise), reading ``latent_dim`` numbers
        (the config's by default). The discretised likelihood's scale is learned per pixel,
        shared by all examples: the decoder's output, and so its cost, stays Bernoulli's."""
        params = 2 if self.config.likelihood in TWO_PARAMETERS else 1
        c = self.config
        if c.likelihood == "per-column":
            try:
                self.layout = ColumnLayout(c.layout)
            except ValueError as err:
                raise VaekitError(str(err)) from None
            if self.layout.width != self.input_size:
                raise VaekitError(
                    f"model.layout: describes {self.layout.width} columns but the data has "
                    f"{self.input_size}"
                )
        self.decoder = build_decoder(
            c.arch,
            latent_dim or c.latent_dim,
            c.hidden,
            c.channels,
            self.input_shape,
            params,
            c.condition_dim,
        )
        self.log_sigma = math.log(c.sigma)
        if c.likelihood == "discretised":  # each pixel's log scale, from 0.1 (model units)
            if c.levels < 2 or not c.level_step > 0:
                raise VaekitError(
                    f"model.levels {c.levels} / model.level_step {c.level_step}: the "
                    "discretised likelihood needs two or more levels and a positive step"
                )
            self.pixel_log_scale = nn.Parameter(torch.full(self.input_shape, math.log(0.1)))

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> Likelihood:
        """p(x|z[, c]) for codes (..., B, Z) (and conditions (B, C)): a distribution over
        (..., B, *input_shape)."""
        self.check_condition(condition, z.shape[-2] if z.ndim > 1 else 1)
        out = full_precision(self.decoder(z, condition))  # (..., P, *input_shape)
        param_dim = -(len(self.input_shape) + 1)
        event_ndim = len(self.input_shape)
        first = out.select(param_dim, 0)
        likelihood = self.config.likelihood
        if likelihood == "bernoulli":
            return Bernoulli(first, event_ndim)
        if likelihood == "per-column":
            if self.layout.kinds.device != out.device:
                self.layout.to(out.device)
            return PerColumn(out, self.layout, self.config.min_sigma)
        if likelihood == "discretised":  # bounded by construction: the floor is for numerics
            c = self.config
            scale = 1e-3 * c.level_step + self.pixel_log_scale.exp()
            return DiscretisedLogistic(first, scale, event_ndim, c.levels, c.level_step)
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
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """The training objective on a batch ``x`` (B, *input_shape), as :class:`LossTerms` in
        nats: ``loss`` (scalar, the batch mean that is minimised), ``recon`` and ``kl`` (B,).
        ``beta`` weights the KL term; the noise comes from ``noise`` (as :meth:`draw_noise`
        draws it) or ``generator``; ``condition`` (B, C) for a conditional model."""
        raise NotImplementedError

    def forward(
        self,
        x: torch.Tensor,
        beta: float | torch.Tensor = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """Calling the module is ``loss``: DistributedDataParallel hooks ``forward`` to
        synchronise gradients, so training calls the module."""
        return self.loss(x, beta, generator, noise, condition)

    def encode(self, x: torch.Tensor, condition: torch.Tensor | None = None):
        """q(z|x[, c]): a distribution over codes with ``.mean`` (B, Z)."""
        raise NotImplementedError

    def prior(self, condition: torch.Tensor | None = None) -> DiagonalGaussian | VampMixture | None:
        """A learned p(z|c) for conditions (B, C), the VampPrior's mixture, or None where the
        prior is N(0, I)."""
        return None

    def reconstruction(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> Likelihood:
        """p(x | z = E[z|x]): the decoder's distribution at the posterior mean."""
        return self.decode(self.encode(x, condition).mean, condition)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder mean at the posterior mean: (B, *input_shape)."""
        return self.reconstruction(x, condition).mean

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """n draws z ~ p(z[|c]) (N(0, I) unless a conditional prior was learned) through the
        decoder, with conditions (n, C) for a conditional model; returns decoder means
        (n, *input_shape)."""
        return self.decode(self.prior_codes(n, generator, condition), condition).mean

    @torch.no_grad()
    def prior_codes(
        self,
        n: int,
        generator: torch.Generator | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """n codes z ~ p(z[|c]) (n, Z): N(0, I), the learned p(z|c) for conditions (n, C), or
        the VampPrior's mixture."""
        self.check_condition(condition, n)
        eps = sample_prior(n, self.latent_dim, device=self.device, generator=generator)
        prior = self.prior(condition)
        if prior is None:
            return eps
        if isinstance(prior, VampMixture):
            return prior.draw(eps, generator)
        return prior.mean + prior.std * eps

    def parameter_count(self) -> int:
        """The number of trained numbers in the model."""
        return sum(p.numel() for p in self.parameters())
