"""The thread rule: one thread for small steps or when no core is free, one per free core
otherwise; --threads overrides it (0 or more than the cores: one line); the choice is recorded;
the weights are the same bits whatever the thread count."""

import pytest
import torch
from safetensors.torch import load_file

from vaekit.api import train
from vaekit.cli.main import main
from vaekit.config.run import TrainConfig
from vaekit.core.errors import VaekitError
from vaekit.training.threads import choose_threads, cores_here, resolve_threads, using_threads


@pytest.mark.parametrize(
    ("gflop", "cores", "busy", "threads"),
    [
        (0.01, 2, 0.0, 1),  # too small to share
        (0.5, 2, 0.0, 2),  # every core free
        (0.5, 2, None, 2),  # unknown use: taken as free
        (0.5, 2, 2.0, 1),  # both busy: one thread, never zero
        (0.5, 8, 2.6, 5),  # three busy of eight
    ],
)
def test_the_rule_follows_the_step_and_the_free_cores(gflop, cores, busy, threads):
    chosen, why = choose_threads(gflop, cores, busy)
    assert chosen == threads and why.startswith(f"{threads} thread")


def test_the_users_count_is_kept_and_checked():
    opts = TrainConfig(threads=1)
    assert resolve_threads(opts, 9.9, torch.device("cpu")) == "" and opts.threads == 1
    with pytest.raises(VaekitError, match=f"--threads: {cores_here() + 1} is more than"):
        resolve_threads(TrainConfig(threads=cores_here() + 1), 1.0, torch.device("cpu"))


def test_threads_are_put_back_after_the_block():
    before = torch.get_num_threads()
    with using_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_zero_threads_is_one_line(capsys):
    assert main(["train", "--data", "digits", "--threads", "0", "--out", "x"]) == 2
    assert capsys.readouterr().err.strip() == "vaekit: error: --threads: must be >= 1, got 0"


@pytest.mark.skipif(cores_here() < 2, reason="needs two cores")
def test_the_same_bits_with_one_thread_or_two(make_config, tmp_path):
    weights = []
    for threads in (1, 2):
        config = make_config(train={"epochs": 2, "threads": threads}, model={"hidden": [256]})
        run = train(config, tmp_path / f"t{threads}")
        assert run.config.train.threads == threads  # recorded
        weights.append(load_file(str(tmp_path / f"t{threads}" / "model.safetensors")))
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_the_rules_choice_is_recorded(make_config, tmp_path):
    run = train(make_config(train={"epochs": 1}), tmp_path / "r")
    assert run.config.train.threads == 1  # the test model's step is far below sharing size
