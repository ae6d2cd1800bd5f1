"""Nothing lost, nothing executed: checkpoints survive kills, resumes are bit-exact, errors are
clear and leave earlier files intact."""

import errno
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import vaekit
from vaekit.cli.main import main
from vaekit.core.errors import VaekitError
from vaekit.models.registry import build_model
from vaekit.training.checkpoint import load_checkpoint

# Long enough (about 2 s of training) for a kill to land mid-run.
ARGS = ["--epochs", "30", "--hidden", "256", "--batch-size", "32", "--seed", "3", "--no-report"]


def _weights(run: Path, name: str = "last") -> dict[str, torch.Tensor]:
    return load_file(str(run / f"{name}.safetensors"))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run every interrupted one must match bit for bit."""
    run = tmp_path_factory.mktemp("ref") / "run"
    assert main(["--quiet", "train", "--out", str(run), *ARGS]) == 0
    return run


def _spawn(run: Path, *extra: str, code: str | None = None) -> subprocess.Popen:
    argv = ["--quiet", "train", "--out", str(run), *ARGS, *extra]
    if code is None:
        command = [sys.executable, "-m", "vaekit", *argv]
    else:
        command = [sys.executable, "-c", code + f"\nsys.exit(main({argv!r}))"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _checkpoint_is_loadable(run: Path) -> int:
    """Load the checkpoint into a fresh model and optimiser; return its epoch."""
    config = vaekit.runs.folder.read_config(run)
    model = build_model(config.model)
    optimizer = torch.optim.Adam(model.parameters())
    gens = {"order": torch.Generator(), "noise": torch.Generator()}
    return load_checkpoint(run / "checkpoint.safetensors", model, optimizer, gens, "cpu").epoch


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_writes_a_checkpoint_and_resume_is_bit_identical(sig, reference, tmp_path):
    run = tmp_path / "run"
    child = _spawn(run)
    _wait_for(run / "checkpoint.safetensors")
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + sig, err
    assert "Resume with: vaekit train --resume" in err and "Traceback" not in err
    assert main(["--quiet", "train", "--resume", str(run), "--no-report"]) == 0
    assert _same(_weights(run), _weights(reference))
    assert _same(_weights(run, "model"), _weights(reference, "model"))
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 30


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_the_checkpoint(reference, tmp_path):
    """Kills land at random moments after the first checkpoint (kills before it are covered by
    benchmarks/kill_resume.py): the checkpoint always loads and resuming matches exactly."""
    rng = random.Random(0)
    for trial in range(4):
        run = tmp_path / f"run{trial}"
        child = _spawn(run)
        _wait_for(run / "checkpoint.safetensors")
        time.sleep(rng.uniform(0.0, 1.5))
        child.kill()
        child.wait(timeout=60)
        assert _checkpoint_is_loadable(run) >= 1
        assert main(["--quiet", "train", "--resume", str(run), "--no-report"]) == 0
        assert _same(_weights(run), _weights(reference)), f"trial {trial}"


KILL_DURING_THIRD_CHECKPOINT = """
import os, signal, sys
import vaekit.core.tensorfiles as tensorfiles
from vaekit.cli.main import main
real, calls = tensorfiles.save_file, []
def dying(tensors, filename, metadata=None):
    if "checkpoint" in filename:
        calls.append(filename)
    if len(calls) == 3:  # the temporary file is half written when the process dies
        with open(filename, "wb") as handle:
            handle.write(b"half a checkpoint")
        os.kill(os.getpid(), signal.SIGKILL)
    return real(tensors, filename, metadata=metadata)
