"""The two-stochastic-layer VAE (--lower-latent-dim, Burda et al. 2015): on a linear Gaussian
chain whose posterior it can represent exactly, its ELBO and importance-sampled likelihood equal
the exact log p(x); elsewhere the likelihood bounds the ELBO; runs train, resume and evaluate."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import vaekit
from vaekit.api import resume, train
from vaekit.cli.main import main
from vaekit.config.model import ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.registry import build_model
from vaekit.models.two_layer import TwoLayerVAE


def _linear_chain() -> tuple[TwoLayerVAE, dict[str, torch.Tensor]]:
    """Three independent scalar chains z2 -> z1 -> x, all linear Gaussian, with every network
    linear (no hidden layers), set to the exact model and its exact posterior
    q(z1|x) = p(z1|x), q(z2|z1) = p(z2|z1) (z2 and x are independent given z1)."""
    config = ModelConfig(
        latent_dim=3,
        lower_latent_dim=3,
        hidden=[],
        lower_hidden=[],
        likelihood="gaussian",
        sigma=0.5,
        input_shape=[3],
    )
    model = build_model(config).double()
    a, shift_a = torch.tensor([1.5, -0.7, 0.3]), torch.tensor([0.2, -1.0, 0.5])  # z1 = a z2 + ..
    s2 = torch.tensor([0.4, 0.9, 0.25])  # Var(z1 | z2)
    b, shift_b = torch.tensor([2.0, 0.5, -1.2]), torch.tensor([0.0, 0.3, -0.4])  # x = b z1 + ..
    noise = config.sigma**2
    var1 = a.pow(2) + s2  # the marginal of z1
    post1 = 1 / (1 / var1 + b.pow(2) / noise)  # Var(z1 | x)
    post2 = 1 / (1 + a.pow(2) / s2)  # Var(z2 | z1)
    layers = {
        model.upper_decoder[0]: (a, shift_a, torch.zeros(3), s2.log()),
        model.decoder.net[0]: (b, shift_b, None, None),
        model.encoder.net[0]: (
            post1 * b / noise,
            post1 * (shift_a / var1 - b * shift_b / noise),
            torch.zeros(3),
            post1.log(),
        ),
        model.upper_encoder[0]: (
            post2 * a / s2,
            -post2 * a * shift_a / s2,
            torch.zeros(3),
            post2.log(),
        ),
    }
    with torch.no_grad():
        for layer, (w_mean, b_mean, w_logvar, b_logvar) in layers.items():
            layer.weight.zero_()
            layer.weight[:3, :3] = torch.diag(w_mean)
            layer.bias[:3] = b_mean
            if w_logvar is not None:
                layer.bias[3:] = b_logvar
    marginal = {"mean": b * shift_a + shift_b, "var": b.pow(2) * var1 + noise}
    return model, marginal


def test_on_a_linear_gaussian_chain_both_estimates_are_the_exact_likelihood():
    model, marginal = _linear_chain()
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2
    exact = torch.distributions.Normal(marginal["mean"], marginal["var"].sqrt()).log_prob(x)
    exact = exact.sum(-1)
    gen = torch.Generator().manual_seed(1)
    torch.testing.assert_close(model.log_likelihood(x, k=7, chunk=3, generator=gen), exact)
    torch.testing.assert_close(model.elbo(x, generator=gen), exact)
    # The training ELBO takes the top layer's KL in closed form: exact on average over draws.
    terms = model.loss(x.repeat(40000, 1), generator=gen)
    elbo = -(terms.recon + terms.kl).reshape(40000, 5)
    error = 4 * elbo.std(0) / math.sqrt(40000)
    assert torch.all((elbo.mean(0) - exact).abs() < error) and torch.all(error < 0.05)


def test_off_the_exact_posterior_the_likelihood_bounds_the_elbo_and_is_below_exact():
    model, marginal = _linear_chain()
    with torch.no_grad():
        model.encoder.net[0].bias[:3] += 0.3  # a wrong posterior mean: the bound loosens
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = torch.distributions.Normal(marginal["mean"], marginal["var"].sqrt()).log_prob(x)
    gen = torch.Generator().manual_seed(1)
    elbo = torch.stack([model.elbo(x, generator=gen) for _ in range(400)]).mean(0)
    likelihood = model.log_likelihood(x, k=64000, chunk=8000, generator=gen)
    assert torch.all(elbo < exact.sum(-1) - 0.1)  # the test has a gap to close
    assert torch.all(likelihood > elbo)
    torch.testing.assert_close(likelihood, exact.sum(-1), rtol=0, atol=0.05)


def _model(**options) -> TwoLayerVAE:
    config = ModelConfig(
        latent_dim=2, lower_latent_dim=4, hidden=[16], lower_hidden=[8], input_shape=[1, 8, 8]
    )
    for key, value in options.items():
        setattr(config, key, value)
    torch.manual_seed(0)
    return build_model(config)


def test_the_iwae_training_bound_weighs_draws_as_the_likelihood_estimate_does():
    """The training loss (per-dimension KL parts) and log_likelihood (whole densities) compute
    the same log-weights two ways: the K-sample bound must agree."""
    x = torch.rand(5, 1, 8, 8)
    model = _model(model="iwae", k=3)
    noise = torch.randn(3, 5, 6, generator=torch.Generator().manual_seed(0))
    bound = model.loss(x, noise=noise).loss
    expected = -(model._log_weights(x, noise, None).logsumexp(0) - math.log(3)).mean()
    torch.testing.assert_close(bound, expected)


def test_samples_vary_through_the_lower_layer():
    model = _model()
    gen = torch.Generator().manual_seed(0)
    drawn = model.sample(4, generator=gen)
    assert drawn.shape == (4, 1, 8, 8)
    assert not torch.equal(drawn, model.sample(4, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize(
    ("options", "explicit", "words"),
    [
        ({"lower_latent_dim": 10, "posterior": "full"}, set(), "diagonal Gaussian layers"),
        ({"lower_latent_dim": 10, "prior": "vamp"}, set(), "vamp is for one-layer"),
        ({"lower_hidden": [50]}, set(), "only with --lower-latent-dim"),
        ({"model": "ae"}, {"lower_latent_dim"}, "does not apply"),
    ],
)
def test_combinations_that_cannot_work_are_refused(options, explicit, words):
    with pytest.raises(VaekitError, match=words):
        ModelConfig(**options).check_applicable(explicit)


def test_a_two_layer_iwae_trains_resumes_bit_exactly_and_evaluates(make_config, tmp_path, capsys):
    options = {"model": "iwae", "k": 3, "lower_latent_dim": 6, "lower_hidden": [12]}
    straight = train(make_config(model=options, train={"epochs": 3}), tmp_path / "a")
    train(make_config(model=options, train={"epochs": 2}), tmp_path / "b")
    resume(tmp_path / "b", epochs=3)
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert any(k.startswith("upper_encoder.") for k in a)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert straight.metrics[-1]["val_elbo"] > straight.metrics[0]["val_elbo"]
    run = vaekit.load(tmp_path / "a")
    samples = run.sample(6, seed=0, sampler="prior")
    assert samples.shape == (6, 1, 8, 8) and np.isfinite(samples).all()
    assert main(["evaluate", str(tmp_path / "a"), "--k", "20"]) == 0
    assert "lower layer z1" in capsys.readouterr().out


def test_a_conditional_two_layer_run_trains_and_scores(tmp_path):
    out = tmp_path / "r"
    common = ["--quiet", "train", "--data", "penguins", "--condition", "species"]
    options = ["--lower-latent-dim", "4", "--prior", "conditional", "--epochs", "2", "--no-report"]
    assert main([*common, *options, "--out", str(out)]) == 0
    scores_csv = tmp_path / "s.csv"
    assert main(["--quiet", "score", str(out), "--data", "penguins", "--out", str(scores_csv)]) == 0
    written = pd.read_csv(scores_csv)
    expected = vaekit.load(out).score("penguins", k=1000, seed=0)  # the command's defaults
    assert len(written) == 344 and list(written["row"]) == list(range(344))
    np.testing.assert_allclose(written["score"], expected, rtol=1e-6)
    assert np.isfinite(expected).all() and expected.std() > 0


def test_the_log_variance_clamp_holds_both_posterior_layers():
    model = _model(logvar_clamp=0.5)
    with torch.no_grad():
        for layer in (model.encoder.net[-1], model.upper_encoder[-1]):
            layer.bias.fill_(3.0)  # log-variances far above the clamp
    q1 = model.lower_posterior(torch.rand(4, 1, 8, 8))
    q2 = model.upper_posterior(q1.mean)
    assert q1.logvar.max() == 0.5 and q2.logvar.max() == 0.5
