"""vaekit's Adam is torch.optim.Adam(fused=True), bit for bit, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from vaekit.training.adam import FusedAdam


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


def _steps(net, optimizer, lrs, skip_last_bias=False) -> None:
    gen = torch.Generator().manual_seed(1)
    for lr in lrs:
        optimizer.param_groups[0]["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        net(torch.randn(4, 6, generator=gen)).square().sum().backward()
        if skip_last_bias:
            net[2].bias.grad = None  # a parameter without a gradient is skipped
        optimizer.step()


def test_the_same_bits_as_torchs_fused_adam_with_a_changing_rate_and_a_skipped_parameter():
    ours, theirs = _net(), _net()
    mine = FusedAdam(ours.parameters(), lr=1e-2)
    torchs = torch.optim.Adam(theirs.parameters(), lr=1e-2, fused=True)
    for net, optimizer in ((ours, mine), (theirs, torchs)):
        _steps(net, optimizer, [1e-2, 1e-2, 3e-3], skip_last_bias=True)
        _steps(net, optimizer, [1e-3])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(mine.state[p][key], torchs.state[q][key])
    assert float(mine.state[ours[2].bias]["step"]) == 1  # skipped three times, as torch does


def test_a_state_dict_of_torchs_adam_continues_bit_for_bit():
    theirs, ours = _net(), _net()
    torchs = torch.optim.Adam(theirs.parameters(), lr=1e-2, fused=True)
    _steps(theirs, torchs, [1e-2, 1e-2])
    ours.load_state_dict(theirs.state_dict())
    mine = FusedAdam(ours.parameters(), lr=5.0)
    mine.load_state_dict(torchs.state_dict())
    assert mine.param_groups[0]["lr"] == 1e-2
    _steps(theirs, torchs, [1e-2])
    _steps(ours, mine, [1e-2])
    pairs = zip(ours.parameters(), theirs.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)


@pytest.mark.slow
def test_training_never_imports_the_compiler(tmp_path):
    code = (
        "import sys, vaekit, vaekit.core.progress as p; p.QUIET = True\n"
        "from vaekit.config.run import RunConfig\n"
        "c = RunConfig.from_dict({'data': {'source': 'digits'}, 'train': {'epochs': 1}})\n"
        "vaekit.train(c, sys.argv[1], force=True)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # importing it costs every `vaekit train` 2 s


def test_two_groups_with_their_own_rates_and_betas_match_torchs_adam_and_its_state_dict():
    """FactorVAE's discriminator learns by its own Adam: a second group, as torch's."""
    ours, theirs = _net(), _net()

    def groups(net):
        return [
            {"params": list(net[0].parameters())},
            {"params": list(net[2].parameters()), "lr": 1e-4, "betas": (0.5, 0.9)},
        ]

    mine = FusedAdam(groups(ours), lr=1e-2)
    torchs = torch.optim.Adam(groups(theirs), lr=1e-2, fused=True)
    for net, optimizer in ((ours, mine), (theirs, torchs)):
        _steps(net, optimizer, [1e-2, 3e-3])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)
    assert mine.param_groups[1]["lr"] == 1e-4  # the schedule moves the first group only
    copy = FusedAdam(groups(_net()), lr=1.0)
    copy.load_state_dict(torchs.state_dict())
    assert copy.param_groups[1]["betas"] == (0.5, 0.9)
    with pytest.raises(ValueError, match="groups"):
        FusedAdam(_net().parameters(), lr=1.0).load_state_dict(torchs.state_dict())
