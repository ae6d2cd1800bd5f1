import torch

from vaekit.config.run import ModelConfig
from vaekit.models.registry import build_model


def _vae(likelihood: str = "bernoulli", shape=(1, 4, 4)) -> torch.nn.Module:
    torch.manual_seed(0)
    config = ModelConfig(latent_dim=3, hidden=[16], likelihood=likelihood, input_shape=list(shape))
    return build_model(config)


def test_reparameterised_gradients_reach_the_encoder():
    model = _vae()
    x = torch.rand(8, 1, 4, 4).round()
    model.loss(x).loss.backward()
    for name, param in model.encoder.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_loss_terms_are_per_example_and_add_up():
    model = _vae()
    x = torch.rand(8, 1, 4, 4)
    terms = model.loss(x, beta=0.5, generator=torch.Generator().manual_seed(0))
    assert terms.recon.shape == terms.kl.shape == (8,)
    torch.testing.assert_close(terms.loss, (terms.recon + 0.5 * terms.kl).mean())
    assert torch.all(terms.kl >= 0)


def test_sample_and_reconstruct_have_the_data_shape_and_range():
    model = _vae()
    samples = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, 1, 4, 4)
    assert samples.min() >= 0 and samples.max() <= 1
    recon = model.reconstruct(torch.rand(3, 1, 4, 4))
    assert recon.shape == (3, 1, 4, 4)


def test_sampling_is_reproducible_with_a_seed():
    model = _vae("gaussian", shape=(6,))
    a = model.sample(4, generator=torch.Generator().manual_seed(7))
    b = model.sample(4, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_importance_sampled_likelihood_is_above_the_elbo():
    model = _vae()
    x = torch.rand(64, 1, 4, 4).round()
    gen = torch.Generator().manual_seed(0)
    elbo = torch.stack([model.elbo(x, generator=gen) for _ in range(50)]).mean(0)
    log_px = model.log_likelihood(x, k=500, chunk=128, generator=gen)
    assert log_px.shape == (64,)
    assert (log_px - elbo).mean() > 0
