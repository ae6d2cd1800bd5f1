"""The distributions of a VAE: Gaussian posteriors q(z|x) (diagonal or full covariance), the
point mass of a deterministic code, the N(0, I) prior, and the likelihoods p(x|z) a decoder can
emit (Bernoulli logits, Gaussian with fixed or learned variance).

Each likelihood is an object with ``log_prob``, ``mean`` and ``sample`` so training, evaluation
and plots share one implementation (seed 002: the VAE learns p(z|x) and p(x|z)).
Leading dimensions are free: (B, ...) during training, (K, B, ...) for importance sampling.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def full_precision(t: torch.Tensor) -> torch.Tensor:
    """Half-precision network outputs (bf16 autocast) back to float32 for the distributions;
    float32 and float64 pass through unchanged."""
    return t.float() if t.dtype in (torch.bfloat16, torch.float16) else t


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dimension."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def sample_prior(
    n: int,
    latent_dim: int,
    *,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    # Drawn where the generator lives (a seeded CPU generator works for a CUDA model too).
    where = generator.device if generator is not None else device
    return torch.randn(n, latent_dim, device=where, generator=generator).to(device)


def standard_normal_noise(
    like: torch.Tensor, samples: int | None, generator: torch.Generator | None
) -> torch.Tensor:
    """eps ~ N(0, I) shaped like ``like``, with a leading ``samples`` dimension if given."""
    shape = like.shape if samples is None else (samples, *like.shape)
    return torch.randn(shape, device=like.device, dtype=like.dtype, generator=generator)


class ReparameterisedPosterior:
    """A posterior with a closed-form density at any point: its draws' log q(z|x) is its
    ``log_prob`` (a flow posterior knows the density at its own draws only, and shares just
    :meth:`rsample_with_log_prob`)."""

    def rsample_with_log_prob(
        self,
        samples: int | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised draw and its log q(z|x) (the interface a flow posterior, whose
        density is known at its own draws only, shares)."""
        z = self.rsample(samples, generator, noise)
        return z, self.log_prob(z)


