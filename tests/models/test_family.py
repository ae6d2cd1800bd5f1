"""Every model of the family trains, saves, loads bit-exactly and samples; the family's claims."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import vaekit
from vaekit.api import train
from vaekit.config.model import MODEL_NAMES, ModelConfig
from vaekit.data.splits import load_splits
from vaekit.models.registry import build_model


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_trains_saves_loads_bit_exactly_and_samples(name, make_config, tmp_path):
    config = make_config(model={"model": name}, train={"epochs": 2})
    run = train(config, tmp_path / name)
    loaded = vaekit.load(tmp_path / name)
    saved = load_file(str(tmp_path / name / "model.safetensors"))
    state = loaded.model.state_dict()
    assert saved.keys() == state.keys()
    assert all(torch.equal(saved[k], state[k]) for k in saved)
    for sampler in ("prior", "gmm"):
        samples = loaded.sample(6, seed=0, sampler=sampler, warn=False)
        assert samples.shape == (6, 1, 8, 8) and np.isfinite(samples).all()
    assert run.metrics[-1]["val_mse"] < 20  # a 64-pixel image in [0, 1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        {"posterior": "full", "latent_dim": 3},
        {"likelihood": "gaussian-learned"},
        {"arch": "conv", "channels": [8, 16]},
        {"model": "beta-vae", "beta_schedule": "cyclical", "free_bits": 0.1},
        {"model": "iwae", "k": 3, "posterior": "full"},
    ],
)
def test_model_options_train(model, make_config, tmp_path):
    run = train(make_config(model=model, train={"epochs": 3}), tmp_path / "r")
    assert run.metrics[-1]["val_elbo"] > run.metrics[0]["val_elbo"] - 1


def test_scheduled_beta_is_logged(make_config, tmp_path):
    config = make_config(
        model={"model": "beta-vae", "beta": 2.0, "beta_schedule": "linear", "warmup_steps": 60},
        train={"epochs": 3},
    )
    betas = [row["beta"] for row in train(config, tmp_path / "r").metrics]
    assert betas[0] < betas[1] < betas[2] == 2.0


@pytest.mark.parametrize("shape", [(1, 7, 7), (3, 10, 6)])
def test_conv_nets_fit_any_image_size(shape):
    config = ModelConfig(
        arch="conv", channels=[4, 8], latent_dim=2, likelihood="bernoulli", input_shape=list(shape)
    )
    model = build_model(config)
    x = torch.rand(5, *shape)
    assert model.reconstruct(x).shape == (5, *shape)
    z = torch.randn(4, 5, 2)  # extra leading dimension, as importance sampling uses
    assert model.decode(z).mean.shape == (4, 5, *shape)


def _fitted_pca(make_config, latent_dim: int):
    config = make_config(model={"model": "pca", "latent_dim": latent_dim})
    splits = load_splits(config.data)
    config.model.input_shape = list(splits.shape)
    model = build_model(config.model)
    model.fit(splits.train.x)
    return model, splits


def test_pca_reconstruction_is_the_optimal_rank_k_projection(make_config):
    model, splits = _fitted_pca(make_config, 5)
    x = splits.train.x.flatten(1).double().numpy()
    center = x.mean(0)
    _, _, vt = np.linalg.svd(x - center, full_matrices=False)
    projection = (x - center) @ vt[:5].T @ vt[:5] + center
    ours = model.reconstruct(splits.train.x).flatten(1).numpy()
    np.testing.assert_allclose(ours, projection, atol=1e-4)
    codes = model.encode(splits.train.x).mean
    torch.testing.assert_close(codes.mean(0), torch.zeros(5), atol=1e-4, rtol=0)
    torch.testing.assert_close(codes.var(0), torch.ones(5), atol=2e-3, rtol=0)


def test_pca_is_the_reconstruction_floor_for_linear_models(make_config):
    """Any other rank-k linear projection reconstructs worse than PCA's."""
    model, splits = _fitted_pca(make_config, 4)
    x = splits.train.x.flatten(1)
    best = (model.reconstruct(splits.train.x).flatten(1) - x).pow(2).sum(-1).mean()
    q, _ = torch.linalg.qr(torch.randn(64, 4, generator=torch.Generator().manual_seed(0)))
    center = x.mean(0)
    other = ((x - center) @ q @ q.T + center - x).pow(2).sum(-1).mean()
    assert best < other


