"""The disentangling objectives: each estimator against its formula written out, and each
model's loss equal to the VAE's at its neutral setting."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vaekit.config.model import ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.disentangling import (
    Discriminator,
    dip_penalty,
    shuffle_dimensions,
    total_correlation,
)
from vaekit.models.objectives import capacity_at
from vaekit.models.registry import build_model


def _posterior(batch=6, dims=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(batch, dims, generator=gen, dtype=torch.float64)
    logvar = torch.randn(batch, dims, generator=gen, dtype=torch.float64) * 0.3
    eps = torch.randn(batch, dims, generator=gen, dtype=torch.float64)
    z = mean + torch.exp(0.5 * logvar) * eps
    return z, mean, logvar


def test_total_correlation_is_the_minibatch_weighted_estimate_written_out():
    z, mean, logvar = _posterior()
    n, (b, d) = 1000, z.shape
    expected = []
    for i in range(b):
        density = [  # q(z_i | x_j) per dimension, as scipy would write the normal density
            [
                math.exp(-0.5 * (z[i, k] - mean[j, k]) ** 2 / math.exp(logvar[j, k]))
                / math.sqrt(2 * math.pi * math.exp(logvar[j, k]))
                for k in range(d)
            ]
            for j in range(b)
        ]
        joint = math.log(sum(math.prod(row) for row in density) / (n * b))
        marginals = sum(math.log(sum(row[k] for row in density) / (n * b)) for k in range(d))
        expected.append(joint - marginals)
    np.testing.assert_allclose(total_correlation(z, mean, logvar, n).numpy(), expected, rtol=1e-10)


def test_total_correlation_is_larger_for_codes_whose_dimensions_move_together():
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(256, 1, generator=gen)
    logvar = torch.full((256, 2), -4.0)
    together = torch.cat([a, a], dim=1)
    apart = torch.randn(256, 2, generator=gen)
    tc_together = total_correlation(together, together, logvar, 256).mean()
    tc_apart = total_correlation(apart, apart, logvar, 256).mean()
    assert tc_together > tc_apart + 1.0


@pytest.mark.parametrize("kind", ["i", "ii"])
def test_dip_penalty_is_the_covariance_distance_written_out(kind):
    _, mean, logvar = _posterior(batch=9, dims=4)
    cov = np.cov(mean.numpy(), rowvar=False, bias=True)
    if kind == "ii":
        cov = cov + np.diag(np.exp(logvar.numpy()).mean(0))
    off = cov - np.diag(np.diag(cov))
    expected = 3.0 * (off**2).sum() + 7.0 * ((np.diag(cov) - 1) ** 2).sum()
    assert float(dip_penalty(mean, logvar, kind, 3.0, 7.0)) == pytest.approx(expected, rel=1e-10)


def test_shuffling_permutes_each_dimension_on_its_own():
    z = torch.arange(20.0).reshape(10, 2)
    keys = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    shuffled = shuffle_dimensions(z, keys)
    for k in range(2):
        assert sorted(shuffled[:, k].tolist()) == z[:, k].tolist()
    assert not torch.equal(shuffled, z)


def test_the_discriminator_learns_only_from_its_loss_and_the_encoder_only_from_the_tc():
    torch.manual_seed(0)
    disc = Discriminator(3, [8])
    z = torch.randn(5, 3, requires_grad=True)
    disc.total_correlation(z).sum().backward()
    assert z.grad is not None and all(p.grad is None for p in disc.parameters())
    z.grad = None
    disc.loss(z, torch.randn(5, 3)).backward()
    assert z.grad is None and all(p.grad is not None for p in disc.parameters())


def _config(model: str, **options) -> ModelConfig:
    return ModelConfig(
        model=model, latent_dim=3, hidden=[16], input_shape=[12], likelihood="bernoulli", **options
    )


NEUTRAL = {
    "beta-tcvae": {"beta": 1.0, "dataset_size": 100},
    "dip-vae": {"lambda_od": 0.0, "lambda_d": 0.0},
    "factor-vae": {"gamma": 0.0, "discriminator_hidden": [8]},
    "beta-vae": {"capacity": 5.0, "gamma": 1.0},  # at step 0 the target is 0
}


@pytest.mark.parametrize("model", NEUTRAL)
def test_each_objective_is_the_vaes_at_its_neutral_setting(model):
    torch.manual_seed(0)
    vae = build_model(_config("vae"))
    other = build_model(_config(model, **NEUTRAL[model]))
    other.load_state_dict(vae.state_dict(), strict=False)  # the discriminator keeps its own
    other.at_step(0, 100)
    x = torch.bernoulli(torch.full((8, 12), 0.4), generator=torch.Generator().manual_seed(2))
    noise = torch.randn(8, 6 if model == "factor-vae" else 3)
    expected = vae.loss(x, beta=1.0, noise=noise[:, :3])
    terms = other.loss(x, beta=1.0, noise=noise)
    loss = terms.loss
    vae_grads = torch.autograd.grad(expected.loss, list(vae.parameters()))
    shared = [p for name, p in other.named_parameters() if not name.startswith("discriminator")]
    other_grads = torch.autograd.grad(loss, shared)
    for a, b in zip(vae_grads, other_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(terms.recon, expected.recon)
    extra = 0.0
    if model == "factor-vae":  # the discriminator's own loss rides along, at detached codes
        z, _ = vae.encode(x).rsample_with_log_prob(noise=noise[:, :3])
        extra = other.discriminator.loss(z, noise[:, 3:])
    torch.testing.assert_close(terms.loss, expected.loss + extra)


def test_capacity_grows_to_its_target_then_holds():
    config = _config("beta-vae", capacity=25.0, capacity_steps=100)
    assert [capacity_at(s, 1000, config) for s in (0, 50, 100, 500)] == [0.0, 12.5, 25.0, 25.0]
    whole_run = _config("beta-vae", capacity=10.0)
    assert capacity_at(250, 1000, whole_run) == 2.5


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        ("dip-vae", {"posterior": "full"}, "posterior: dip-vae needs the one-layer diagonal"),
        ("beta-vae", {"gamma": 10.0}, "gamma: only with --capacity"),
        ("factor-vae", {"lambda_od": 1.0}, "lambda_od: does not apply to model 'factor-vae'"),
    ],
)
def test_options_that_do_not_fit_are_refused_in_one_line(model, options, message):
    with pytest.raises(VaekitError, match=message):
        _config(model, **options).check_applicable()


def test_beta_tcvae_without_a_dataset_size_is_refused():
    with pytest.raises(VaekitError, match="dataset_size: not set"):
        build_model(_config("beta-tcvae"))


def test_vaekit_info_says_each_objective_with_its_numbers():
    from vaekit.models.words import objective_words

    assert "gamma 1000 x |KL - C|" in objective_words(_config("beta-vae", capacity=25.0))
    tc = objective_words(_config("beta-tcvae", beta=6.0, dataset_size=900))
    assert "5 x total correlation" in tc and "900 training examples" in tc
    assert "DIP-VAE-I:" in objective_words(_config("dip-vae", dip="i", lambda_od=2.0))
    assert "20 x diagonal" in objective_words(_config("dip-vae", dip="i", lambda_od=2.0))
    assert objective_words(_config("vae")) == ""
