import math

import torch
from torch.distributions import Bernoulli as TorchBernoulli
from torch.distributions import Independent, Normal, kl_divergence

from vaekit.models.distributions import (
    Bernoulli,
    DiagonalGaussian,
    Gaussian,
    standard_normal_log_prob,
)


def _posterior(seed: int = 0, batch: int = 5, dim: int = 3) -> DiagonalGaussian:
    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(batch, dim, generator=gen, dtype=torch.float64)
    logvar = torch.randn(batch, dim, generator=gen, dtype=torch.float64) * 0.5
    return DiagonalGaussian(mean, logvar)


def test_kl_matches_torch_distributions():
    q = _posterior()
    reference = kl_divergence(
        Independent(Normal(q.mean, q.std), 1),
        Independent(Normal(torch.zeros_like(q.mean), torch.ones_like(q.mean)), 1),
    )
    torch.testing.assert_close(q.kl_to_standard_normal(), reference)


def test_kl_matches_monte_carlo_estimate():
    q = _posterior(seed=1)
    gen = torch.Generator().manual_seed(2)
    z = q.rsample(200_000, generator=gen)  # (S, B, Z)
    samples = q.log_prob(z) - standard_normal_log_prob(z)  # (S, B)
    estimate = samples.mean(0)
    stderr = samples.std(0) / math.sqrt(len(samples))
    assert torch.all((estimate - q.kl_to_standard_normal()).abs() < 4 * stderr + 1e-3)


def test_kl_is_zero_only_at_the_prior():
    prior_like = DiagonalGaussian(torch.zeros(2, 4), torch.zeros(2, 4))
    assert torch.all(prior_like.kl_to_standard_normal() == 0)
    assert torch.all(_posterior().kl_to_standard_normal() > 0)


def test_posterior_log_prob_matches_torch_normal():
    q = _posterior()
    z = q.rsample(7, generator=torch.Generator().manual_seed(3))
    reference = Independent(Normal(q.mean, q.std), 1).log_prob(z)
    torch.testing.assert_close(q.log_prob(z), reference)


def test_rsample_has_the_posterior_moments():
    q = DiagonalGaussian(torch.tensor([[1.0, -2.0]]), torch.log(torch.tensor([[0.25, 4.0]])))
    z = q.rsample(100_000, generator=torch.Generator().manual_seed(0))[:, 0]
    torch.testing.assert_close(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.03, rtol=0)
    torch.testing.assert_close(z.var(0), torch.tensor([0.25, 4.0]), atol=0.05, rtol=0.02)


def test_bernoulli_log_prob_matches_torch_with_extra_leading_dims():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 3, 1, 2, 2, generator=gen)  # (K, B, C, H, W)
    x = torch.rand(3, 1, 2, 2, generator=gen).round()
    ours = Bernoulli(logits, event_ndim=3).log_prob(x)
    reference = Independent(TorchBernoulli(logits=logits), 3).log_prob(x.expand_as(logits))
    assert ours.shape == (4, 3)
    torch.testing.assert_close(ours, reference)


def test_gaussian_log_prob_matches_torch_normal():
    gen = torch.Generator().manual_seed(0)
    mean = torch.randn(6, 5, generator=gen)
    x = torch.randn(6, 5, generator=gen)
    ours = Gaussian(mean, math.log(0.3), event_ndim=1).log_prob(x)
    reference = Independent(Normal(mean, 0.3), 1).log_prob(x)
    torch.testing.assert_close(ours, reference)


def _full_posterior(seed: int = 0, batch: int = 4, dim: int = 3):
    from vaekit.models.distributions import FullGaussian

    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(batch, dim, generator=gen, dtype=torch.float64)
    raw = torch.randn(batch, dim, dim, generator=gen, dtype=torch.float64) * 0.5
    tril = torch.tril(raw, -1) + torch.diag_embed(
        torch.rand(batch, dim, generator=gen, dtype=torch.float64) + 0.3
    )
    return FullGaussian(mean, tril)


def test_full_covariance_kl_matches_torch_multivariate_normal():
    from torch.distributions import MultivariateNormal

    q = _full_posterior()
    reference = kl_divergence(
        MultivariateNormal(q.mean, scale_tril=q.scale_tril),
        MultivariateNormal(torch.zeros_like(q.mean), torch.eye(3, dtype=torch.float64)),
    )
    torch.testing.assert_close(q.kl_to_standard_normal(), reference)


def test_full_covariance_kl_matches_monte_carlo_estimate():
    q = _full_posterior(seed=1)
    z = q.rsample(200_000, generator=torch.Generator().manual_seed(5))
    samples = q.log_prob(z) - standard_normal_log_prob(z)
    stderr = samples.std(0) / math.sqrt(len(samples))
    assert torch.all((samples.mean(0) - q.kl_to_standard_normal()).abs() < 4 * stderr + 1e-3)


def test_full_covariance_samples_have_covariance_l_l_transpose():
    q = _full_posterior(seed=2, batch=1)
    z = q.rsample(400_000, generator=torch.Generator().manual_seed(0))[:, 0]  # (S, Z)
    empirical = torch.cov(z.T)
    expected = q.scale_tril[0] @ q.scale_tril[0].T
    torch.testing.assert_close(empirical, expected, atol=0.02, rtol=0.02)
    torch.testing.assert_close(z.mean(0), q.mean[0], atol=0.01, rtol=0)


def test_full_covariance_log_prob_matches_torch():
    from torch.distributions import MultivariateNormal

    q = _full_posterior(seed=3)
    z = q.rsample(6, generator=torch.Generator().manual_seed(1))
    reference = MultivariateNormal(q.mean, scale_tril=q.scale_tril).log_prob(z)
    torch.testing.assert_close(q.log_prob(z), reference)


def test_an_extreme_posterior_keeps_a_finite_density():
    """An input far outside the training data drove an encoder's log-variance to -141 (a row
    of shuttle): exp(141) overflows float32, and z - mean rounds to 0, so 0 * inf gave NaN
    and `vaekit score` refused the whole file."""
    mean = torch.tensor([[22.7, 14.9]])
    logvar = torch.tensor([[-141.0, -2.0]])
    q = DiagonalGaussian(mean, logvar)
    z = q.rsample(noise=torch.tensor([[0.5, 0.5]]))
    value = q.log_prob(z)
    assert torch.isfinite(value).all()
    expected = -0.5 * (logvar + math.log(2 * math.pi)).sum() - 0.5 * 0.25  # dim 2's eps^2
    torch.testing.assert_close(value, expected.reshape(1), rtol=1e-5, atol=1e-3)
