"""The VampPrior (Tomczak & Welling 2018): p(z) = (1/K) sum_k q(z|u_k) over learned
pseudo-inputs u_k. Its density is torch.distributions' mixture's, its KL estimate agrees with a
Monte-Carlo reference, its draws follow the mixture, and it runs through every command."""

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import distributions as D

import vaekit
from vaekit.api import resume, train
from vaekit.cli.main import main
from vaekit.config.model import ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.distributions import DiagonalGaussian, VampMixture
from vaekit.models.registry import build_model


def _mixture(mean: torch.Tensor, logvar: torch.Tensor) -> D.MixtureSameFamily:
    parts = D.Independent(D.Normal(mean, torch.exp(0.5 * logvar)), 1)
    return D.MixtureSameFamily(D.Categorical(logits=torch.zeros(len(mean))), parts)


def test_the_mixture_density_is_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(7, 3, generator=gen), torch.randn(7, 3, generator=gen) - 1
    z = torch.randn(5, 4, 3, generator=gen) * 2  # extra leading dims, as the IWAE has them
    ours = VampMixture(mean, logvar).log_prob(z)
    assert ours.shape == (5, 4)
    torch.testing.assert_close(ours, _mixture(mean, logvar).log_prob(z), rtol=0, atol=1e-4)


def test_the_density_stays_float32_under_bf16_autocast():
    gen = torch.Generator().manual_seed(1)
    mean, logvar = torch.randn(50, 8, generator=gen), torch.randn(50, 8, generator=gen) - 2
    z = torch.randn(64, 8, generator=gen)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = VampMixture(mean, logvar).log_prob(z)
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, _mixture(mean, logvar).log_prob(z), rtol=0, atol=1e-3)


def _vamp_model(**options) -> torch.nn.Module:
    config = ModelConfig(
        latent_dim=3, hidden=[16], prior="vamp", pseudo_inputs=6, input_shape=[1, 8, 8], **options
    )
    torch.manual_seed(0)
    return build_model(config)


def test_the_kl_estimate_agrees_with_a_monte_carlo_reference():
    """The loss's KL term is log q(z|x) - log p(z) at the reparameterised draw: averaged over
    many draws it is KL(q || p), which torch.distributions estimates independently."""
    model = _vamp_model()
    gen = torch.Generator().manual_seed(2)
    posterior = DiagonalGaussian(torch.randn(4, 3, generator=gen), torch.full((4, 3), -1.0))
    prior = VampMixture(1.5 * torch.randn(6, 3, generator=gen), torch.randn(6, 3, generator=gen))
    draws = 20000
    z, log_q = posterior.rsample_with_log_prob(draws, generator=gen)
    estimate = model._kl(posterior, prior, z, log_q)
    q = D.Independent(D.Normal(posterior.mean, posterior.std), 1)
    z = q.sample((draws,))
    reference = q.log_prob(z) - _mixture(prior.mean, prior.logvar).log_prob(z)
    error = (estimate.std(0).pow(2) + reference.std(0).pow(2)).sqrt() / math.sqrt(draws)
    assert torch.all(reference.mean(0) > 0.5)  # far from a trivial case
    assert torch.all((estimate.mean(0) - reference.mean(0)).abs() < 4 * error)


def test_prior_draws_follow_the_mixture():
    model = _vamp_model()
    with torch.no_grad():  # pseudo-inputs far apart: components with distinct means
        model.pseudo_inputs.mul_(40)
    prior = model.prior()
    mean, var = prior.mean.detach(), torch.exp(prior.logvar.detach())
    assert mean.std(0).min() > 0.3
    z = model.prior_codes(40000, torch.Generator().manual_seed(0))
    mixture_mean = mean.mean(0)
    mixture_var = (var + mean.pow(2)).mean(0) - mixture_mean.pow(2)
    torch.testing.assert_close(z.mean(0), mixture_mean, rtol=0, atol=0.03)
    torch.testing.assert_close(z.var(0), mixture_var, rtol=0.05, atol=0.01)


def test_gradients_reach_the_pseudo_inputs():
    """autograd's gradient for the pseudo-inputs equals the loss's finite difference (a wider
    step and tolerance: the mixture's density is computed in float32 whatever the input)."""
    from test_models import directional_derivative_matches

    model = _vamp_model()
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)

    def loss():
        return model.loss(x, generator=torch.Generator().manual_seed(0)).loss

    directional_derivative_matches(model, [model.pseudo_inputs], loss, h=1e-3, rtol=2e-3)


def test_the_iwae_likelihood_is_at_least_the_elbo():
    model = _vamp_model(model="iwae", k=4)
    x = torch.rand(8, 1, 8, 8)
    gen = torch.Generator().manual_seed(0)
    elbo = torch.stack([model.elbo(x, generator=gen) for _ in range(200)]).mean(0)
    assert torch.all(model.log_likelihood(x, k=500, generator=gen) >= elbo - 0.05)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"posterior": "full"}, "diagonal posterior"),
        ({"model": "beta-vae", "free_bits": 0.5}, "free bits"),
    ],
)
def test_combinations_that_cannot_work_are_refused(options, words):
    with pytest.raises(VaekitError, match=words):
        ModelConfig(prior="vamp", **options).check_applicable()


def test_pseudo_inputs_without_the_vampprior_are_refused():
    with pytest.raises(VaekitError, match="--prior vamp"):
        ModelConfig(pseudo_inputs=20).check_applicable({"pseudo_inputs"})


def test_a_vamp_run_trains_resumes_bit_exactly_and_every_command_works(
    make_config, tmp_path, capsys
):
    options = {"prior": "vamp", "pseudo_inputs": 20}
    straight = train(make_config(model=options, train={"epochs": 3}), tmp_path / "a")
    train(make_config(model=options, train={"epochs": 2}), tmp_path / "b")
    resume(tmp_path / "b", epochs=3)
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert a.keys() == b.keys() and "pseudo_inputs" in a
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.metrics[-1]["val_elbo"] > straight.metrics[0]["val_elbo"]
    run = vaekit.load(tmp_path / "a")
    samples = run.sample(8, seed=0, sampler="prior")
    assert samples.shape == (8, 1, 8, 8) and np.isfinite(samples).all()
    assert np.array_equal(samples, run.sample(8, seed=0, sampler="prior"))
    assert main(["--quiet", "evaluate", str(tmp_path / "a"), "--k", "20"]) == 0
    assert main(["--quiet", "info", str(tmp_path / "a")]) == 0
    assert "VampPrior, a mixture over 20 learned pseudo-inputs" in capsys.readouterr().out


def test_a_conditional_run_refuses_the_vampprior(tmp_path):
    assert (
        main(
            [
                "--quiet",
                "train",
                "--data",
                "penguins",
                "--condition",
                "species",
                "--prior",
                "vamp",
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "r"),
            ]
        )  # fmt: skip
        == 2
    )