def _iwae_model():
    torch.manual_seed(0)
    config = ModelConfig(
        model="iwae", k=1, latent_dim=2, hidden=[16], likelihood="bernoulli", input_shape=[6]
    )
    return build_model(config)


def test_iwae_with_one_sample_is_the_elbo():
    model = _iwae_model()
    x = torch.rand(10, 6).round()
    iwae = model.loss(x, generator=torch.Generator().manual_seed(3))
    elbo = model.elbo(x, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(-iwae.loss, elbo.mean())


def test_iwae_bound_rises_with_k_on_a_fixed_model():
    model = _iwae_model()
    x = torch.rand(200, 6).round()
    gen = torch.Generator().manual_seed(0)
    bounds = []
    for k in (1, 5, 50):
        model.samples = k
        with torch.no_grad():
            bounds.append(float(np.mean([-model.loss(x, generator=gen).loss for _ in range(20)])))
    assert bounds[0] < bounds[1] < bounds[2]


def _hoyer_sparsity(codes: torch.Tensor) -> float:
    """1 for one non-zero entry per code, 0 for all entries equal (Hoyer 2004); scale-free."""
    n = codes.shape[1]
    ratio = codes.abs().sum(1) / codes.norm(dim=1).clamp(min=1e-12)
    return float(((n**0.5 - ratio) / (n**0.5 - 1)).mean())


@pytest.mark.slow
def test_sparse_ae_codes_are_sparser_than_ae_codes(make_config, tmp_path):
    """At l1 = 1 against a Bernoulli reconstruction term (the penalty's weight is relative to
    the likelihood's nats: the digits' 17-level likelihood costs ~4x as many)."""
    sparsity = {}
    for name, extra in (("ae", {}), ("sparse-ae", {"l1": 1.0})):
        model = {"model": name, "latent_dim": 16, "likelihood": "bernoulli", **extra}
        config = make_config(model=model, train={"epochs": 15})
        run = train(config, tmp_path / name)
        codes = run.model.encode(run.data("val").x).mean.detach()
        sparsity[name] = _hoyer_sparsity(codes)
    assert sparsity["sparse-ae"] > sparsity["ae"] + 0.1


def test_denoising_ae_corrupts_only_while_training():
    torch.manual_seed(0)
    config = ModelConfig(
        model="denoising-ae",
        noise="mask",
        noise_level=0.5,
        latent_dim=2,
        hidden=[8],
        likelihood="bernoulli",
        input_shape=[10],
    )
    model = build_model(config)
    x = torch.rand(4, 10)
    masked = model.corrupt(x, model.draw_noise(x, torch.Generator().manual_seed(0)))
    assert 0 < int((masked == 0).sum()) < 40
    model.eval()
    assert model.draw_noise(x) is None  # evaluation draws nothing
    a = model.loss(x, generator=torch.Generator().manual_seed(1)).recon
    b = model.loss(x, generator=torch.Generator().manual_seed(2)).recon
    assert torch.equal(a, b)  # evaluation is on clean inputs


def test_noisy_ae_has_a_fixed_posterior_sigma():
    torch.manual_seed(0)
    config = ModelConfig(
        model="noisy-ae",
        code_sigma=0.3,
        latent_dim=2,
        hidden=[8],
        likelihood="bernoulli",
        input_shape=[10],
    )
    posterior = build_model(config).encode(torch.rand(4, 10))
    torch.testing.assert_close(posterior.std, torch.full((4, 2), 0.3))


def test_gmm_sampler_draws_codes_like_the_training_codes(trained_run):
    from vaekit.models.samplers import GaussianMixtureSampler

    run = vaekit.load(trained_run)
    codes = run.model.encode(run.data("train").x).mean.detach()
    sampler = GaussianMixtureSampler.load(trained_run / "sampler.safetensors")
    drawn = sampler.sample(20000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(drawn.mean(0), codes.mean(0), atol=0.05, rtol=0)
    torch.testing.assert_close(drawn.std(0), codes.std(0), atol=0.05, rtol=0.05)