tensorfiles.save_file = dying
"""


@pytest.mark.slow
def test_kill_during_the_checkpoint_write_keeps_the_previous_one(reference, tmp_path):
    run = tmp_path / "run"
    child = _spawn(run, code=KILL_DURING_THIRD_CHECKPOINT)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert _checkpoint_is_loadable(run) == 2  # the third write never replaced the second
    assert list(run.glob(".checkpoint.safetensors.*.tmp"))  # the torn temporary file
    assert main(["--quiet", "train", "--resume", str(run), "--no-report"]) == 0
    assert not list(run.glob(".*.tmp"))  # cleaned up on resume
    assert _same(_weights(run), _weights(reference))


def test_resume_can_extend_a_finished_run(tmp_path, make_config):
    from vaekit.api import resume, train

    train(make_config(train={"epochs": 2}), tmp_path / "r")
    run = resume(tmp_path / "r", epochs=4)
    assert [row["epoch"] for row in run.metrics] == [1, 2, 3, 4]
    assert vaekit.runs.folder.read_config(tmp_path / "r").train.epochs == 4


def test_resume_refuses_other_options(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--lr", "0.1"]) == 2
    assert "--resume: takes only --epochs" in capsys.readouterr().err


@pytest.mark.slow
def test_nonfinite_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(
    tmp_path, make_config, monkeypatch
):
    from vaekit.api import train
    from vaekit.models.vae import VAE

    real_loss, calls = VAE.loss, []

    def poisoned(self, x, beta=1.0, generator=None, noise=None, condition=None):
        terms = real_loss(self, x, beta, generator, noise, condition)
        if self.training:
            calls.append(1)
            if len(calls) > 60:  # 26 steps per epoch: poisoned in epoch 3
                terms.loss = terms.loss * float("nan")
        return terms

    monkeypatch.setattr(VAE, "loss", poisoned)
    with pytest.raises(VaekitError, match=r"diverged.*epoch 3.*--lr.*--clip-grad") as err:
        train(make_config(train={"epochs": 5}), tmp_path / "r")
    assert "\n" not in str(err.value)
    assert _checkpoint_is_loadable(tmp_path / "r") == 2
    weights = _weights(tmp_path / "r")
    assert all(torch.isfinite(w).all() for w in weights.values())


@pytest.mark.slow
def test_gradient_clipping_and_logvar_clamp_train(tmp_path, make_config):
    from vaekit.api import train

    config = make_config(train={"epochs": 2, "clip_grad": 1.0}, model={"logvar_clamp": 5.0})
    run = train(config, tmp_path / "r")
    assert run.metrics[-1]["val_elbo"] > run.metrics[0]["val_elbo"] - 1


class _RecordingOptimizer:
    """Stands in for Adam in one training step: records the gradient norm it is handed."""

    def __init__(self, params):
        self.params = list(params)
        self.norms = []

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None

    def step(self):
        self.norms.append(
            float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in self.params])))
        )


@pytest.mark.parametrize("clip", [None, 0.01])
def test_the_step_hands_adam_gradients_clipped_to_the_limit(clip):
    from vaekit.config.model import ModelConfig
    from vaekit.config.run import TrainConfig
    from vaekit.training.step import TrainingStep

    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=2, hidden=[16], input_shape=[1, 8, 8]))
    optimizer = _RecordingOptimizer(model.parameters())
    opts = TrainConfig(clip_grad=clip, compile="off", precision="fp32")
    step = TrainingStep(model, model, optimizer, opts, torch.device("cpu"), torch.Generator())
    step(torch.rand(16, 1, 8, 8).round(), 1.0, torch.zeros(3, dtype=torch.float64))
    if clip is None:
        assert optimizer.norms[0] > 1.0  # the limit below is far under the raw norm
    else:
        assert optimizer.norms[0] == pytest.approx(clip, rel=1e-3)


def test_the_logvar_clamp_bounds_the_posterior_it_gives():
    from vaekit.config.model import ModelConfig

    for clamp, expected in ((5.0, 5.0), (None, 50.0)):
        torch.manual_seed(0)
        config = ModelConfig(latent_dim=2, hidden=[16], input_shape=[1, 8, 8], logvar_clamp=clamp)
        model = build_model(config)
        with torch.no_grad():
            last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
            last.weight.zero_()
            last.bias.fill_(50.0)  # log-variances far beyond the clamp
        logvar = model.encode(torch.rand(4, 1, 8, 8)).logvar
        assert torch.all(logvar == expected)


def test_disk_full_is_a_clear_error_and_earlier_files_survive(tmp_path, make_config, monkeypatch):
    from vaekit.api import resume, train
    from vaekit.core import tensorfiles

    train(make_config(train={"epochs": 2}), tmp_path / "r")
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tensorfiles, "save_file", full)
    with pytest.raises(VaekitError, match="cannot write .No space left on device"):
        resume(tmp_path / "r", epochs=3)
    after = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()}
    for name in ("model.safetensors", "last.safetensors", "checkpoint.safetensors"):
        assert after[name] == before[name]
    assert not list((tmp_path / "r").glob(".*.tmp"))


def test_a_pickle_planted_as_the_checkpoint_is_refused_without_running(
    trained_run, tmp_path, capsys
):
    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "checkpoint.safetensors").write_bytes(pickle.dumps(Boom()))
    (run / "checkpoint.pt").write_bytes(pickle.dumps(Boom()))
    assert main(["train", "--resume", str(run), "--no-report"]) == 2
    captured = capsys.readouterr()
    assert "not a readable checkpoint file" in captured.err and "pwned" not in captured.out


@pytest.mark.slow
def test_same_seed_gives_identical_samples_and_evaluation(tmp_path, make_config):
    from vaekit.api import train
    from vaekit.metrics.likelihood import validation_metrics

    a = train(make_config(), tmp_path / "a")
    b = train(make_config(), tmp_path / "b")
    assert (a.sample(16, seed=4) == b.sample(16, seed=4)).all()
    x = a.data("val").x
    assert validation_metrics(a.model, x) == validation_metrics(b.model, x)
    assert torch.equal(
        a.model.log_likelihood(x, k=50, generator=torch.Generator().manual_seed(0)),
        b.model.log_likelihood(x, k=50, generator=torch.Generator().manual_seed(0)),
    )


@pytest.mark.parametrize(
    "model",
    [
        {"model": "factor-vae", "discriminator_hidden": [32, 32], "latent_dim": 3},
        {"model": "beta-vae", "capacity": 4.0, "latent_dim": 3},
        {"model": "beta-tcvae", "latent_dim": 3},
    ],
    ids=["factor-vae", "capacity", "beta-tcvae"],
)
def test_disentangling_runs_resume_bit_for_bit(model, tmp_path, make_config):
    """FactorVAE's discriminator and its own Adam, and capacity's target, are in the
    checkpoint: two epochs straight and one plus a resumed one give the same bits."""
    from vaekit.api import resume, train

    train(make_config(model=model, train={"epochs": 2, "compile": "off"}), tmp_path / "whole")
    train(make_config(model=model, train={"epochs": 1, "compile": "off"}), tmp_path / "split")
    resume(tmp_path / "split", epochs=2)
    assert _same(_weights(tmp_path / "split"), _weights(tmp_path / "whole"))
    if model["model"] == "factor-vae":
        assert any(k.startswith("discriminator.") for k in _weights(tmp_path / "whole"))
