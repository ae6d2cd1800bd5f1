import torch

from vaekit.config.model import ModelConfig
from vaekit.models.registry import build_model


def _vae(likelihood: str = "bernoulli", shape=(1, 4, 4)) -> torch.nn.Module:
    torch.manual_seed(0)
    config = ModelConfig(latent_dim=3, hidden=[16], likelihood=likelihood, input_shape=list(shape))
    return build_model(config)


def directional_derivative_matches(model, params, loss, h=1e-6, rtol=1e-5) -> None:
    """autograd's gradient of ``loss()`` along a random direction in ``params`` equals the
    central finite difference of the loss itself (float64; the loss draws fixed noise)."""
    model.double()
    torch.manual_seed(1)
    direction = [torch.randn_like(p) for p in params]
    grads = torch.autograd.grad(loss(), params)
    along = sum((g * d).sum() for g, d in zip(grads, direction, strict=True))
    with torch.no_grad():
        values = []
        for sign in (1, -1):
            for p, d in zip(params, direction, strict=True):
                p.add_(sign * h * d)
            values.append(loss())
            for p, d in zip(params, direction, strict=True):
                p.sub_(sign * h * d)
    assert along.abs() > 1e-3  # the loss does depend on these parameters
    torch.testing.assert_close(along, (values[0] - values[1]) / (2 * h), rtol=rtol, atol=1e-7)


def test_reparameterised_gradients_reach_the_encoder():
    """The encoder's gradient includes the reconstruction's dependence through z (a detached
    draw would leave only the KL's, and the finite difference would disagree)."""
    model = _vae()
    x = torch.rand(8, 1, 4, 4, dtype=torch.float64).round()
    params = list(model.encoder.parameters())

    def loss():
        return model.loss(x, generator=torch.Generator().manual_seed(0)).loss

    directional_derivative_matches(model, params, loss)
    model.float()


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
