import math

import pytest
import torch

from vaekit.config.model import ModelConfig
from vaekit.models.objectives import beta_at, iwae_bound, kl_penalty


def test_constant_schedule():
    config = ModelConfig(model="beta-vae", beta=2.0)
    assert [beta_at(s, 100, config) for s in (0, 50, 99)] == [2.0, 2.0, 2.0]


def test_beta_vae_defaults_to_beta_four_and_vae_to_one():
    assert ModelConfig(model="beta-vae").resolved_beta() == 4.0
    assert ModelConfig(model="vae").resolved_beta() == 1.0


def test_linear_warmup_schedule():
    config = ModelConfig(model="beta-vae", beta=1.0, beta_schedule="linear", warmup_steps=10)
    values = [beta_at(s, 100, config) for s in (0, 5, 10, 50)]
    assert values == pytest.approx([0.0, 0.5, 1.0, 1.0])


def test_cyclical_schedule():
    config = ModelConfig(
        model="beta-vae", beta=1.0, beta_schedule="cyclical", cycles=2, cycle_ratio=0.5
    )
    # 100 steps, 2 cycles of 50: rise over the first 25 steps of each, then hold.
    steps = (0, 10, 25, 40, 50, 60, 75, 99)
    values = [beta_at(s, 100, config) for s in steps]
    assert values == pytest.approx([0.0, 0.4, 1.0, 1.0, 0.0, 0.4, 1.0, 1.0])


def test_free_bits_floor_each_dimension():
    kl = torch.tensor([[0.1, 2.0], [0.3, 4.0]])  # batch means: 0.2, 3.0
    penalty = kl_penalty(kl, free_bits=0.5)
    assert torch.allclose(penalty, torch.tensor([3.5, 3.5]))
    assert torch.allclose(kl_penalty(kl, 0.0), kl.sum(-1))


def test_iwae_bound_of_one_sample_is_its_log_weight():
    log_w = torch.randn(1, 7)
    torch.testing.assert_close(iwae_bound(log_w), log_w[0])


def test_iwae_bound_is_stable_for_very_negative_weights():
    log_w = torch.full((3, 2), -1e4)
    torch.testing.assert_close(iwae_bound(log_w), torch.full((2,), -1e4))
    assert math.isfinite(float(iwae_bound(torch.tensor([[-1e30], [0.0]]))[0]))
