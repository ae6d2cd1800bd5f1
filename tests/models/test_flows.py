"""Inverse autoregressive flow posteriors (--posterior iaf, Kingma et al. 2016): the exact
log q(z|x) the estimators use is the base density less the log-determinant autograd finds,
the flow really mixes dimensions, and an iaf run goes through training, resume and every
command."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import vaekit
from vaekit.api import resume, train
from vaekit.cli.main import main
from vaekit.config.model import ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.distributions import DiagonalGaussian, normal_log_density
from vaekit.models.flows import IAF, FlowPosterior
from vaekit.models.registry import build_model


def _flow_posterior(latent: int = 4, steps: int = 3) -> FlowPosterior:
    torch.manual_seed(0)
    flow = IAF(latent, steps, hidden=16, context_dim=5).double()
    for p in flow.parameters():  # away from the near-identity start: a strong test
        torch.nn.init.normal_(p, std=0.4)
    gen = torch.Generator().manual_seed(1)
    base = DiagonalGaussian(
        torch.randn(2, latent, generator=gen, dtype=torch.float64),
        torch.randn(2, latent, generator=gen, dtype=torch.float64),
    )
    return FlowPosterior(base, torch.randn(2, 5, generator=gen, dtype=torch.float64), flow)


def test_the_log_density_is_the_base_density_less_autograds_log_determinant():
    posterior = _flow_posterior()
    eps = torch.randn(2, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    z, log_q = posterior.rsample_with_log_prob(noise=eps)
    for row in range(2):

        def code(e, row=row):  # eps -> z for one example
            noise = eps.clone()
            noise[row] = e
            return posterior.rsample(noise=noise)[row]

        jacobian = torch.autograd.functional.jacobian(code, eps[row])  # (Z, Z)
        _, log_det = torch.linalg.slogdet(jacobian)
        base = normal_log_density(eps[row], 0 * eps[row], 0 * eps[row]).sum()
        torch.testing.assert_close(log_q[row], base - log_det, rtol=0, atol=1e-8)
        # Alternating orders: the map is neither diagonal nor triangular (the test has teeth).
        assert jacobian.triu(1).abs().max() > 1e-3 and jacobian.tril(-1).abs().max() > 1e-3


def test_one_step_is_autoregressive():
    """Output d of a step depends on dimensions before d only: a triangular Jacobian."""
    torch.manual_seed(0)
    flow = IAF(5, 1, hidden=12, context_dim=3)
    context = torch.randn(1, 3)
    jacobian = torch.autograd.functional.jacobian(
        lambda z: flow(z, context)[0][0], torch.randn(1, 5)
    ).reshape(5, 5)
    assert torch.equal(jacobian.triu(1), torch.zeros(5, 5))
    assert jacobian.tril(-1).abs().max() > 0


def test_one_latent_dimension_depends_on_the_context_alone():
    torch.manual_seed(0)
    flow = IAF(1, 2, hidden=8, context_dim=3)
    z, log_scale = flow(torch.randn(4, 1), torch.randn(4, 3))
    assert z.shape == (4, 1) and torch.isfinite(log_scale).all()


def test_the_kl_split_by_dimension_sums_to_the_estimate():
    posterior = _flow_posterior()
    eps = torch.randn(2, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    z, log_q = posterior.rsample_with_log_prob(noise=eps)
    standard = -0.5 * (z.pow(2) + np.log(2 * np.pi)).sum(-1)
    torch.testing.assert_close(posterior.kl_per_dim(noise=eps).sum(-1), log_q - standard)
    prior = DiagonalGaussian(torch.ones(2, 4, dtype=torch.float64), torch.zeros(2, 4).double())
    shifted = normal_log_density(z, prior.mean, prior.logvar).sum(-1)
    torch.testing.assert_close(posterior.kl_per_dim(prior, noise=eps).sum(-1), log_q - shifted)


def _iaf_model(**options) -> torch.nn.Module:
    config = ModelConfig(
        latent_dim=3, hidden=[16], posterior="iaf", flow_hidden=8, input_shape=[1, 8, 8], **options
    )
    torch.manual_seed(0)
    return build_model(config)


def test_the_importance_sampled_likelihood_is_at_least_the_elbo():
    model = _iaf_model(model="iwae", k=4)
    x = torch.rand(8, 1, 8, 8)
    gen = torch.Generator().manual_seed(0)
    elbo = torch.stack([model.elbo(x, generator=gen) for _ in range(200)]).mean(0)
    assert torch.all(model.log_likelihood(x, k=500, generator=gen) >= elbo - 0.05)


def test_under_bf16_autocast_the_log_density_stays_float32():
    model = _iaf_model()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z, log_q = model.encode(torch.rand(4, 1, 8, 8)).rsample_with_log_prob()
    assert z.dtype == torch.float32 and log_q.dtype == torch.float32


def test_free_bits_reach_the_flow():
    model = _iaf_model(model="beta-vae", free_bits=0.5)
    model.loss(torch.rand(5, 1, 8, 8), generator=torch.Generator().manual_seed(0)).loss.backward()
    assert model.flow.steps[0].out.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("options", "explicit", "words"),
    [
        ({"prior": "vamp"}, set(), "vamp needs the diagonal posterior"),
        ({"posterior": "diagonal", "flow_steps": 4}, set(), "only with --posterior iaf"),
        ({"posterior": "full", "flow_hidden": 64}, set(), "only with --posterior iaf"),
        ({"model": "noisy-ae", "posterior": "diagonal"}, {"flow_steps"}, "does not apply"),
    ],
)
def test_combinations_that_cannot_work_are_refused(options, explicit, words):
    with pytest.raises(VaekitError, match=words):
        ModelConfig(**{"posterior": "iaf", **options}).check_applicable(explicit)


def test_an_iaf_run_trains_resumes_bit_exactly_and_every_command_works(
    make_config, tmp_path, capsys
):
    options = {"posterior": "iaf", "flow_hidden": 16}
    straight = train(make_config(model=options, train={"epochs": 3}), tmp_path / "a")
    train(make_config(model=options, train={"epochs": 2}), tmp_path / "b")
    resume(tmp_path / "b", epochs=3)
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert any(k.startswith("flow.") for k in a)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert straight.metrics[-1]["val_elbo"] > straight.metrics[0]["val_elbo"]
    run = vaekit.load(tmp_path / "a")
    mean, logvar = run.encode(run.data("val"))
    assert mean.shape == logvar.shape and np.isfinite(logvar).all()
    assert main(["--quiet", "evaluate", str(tmp_path / "a"), "--k", "20"]) == 0
    assert main(["--quiet", "info", str(tmp_path / "a")]) == 0
    assert "inverse autoregressive flow" in capsys.readouterr().out
