"""Same command, same bits: one training command run in fresh processes — started from a shell
and from Python's subprocess, on a quiet machine and beside processes that keep every core busy
— writes the same weights, optimiser state and random state, bit for bit."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from vaekit.core.tensorfiles import checksum

# Every test here runs subprocesses (torchrun, fresh vaekit processes).
pytestmark = pytest.mark.slow

# The processes a user starts the same command from: a shell, or a Python program. Kept short
# for CI; benchmarks/determinism.py runs the same check 40 times on MNIST.
STARTS = ["shell", "subprocess", "shell-busy", "subprocess-busy"]


def _train(out: Path, start: str) -> None:
    argv = [sys.executable, "-m", "vaekit", "--quiet", "train", "--data", "digits"]
    argv += ["--latent-dim", "4", "--hidden", "64", "--epochs", "2", "--batch-size", "32"]
    argv += ["--no-report", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_"))}
    if start.startswith("shell"):
        done = subprocess.run(["bash", "-c", shlex.join(argv)], env=env, capture_output=True)
    else:
        done = subprocess.run(argv, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def _tensors(out: Path) -> str:
    """A digest of every tensor the run wrote: best and last weights, and the checkpoint's
    weights, Adam moments and random states (not the checkpoint's timings)."""
    return "".join(
        checksum(load_file(str(out / name)))
        for name in ("model.safetensors", "last.safetensors", "checkpoint.safetensors")
    )


@pytest.fixture
def busy_cores():
    """Processes that keep every core busy while they run."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    yield
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


def test_the_same_command_writes_the_same_bits_in_every_process(tmp_path, request):
    results = {}
    for i, start in enumerate(STARTS):
        if start.endswith("busy"):
            request.getfixturevalue("busy_cores")  # started once, kept to the end
        out = tmp_path / f"run{i}"
        _train(out, start)
        results.setdefault(_tensors(out), []).append(start)
    assert len(results) == 1, f"{len(results)} distinct results: {list(results.values())}"