class DiagonalGaussian(ReparameterisedPosterior):
    """q(z|x) = N(mean, diag(exp(logvar))), the encoder's output (Kingma & Welling 2014)."""

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor) -> None:
        self.mean = mean  # (B, Z)
        self.logvar = logvar  # (B, Z)

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def rsample(
        self,
        samples: int | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Reparameterised draw z = mean + std * eps, eps ~ N(0, I): gradients reach mean, std.

        Returns (B, Z), or (samples, B, Z) when ``samples`` is given; ``noise`` is eps drawn
        by the caller (of that shape).
        """
        eps = standard_normal_noise(self.mean, samples, generator) if noise is None else noise
        return self.mean + self.std * eps

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z|x) summed over latent dimensions; z may carry extra leading dims."""
        return normal_log_density(z, self.mean, self.logvar).sum(-1)

    def kl_per_dim(self, prior: DiagonalGaussian | None = None) -> torch.Tensor:
        """KL(q || p) per latent dimension in closed form. p = N(0, I) (Kingma & Welling,
        App. B): 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2); another diagonal Gaussian
        N(m, s^2): 0.5 * (log s^2 - log sigma^2 + (sigma^2 + (mu - m)^2) / s^2 - 1)."""
        if prior is None:
            return 0.5 * (self.mean.pow(2) + torch.exp(self.logvar) - 1.0 - self.logvar)
        spread = torch.exp(self.logvar) + (self.mean - prior.mean).pow(2)
        return 0.5 * (prior.logvar - self.logvar + spread * torch.exp(-prior.logvar) - 1.0)

    def kl_to_standard_normal(self) -> torch.Tensor:
        return self.kl_per_dim().sum(-1)  # (B,)


class VampMixture:
    """The VampPrior (Tomczak & Welling 2018): p(z) = (1/K) sum_k N(z; mean_k, diag
    exp(logvar_k)), the encoder's posteriors of K learned pseudo-inputs, equally weighted.
    Its KL to a posterior has no closed form: the loss estimates it at the drawn code."""

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor) -> None:
        self.mean = mean  # (K, Z)
        self.logvar = logvar  # (K, Z)

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) for codes (..., Z), in float32 also under bf16 autocast. Each component's
        quadratic form is expanded into matrix products, (..., Z) @ (Z, K), so no (..., K, Z)
        tensor is built (the IWAE's 50 draws x batch x 500 components would take GBs)."""
        with torch.autocast(z.device.type, enabled=False):
            z, mean, logvar = z.float(), self.mean.float(), self.logvar.float()
            precision = torch.exp(-logvar)  # (K, Z)
            quad = (
                (z * z) @ precision.T
                - 2 * z @ (mean * precision).T
                + (mean.pow(2) * precision).sum(-1)
            )  # (..., K): sum_d (z_d - mean_kd)^2 / var_kd
            log_parts = -0.5 * (quad + logvar.sum(-1) + z.shape[-1] * LOG_2PI)
            return log_parts.logsumexp(-1) - math.log(len(mean))

    def draw(self, eps: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Codes z ~ p(z) (n, Z) from eps ~ N(0, I) (n, Z): each from a component chosen
        uniformly (drawn with ``generator`` where it lives, like the codes' noise)."""
        where = generator.device if generator is not None else eps.device
        pick = torch.randint(len(self.mean), (len(eps),), generator=generator, device=where)
        pick = pick.to(eps.device)
        return self.mean[pick] + self.std[pick] * eps

    def kl_per_dim(
        self, posterior: DiagonalGaussian, generator: torch.Generator | None = None, rows: int = 256
    ) -> torch.Tensor:
        """(B, Z) one-draw estimates of KL(q_d || p_d) per latent dimension, p_d this mixture's
        marginal in dimension d (for latent health: the mixture does not factorise, so these
        need not sum to the KL)."""
        out = []
        for start in range(0, len(posterior.mean), rows):
            mean = posterior.mean[start : start + rows]
            logvar = posterior.logvar[start : start + rows]
            z = DiagonalGaussian(mean, logvar).rsample(generator=generator)  # (rows, Z)
            log_q = normal_log_density(z, mean, logvar)
            # each dimension's density under every component: (rows, Z, K)
            log_parts = normal_log_density(z.unsqueeze(-1), self.mean.T, self.logvar.T)
            out.append(log_q - (log_parts.logsumexp(-1) - math.log(len(self.mean))))
        return torch.cat(out)


# Precisions above exp(80) are taken as exp(80): float32 overflows at exp(88.7), and an input
# far outside the training data can drive the encoder's log-variance below -88 (shuttle's
# extreme rows gave -141). Then z - mean rounds to 0 and 0 * inf would be NaN.
MAX_LOG_PRECISION = 80.0


def normal_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, exp(logvar)) value by value (broadcast, not summed)."""
    precision = torch.exp((-logvar).clamp(max=MAX_LOG_PRECISION))
    return -0.5 * ((z - mean).pow(2) * precision + logvar + LOG_2PI)


class FullGaussian(ReparameterisedPosterior):
    """q(z|x) = N(mean, L L^T) with L lower-triangular, positive diagonal (a Cholesky factor)."""

    def __init__(self, mean: torch.Tensor, scale_tril: torch.Tensor) -> None:
        self.mean = mean  # (B, Z)
        self.scale_tril = scale_tril  # (B, Z, Z)

    @property
    def logvar(self) -> torch.Tensor:
        """Log of the marginal variances diag(L L^T), (B, Z)."""
        return torch.log(self.scale_tril.pow(2).sum(-1))

    def rsample(
        self,
        samples: int | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """z = mean + L eps: covariance L L^T, differentiable in mean and L."""
        eps = standard_normal_noise(self.mean, samples, generator) if noise is None else noise
        return self.mean + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _log_det(self) -> torch.Tensor:
        return 2 * torch.log(torch.diagonal(self.scale_tril, dim1=-2, dim2=-1)).sum(-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        diff = (z - self.mean).unsqueeze(-1)  # (..., B, Z, 1)
        tril = self.scale_tril.expand(*diff.shape[:-2], *self.scale_tril.shape[-2:])
        white = torch.linalg.solve_triangular(tril, diff, upper=False).squeeze(-1)
        return -0.5 * (white.pow(2).sum(-1) + self._log_det() + self.mean.shape[-1] * LOG_2PI)

    def kl_to_standard_normal(self) -> torch.Tensor:
        """0.5 * (tr(L L^T) + mu^T mu - Z - log det(L L^T)), (B,)."""
        trace = self.scale_tril.pow(2).sum((-2, -1))
        return 0.5 * (trace + self.mean.pow(2).sum(-1) - self.mean.shape[-1] - self._log_det())

    def kl_per_dim(self) -> torch.Tensor:
        """KL of each marginal N(mu_d, Sigma_dd) to N(0, 1); they need not sum to the joint KL."""
        return 0.5 * (self.mean.pow(2) + torch.exp(self.logvar) - 1.0 - self.logvar)


class PointMass:
    """The code of a deterministic autoencoder: all probability at ``mean``."""

    def __init__(self, mean: torch.Tensor) -> None:
        self.mean = mean

    def rsample(
        self, samples: int | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return self.mean if samples is None else self.mean.expand(samples, *self.mean.shape)


class Bernoulli:
    """p(x|z) for data in [0, 1], parameterised by logits (BCE-with-logits is the stable form)."""

    def __init__(self, logits: torch.Tensor, event_ndim: int) -> None:
        self.logits = logits
        self.event_ndim = event_ndim

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.logits.flatten(-self.event_ndim)  # (..., D)
        x = x.flatten(-self.event_ndim)  # broadcasts against leading sample dimensions
        kernel = _compiled_bernoulli if _COMPILED else _bernoulli_log_prob
        return kernel(logits, x)

    def log_prob_values(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x_d|z) of each value (..., D), the terms :meth:`log_prob` sums."""
        logits = self.logits.flatten(-self.event_ndim)
        return logits * x.flatten(-self.event_ndim) - F.softplus(logits)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.bernoulli(self.mean, generator=generator)


def _bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """sum_d x_d l_d - softplus(l_d): the Bernoulli log-likelihood from logits, stable for any l
    (softplus never overflows) and without materialising x at the logits' shape."""
    return (logits * x).sum(-1) - F.softplus(logits).sum(-1)


_COMPILED = False
_compiled_bernoulli = _bernoulli_log_prob


@contextlib.contextmanager
def compiled_kernels(enabled: bool = True):
    """Within this block the Bernoulli log-likelihood runs as one fused compiled kernel
    (torch.compile): about 3x faster on CPU than eager, after a one-off compile of some seconds,
    so it pays for long evaluations. Falls back to eager if compiling is not possible here."""
    global _COMPILED, _compiled_bernoulli
    previous = _COMPILED
    if enabled and _compiled_bernoulli is _bernoulli_log_prob:
        try:
            candidate = torch.compile(_bernoulli_log_prob, dynamic=True)
            probe = torch.zeros(2, 3)
            candidate(probe, probe)  # compile now, so a failure falls back here, not mid-run
            _compiled_bernoulli = candidate
        except Exception:  # noqa: BLE001 - no compiler, unsupported platform: stay eager
            enabled = False
    _COMPILED = enabled
    try:
        yield
    finally:
        _COMPILED = previous


class Gaussian:
    """p(x|z) = N(mean, sigma^2): with a fixed sigma this is the MSE loss of the seed notes; a
    tensor ``log_sigma`` (one per value) is the learned-variance decoder of seed 002."""

    def __init__(
        self, mean: torch.Tensor, log_sigma: torch.Tensor | float, event_ndim: int
    ) -> None:
        self.loc = mean
        self.log_sigma = torch.as_tensor(log_sigma, dtype=mean.dtype, device=mean.device)
        self.event_ndim = event_ndim

    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob_values(x).sum(-1)

    def log_prob_values(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x_d|z) of each value (..., D), the terms :meth:`log_prob` sums."""
        z = (x - self.loc) * torch.exp(-self.log_sigma)
        per_value = -0.5 * (z.pow(2) + LOG_2PI) - self.log_sigma
        return per_value.flatten(-self.event_ndim)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(
            self.loc.shape, device=self.loc.device, dtype=self.loc.dtype, generator=generator
        )
        return self.loc + torch.exp(self.log_sigma) * noise


class ColumnLayout:
    """What each model-space column of a table holds, for :class:`PerColumn`: parsed from the
    run's ``model.layout``, one word per block in column order — ``gaussian`` (a number
    column), ``bernoulli`` (a binary column), ``categorical:K`` (K one-hot columns) and
    ``missing`` (the 0/1 indicator of the block before it, which it masks where it is 1)."""

    def __init__(self, blocks: list[str]) -> None:
        kinds: list[int] = []  # 0 gaussian, 1 bernoulli (missing indicators too), 2 categorical
        owner: list[int] = []  # the missing indicator that masks this column, or -1
        self.groups: list[tuple[int, int]] = []  # (start, size) of each categorical block
        previous: list[int] = []
        for block in blocks:
            word, _, size = block.partition(":")
            start = len(kinds)
            if word == "gaussian" or word == "bernoulli":
                kinds.append(0 if word == "gaussian" else 1)
                owner.append(-1)
            elif word == "categorical" and size.isdigit() and int(size) > 0:
                kinds += [2] * int(size)
                owner += [-1] * int(size)
                self.groups.append((start, int(size)))
            elif word == "missing" and previous:
                for column in previous:
                    owner[column] = start
                kinds.append(1)
                owner.append(-1)
            else:
                raise ValueError(f"model.layout: {block!r} is not a likelihood block")
            previous = list(range(start, len(kinds))) if word != "missing" else []
        self.width = len(kinds)
        self.kinds = torch.tensor(kinds, dtype=torch.long)
        self.owner = torch.tensor(owner, dtype=torch.long)
        group_of = torch.zeros(len(kinds), dtype=torch.long)
        for g, (start, size) in enumerate(self.groups):
            group_of[start : start + size] = g
        self.group_of = group_of

    def to(self, device: torch.device) -> ColumnLayout:
        """The same layout with its index tensors on ``device``."""
        for name in ("kinds", "owner", "group_of"):
            setattr(self, name, getattr(self, name).to(device))
        return self


class PerColumn:
    """p(x|z) for a table row, each column by the likelihood of its kind (the model's
    ``per-column`` likelihood): a number column Gaussian with a learned std (at least
    ``min_sigma``) in its model-space units, a binary column and a missing-value indicator
    Bernoulli, a category column categorical (softmax over its one-hot block). A value whose
    missing indicator is 1 adds nothing: the indicator's probability is its likelihood.

    ``params`` is the decoder output (..., 2, W): location or logits, and the std's softplus
    input (used by number columns only)."""

    def __init__(self, params: torch.Tensor, layout: ColumnLayout, min_sigma: float) -> None:
        self.loc = params.select(-2, 0)  # (..., W)
        self.sigma = min_sigma + F.softplus(params.select(-2, 1))
        self.layout = layout

    def _log_normaliser(self) -> torch.Tensor:
        """(..., W) each categorical column's group logsumexp (0 elsewhere)."""
        if not self.layout.groups:
            return torch.zeros_like(self.loc)
        sums = [self.loc[..., s : s + k].logsumexp(-1) for s, k in self.layout.groups]
        per_group = torch.stack(sums, dim=-1)  # (..., G)
        spread = per_group.index_select(-1, self.layout.group_of)
        return torch.where(self.layout.kinds == 2, spread, torch.zeros_like(spread))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per row in nats, summed over columns (..., B)."""
        return self.log_prob_values(x).sum(-1)

    def log_prob_values(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x|z) of each model-space value (..., W): a value masked by its missing
        indicator adds 0, the indicator its own probability."""
        kinds, loc = self.layout.kinds, self.loc
        gaussian = -0.5 * ((x - loc) / self.sigma).pow(2) - torch.log(self.sigma) - 0.5 * LOG_2PI
        bernoulli = x * loc - F.softplus(loc)
        categorical = x * (loc - self._log_normaliser())  # the chosen category's log-softmax
        per_value = torch.where(
            kinds == 0, gaussian, torch.where(kinds == 1, bernoulli, categorical)
        )
        owner = self.layout.owner
        if bool((owner >= 0).any()):
            indicator = x.index_select(-1, owner.clamp(min=0))
            present = torch.where(owner >= 0, 1.0 - indicator, torch.ones_like(indicator))
            per_value = per_value * present
        return per_value

    @property
    def mean(self) -> torch.Tensor:
        """E[x|z] in model space: number means, Bernoulli probabilities, category
        probabilities (which the schema reads as the most likely category)."""
        kinds = self.layout.kinds
        probs = torch.exp(self.loc - self._log_normaliser())
        return torch.where(
            kinds == 0, self.loc, torch.where(kinds == 1, torch.sigmoid(self.loc), probs)
        )

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw x ~ p(x|z) per row in model space: numbers with Gaussian noise, 0/1 for
        binary columns and indicators, one-hot categories drawn by their probabilities."""
        loc, kinds = self.loc, self.layout.kinds
        noise = torch.randn(loc.shape, device=loc.device, dtype=loc.dtype, generator=generator)
        uniform = torch.rand(loc.shape, device=loc.device, dtype=loc.dtype, generator=generator)
        gaussian = loc + self.sigma * noise
        bernoulli = (uniform < torch.sigmoid(loc)).to(loc.dtype)
        out = torch.where(kinds == 0, gaussian, bernoulli)
        # Gumbel-max: argmax(logits + Gumbel noise) is a draw from the softmax.
        gumbel = loc - torch.log(-torch.log(uniform.clamp(1e-20, 1.0)))
        for start, size in self.layout.groups:
            chosen = gumbel[..., start : start + size].argmax(-1)
            out[..., start : start + size] = F.one_hot(chosen, size).to(loc.dtype)
        return out
