"""The discretised logistic likelihood: a probability over the stored grey levels."""

import pytest
import torch
from torch.distributions import TransformedDistribution, Uniform
from torch.distributions.transforms import AffineTransform, SigmoidTransform

from vaekit.models.discretised import DiscretisedLogistic


def _likelihood(levels: int, step: float, dtype=torch.float64) -> DiscretisedLogistic:
    gen = torch.Generator().manual_seed(0)
    loc = torch.rand(4, 1, 3, 3, generator=gen, dtype=dtype) * 1.4 - 0.2
    scale = torch.rand(4, 1, 3, 3, generator=gen, dtype=dtype) * 0.2 + 0.004
    return DiscretisedLogistic(loc, scale, 3, levels, step)


@pytest.mark.parametrize(("levels", "step"), [(256, 1 / 255), (256, 1 / 256), (17, 1 / 16)])
def test_the_levels_probabilities_sum_to_one(levels, step):
    d = _likelihood(levels, step)
    total = sum(d.log_prob_values(torch.full_like(d.loc, k * step)).exp() for k in range(levels))
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-9, rtol=0)


def test_a_level_has_the_logistic_mass_of_its_interval():
    """Against torch.distributions' logistic (a sigmoid-transformed uniform): a middle level
    owns [x - step/2, x + step/2], the first and last reach to -inf and +inf."""
    d = _likelihood(17, 1 / 16)
    base = TransformedDistribution(
        Uniform(torch.zeros_like(d.loc), torch.ones_like(d.loc)),
        [SigmoidTransform().inv, AffineTransform(d.loc, d.scale)],
    )

    def cdf(v):
        return base.cdf(torch.as_tensor(v, dtype=d.loc.dtype).expand_as(d.loc))

    half = 0.5 / 16
    for k, expected in [
        (0, cdf(half)),
        (7, cdf(7 / 16 + half) - cdf(7 / 16 - half)),
        (16, 1 - cdf(1 - half)),
    ]:
        got = d.log_prob_values(torch.full_like(d.loc, k / 16)).exp().reshape_as(d.loc)
        torch.testing.assert_close(got, expected)


def test_values_off_the_grid_are_scored_at_their_nearest_level():
    d = _likelihood(256, 1 / 255)
    on_grid = torch.full_like(d.loc, 100 / 255)
    nudged = on_grid + 0.3 / 255
    torch.testing.assert_close(d.log_prob(nudged), d.log_prob(on_grid))
    below, above = torch.full_like(d.loc, -0.5), torch.full_like(d.loc, 7.0)
    torch.testing.assert_close(d.log_prob(below), d.log_prob(torch.zeros_like(d.loc)))
    torch.testing.assert_close(d.log_prob(above), d.log_prob(torch.ones_like(d.loc)))


def test_narrow_scales_stay_finite_with_finite_gradients():
    """A scale far below a level's width, and locations far off the grid, in float32."""
    loc = torch.tensor([-30.0, 0.5, 0.5, 40.0], requires_grad=True)
    scale = torch.tensor([1e-6, 1e-6, 3.0, 1e-6], requires_grad=True)
    d = DiscretisedLogistic(loc, scale, 1, 256, 1 / 255)
    x = torch.tensor([0.0, 0.5 + 0.5 / 255, 0.25, 1.0])
    values = d.log_prob_values(x)
    values.sum().backward()
    assert torch.isfinite(values).all() and (values <= 0).all()
    assert torch.isfinite(loc.grad).all() and torch.isfinite(scale.grad).all()


def test_samples_lie_on_the_grid_at_the_levels_probabilities():
    loc, scale = torch.full((200_000,), 0.5), torch.full((200_000,), 0.1)
    d = DiscretisedLogistic(loc, scale, 1, 17, 1 / 16)
    x = d.sample(torch.Generator().manual_seed(0))
    levels = x * 16
    torch.testing.assert_close(levels, levels.round())
    counts = torch.bincount(levels.round().long(), minlength=17).double() / len(x)
    grid = torch.arange(17, dtype=torch.float32)[:, None] / 16
    one = DiscretisedLogistic(loc[:1], scale[:1], 1, 17, 1 / 16)
    expected = torch.stack([one.log_prob_values(g).exp()[0] for g in grid]).double()
    torch.testing.assert_close(counts, expected, atol=3e-3, rtol=0)
    assert torch.equal(d.mean, loc)


def test_a_config_without_levels_is_refused_in_one_line():
    """A hand-edited config.json (levels 1) fails when the model is built, not mid-score."""
    from vaekit.config.model import ModelConfig
    from vaekit.core.errors import VaekitError
    from vaekit.models.registry import build_model

    config = ModelConfig(
        likelihood="discretised", levels=1, level_step=1 / 255, input_shape=[1, 4, 4]
    )
    with pytest.raises(VaekitError, match="model.levels 1 / model.level_step") as err:
        build_model(config)
    assert "\n" not in str(err.value)
    config.levels = 256
    assert build_model(config).pixel_log_scale.shape == (1, 4, 4)
