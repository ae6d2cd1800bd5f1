import copy
import dataclasses
import json
import sys

import pytest
import torch
from safetensors.torch import load_file

from vaekit.api import resume, train
from vaekit.config.run import TrainConfig
from vaekit.core import progress
from vaekit.core.errors import VaekitError
from vaekit.core.numerics import cpu_has_native_bf16, denormals_flushed, flushing_denormals
from vaekit.data.splits import load_splits
from vaekit.metrics.likelihood import validation_metrics
from vaekit.models.registry import build_model
from vaekit.runs.run import load
from vaekit.training.loop import lr_at
from vaekit.training.setup import pick_device, resolve_model_config
from vaekit.training.step import CompiledStep, TrainingStep, build_optimizer, training_step


def test_training_raises_the_validation_elbo_far_above_the_untrained_model(make_config, tmp_path):
    config = make_config(train={"epochs": 8})
    run = train(config, tmp_path / "run")
    history = run.metrics
    assert len(history) == 8
    assert history[-1]["val_elbo"] > history[0]["val_elbo"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    splits = load_splits(config.data)
    torch.manual_seed(0)
    untrained = build_model(config.model)
    before = validation_metrics(untrained, splits.val.x)["elbo"]
    after = validation_metrics(run.model, splits.val.x)["elbo"]
    assert before < -40  # about 64 * log 2 nats for an untrained Bernoulli decoder
    assert after > before + 15  # nats per example


def test_same_seed_gives_bit_identical_weights(make_config, tmp_path):
    train(make_config(), tmp_path / "a")
    train(make_config(), tmp_path / "b")
    a = load_file(str(tmp_path / "a" / "last.safetensors"))
    b = load_file(str(tmp_path / "b" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    train(make_config(train={"seed": 1}), tmp_path / "c")
    c = load_file(str(tmp_path / "c" / "last.safetensors"))
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_run_folder_has_every_promised_file(trained_run):
    for name in (
        "config.json",
        "model.safetensors",
        "last.safetensors",
        "metrics.jsonl",
        "summary.json",
        "reconstructions.png",
        "samples.png",
    ):
        assert (trained_run / name).stat().st_size > 0, name
    rows = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert {
        "epoch",
        "train_loss",
        "train_recon",
        "train_kl",
        "val_elbo",
        "val_recon",
        "val_kl",
        "seconds",
    } <= set(rows[0])
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["best"] == {"metric": "val_elbo", "value": max(r["val_elbo"] for r in rows)}


def test_dynamic_binarisation_trains(make_config, tmp_path):
    run = train(make_config(data={"binarize": "dynamic"}, train={"epochs": 2}), tmp_path / "r")
    assert len(run.metrics) == 2


@pytest.mark.slow
def test_gaussian_decoder_on_tabular_data(make_config, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    latent = rng.normal(size=(300, 2))
    table = latent @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(300, 6)) + 4.0
    np.save(tmp_path / "t.npy", table)
    config = make_config(
        model={"likelihood": "gaussian"},
        data={"source": str(tmp_path / "t.npy")},
        train={"epochs": 30},
    )
    run = train(config, tmp_path / "r")
    assert run.config.model.likelihood == "gaussian"
    assert run.metrics[-1]["val_elbo"] > run.metrics[0]["val_elbo"]
    samples = run.sample(50, seed=0)  # a DataFrame in the file's own units
    assert list(samples.columns) == [f"x{i}" for i in range(6)]
    assert samples.shape == (50, 6) and abs(samples.to_numpy().mean() - 4.0) < 1.0


def test_bernoulli_decoder_refuses_data_outside_unit_range(make_config, tmp_path):
    import numpy as np

    from vaekit.core.errors import VaekitError

    np.save(tmp_path / "t.npy", np.linspace(-1, 3, 40).reshape(10, 4))
    config = make_config(
        data={"source": str(tmp_path / "t.npy")}, model={"likelihood": "bernoulli"}
    )
    with pytest.raises(VaekitError, match=r"outside \[0, 1\].*--likelihood gaussian"):
        train(config, tmp_path / "r")
    assert not (tmp_path / "r").exists()  # nothing written for bad input


def test_auto_likelihood_is_resolved_from_the_data(make_config, tmp_path):
    """Grey levels: the discretised logistic at the schema's levels (digits: 0..16, 17 levels
    of 1/16); binarised training, 0/1 images and nearly binary ones (80 % of pixels within a
    tenth of black or white, like MNIST): Bernoulli; values outside [0, 1]: Gaussian."""
    import numpy as np

    config = make_config()
    splits = load_splits(config.data)
    assert splits.schema.near_binary == 0.6532  # 65 % of the digits' pixels are 0, 1, 15 or 16
    resolve_model_config(config, splits)
    model = config.model
    assert (model.likelihood, model.levels, model.level_step) == ("discretised", 17, 1 / 16)
    assert model.input_shape == [1, 8, 8]
    config = make_config(data={"binarize": "dynamic"})
    resolve_model_config(config, load_splits(config.data))
    assert config.model.likelihood == "bernoulli"
    rng = np.random.default_rng(0)
    files = {
        "binary.npy": (rng.random((40, 1, 8, 8)) < 0.3).astype(np.float32),
        "eight_bit.npy": rng.integers(0, 256, (40, 1, 8, 8), dtype=np.uint8),
        "floats.npy": rng.random((40, 1, 8, 8)).astype(np.float32),
        "wide.npy": 3 * rng.standard_normal((40, 1, 8, 8)).astype(np.float32),
        # strokes: 85 % of pixels black or white, the rest grey
        "strokes.npy": np.where(
            rng.random((40, 1, 8, 8)) < 0.85,
            255 * (rng.random((40, 1, 8, 8)) < 0.2),
            rng.integers(30, 220, (40, 1, 8, 8)),
        ).astype(np.uint8),
    }
    found = {}
    for name, values in files.items():
        np.save(tmp_path / name, values)
        config = make_config(data={"source": str(tmp_path / name)})
        resolve_model_config(config, load_splits(config.data))
        found[name] = (config.model.likelihood, config.model.levels, config.model.level_step)
    assert found == {
        "binary.npy": ("bernoulli", 0, 0.0),
        "eight_bit.npy": ("discretised", 256, 1 / 255),
        "floats.npy": ("discretised", 256, 1 / 255),
        "wide.npy": ("gaussian", 0, 0.0),
        "strokes.npy": ("bernoulli", 0, 0.0),
    }


def test_discretised_likelihood_needs_grey_levels(make_config, tmp_path):
    import numpy as np

    from vaekit.core.errors import VaekitError

    np.save(tmp_path / "t.npy", np.linspace(-1, 3, 40).reshape(10, 4))
    config = make_config(
        data={"source": str(tmp_path / "t.npy")}, model={"likelihood": "discretised"}
    )
    with pytest.raises(VaekitError, match="--likelihood discretised: these data have no grey"):
        train(config, tmp_path / "r")
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_bf16_precision_trains_on_cpu_close_to_fp32(make_config, tmp_path):
    """The mixed-precision code path (used on GPUs) runs on the CPU too: bf16 matrix products
    under autocast, likelihoods in float32."""
    fp32 = train(make_config(train={"epochs": 6}), tmp_path / "fp32")
    bf16 = train(make_config(train={"epochs": 6, "precision": "bf16"}), tmp_path / "bf16")
    a, b = fp32.metrics[-1]["val_elbo"], bf16.metrics[-1]["val_elbo"]
    assert bf16.metrics[-1]["val_elbo"] > bf16.metrics[0]["val_elbo"]
    assert abs(a - b) < 0.05 * abs(a)


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 fma\n")
    assert cpu_has_native_bf16(str(info)) is True
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw fma\n")
    assert cpu_has_native_bf16(str(info)) is False
    info.write_text("processor\t: 0\n")  # no flags line: unknown, not "no"
    assert cpu_has_native_bf16(str(info)) is None
    assert cpu_has_native_bf16(str(tmp_path / "missing")) is None


def test_bf16_on_a_cpu_without_bf16_instructions_says_it_will_be_slow(
    make_config, tmp_path, monkeypatch, capsys
):
    training = sys.modules["vaekit.training.loop"]  # the module (vaekit.train: the function)
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(progress, "QUIET", False)
    train(make_config(train={"epochs": 1, "precision": "bf16"}), tmp_path / "r")
    assert "no bfloat16 matrix instructions" in capsys.readouterr().err
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    train(make_config(train={"epochs": 1, "precision": "bf16"}), tmp_path / "s")
    assert "bfloat16" not in capsys.readouterr().err


def test_resuming_a_finished_run_with_fewer_epochs_says_how_to_train_longer(
    make_config, tmp_path, monkeypatch, capsys
):
    train(make_config(train={"epochs": 2}), tmp_path / "r")
    monkeypatch.setattr(progress, "QUIET", False)
    capsys.readouterr()
    run = resume(tmp_path / "r", epochs=1)
    hint = (
        "nothing to do: 2 of 1 epochs are done; to train longer, pass a larger --epochs "
        "(e.g. --epochs 3)"
    )
    assert hint in capsys.readouterr().err.splitlines()  # one line of its own
    assert [row["epoch"] for row in run.metrics] == [1, 2]  # nothing trained


@pytest.mark.parametrize("schedule", ["cosine", "exponential"])
def test_learning_rate_schedules_run_from_lr_to_lr_final(schedule):
    opts = TrainConfig(lr=1e-3, lr_schedule=schedule, lr_final=1e-5)
    curve = [lr_at(step, 101, opts) for step in range(101)]
    assert curve[0] == pytest.approx(1e-3) and curve[-1] == pytest.approx(1e-5)
    assert all(a > b for a, b in zip(curve, curve[1:], strict=False))
    if schedule == "exponential":  # geometric: the middle is the geometric mean
        assert curve[50] == pytest.approx(1e-4)
    else:  # cosine: the middle is the arithmetic mean
        assert curve[50] == pytest.approx((1e-3 + 1e-5) / 2)
    assert lr_at(7, 101, TrainConfig(lr=3e-4)) == 3e-4  # constant


def test_a_scheduled_run_records_its_decaying_learning_rate(make_config, tmp_path):
    run = train(
        make_config(train={"epochs": 4, "lr_schedule": "exponential", "lr_final": 1e-5}),
        tmp_path / "run",
    )
    rates = [row["lr"] for row in run.metrics]
    assert rates == sorted(rates, reverse=True) and rates[-1] == pytest.approx(1e-5)
    # A schedule that stays at lr is the constant schedule, bit for bit.
    flat = make_config(train={"epochs": 2, "lr_schedule": "cosine", "lr_final": 1e-3})
    train(flat, tmp_path / "flat")
    train(make_config(train={"epochs": 2}), tmp_path / "constant")
    a = load_file(str(tmp_path / "flat" / "last.safetensors"))
    b = load_file(str(tmp_path / "constant" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_init_from_starts_from_another_runs_weights(make_config, trained_run, tmp_path):
    base = make_config(train={"epochs": 1, "lr": 1e-6})
    scratch = train(base, tmp_path / "scratch")
    tuned = make_config(train={"epochs": 1, "lr": 1e-6, "init_from": str(trained_run)})
    tuned_run = train(tuned, tmp_path / "tuned")
    # One epoch at a tiny learning rate: the fine-tuned run is still the trained model.
    before = validation_metrics(load(trained_run).model, tuned_run.data("val").x)["elbo"]
    assert tuned_run.metrics[0]["val_elbo"] == pytest.approx(before, abs=0.1)
    assert tuned_run.metrics[0]["val_elbo"] > scratch.metrics[0]["val_elbo"] + 5
    assert json.loads((tmp_path / "tuned" / "config.json").read_text())["train"]["init_from"]


def test_init_from_a_run_of_another_size_is_refused_before_writing(
    make_config, trained_run, tmp_path
):
    wider = make_config(model={"hidden": [32]}, train={"init_from": str(trained_run)})
    with pytest.raises(VaekitError, match="model.safetensors.*shape"):
        train(wider, tmp_path / "wider")
    assert not (tmp_path / "wider").exists()


def test_denormals_are_flushed_only_inside_vaekit(make_config, tmp_path):
    assert not flushing_denormals()
    with denormals_flushed():
        assert flushing_denormals()
        assert (torch.tensor([1e-30]) * 1e-10).item() == 0.0
    assert not flushing_denormals()
    train(make_config(train={"epochs": 1}), tmp_path / "run")
    assert not flushing_denormals()  # the caller's IEEE subnormals are back


@pytest.mark.skipif(torch.get_num_threads() < 2, reason="needs a worker thread")
def test_denormals_are_flushed_on_every_worker_thread_too():
    # Each thread has its own float mode, and OpenMP's workers keep the one they started with:
    # a pool already running must still flush inside the block, and stop flushing after it.
    denormals = torch.full((1 << 22,), 1e-39)
    assert bool((denormals * 1.0 != 0).all())  # also starts the pool, unflushed
    with denormals_flushed():
        assert int((denormals * 1.0 != 0).sum()) == 0
    assert bool((denormals * 1.0 != 0).all())


def test_device_auto_picks_cuda_only_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(VaekitError, match="--device cuda: no CUDA GPU"):
        pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.slow
def test_compiled_training_matches_eager_without_recompiling_for_beta(make_config, tmp_path):
    """--compile: the same random numbers reach the loss (drawn outside it), so the run follows
    the eager one up to float rounding; a beta schedule changes beta every step and must not
    recompile (one graph for full batches, one for the short last batch)."""
    from torch._dynamo.utils import counters

    model = {"model": "beta-vae", "beta": 2.0, "beta_schedule": "linear", "warmup_steps": 40}
    eager = train(make_config(model=model, train={"epochs": 3}), tmp_path / "eager")
    counters.clear()
    compiled = train(
        make_config(model=model, train={"epochs": 3, "compile": "on"}), tmp_path / "compiled"
    )
    assert counters["frames"]["ok"] <= 2
    for a, b in zip(eager.metrics, compiled.metrics, strict=True):
        assert b["beta"] == a["beta"]
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["val_elbo"] == pytest.approx(a["val_elbo"], rel=1e-4)
    assert compiled.config.train.compile and "compiled" in compiled.config.training_summary()


@pytest.mark.slow
def test_compiled_step_is_torch_adam_with_clipping_and_the_lr_schedule(make_config):
    """--compile in one process runs loss, gradients, clipping and Adam as one graph: after
    steps with a binding gradient clip and a learning rate changed between steps, weights, Adam's
    state and the running sums equal those of the eager step with torch's fused Adam."""
    config = make_config(train={"compile": "on", "clip_grad": 0.5})
    splits = load_splits(config.data)
    resolve_model_config(config, splits)
    torch.manual_seed(0)
    models = {"eager": build_model(config.model)}
    models["compiled"] = copy.deepcopy(models["eager"])
    options = {"eager": dataclasses.replace(config.train, compile="off"), "compiled": config.train}
    optimizers = {k: build_optimizer(list(m.parameters()), config.train) for k, m in models.items()}
    cpu = torch.device("cpu")
    steps = {
        k: training_step(m, m, optimizers[k], options[k], cpu, torch.Generator().manual_seed(1))
        for k, m in models.items()
    }
    assert isinstance(steps["eager"], TrainingStep)
    assert isinstance(steps["compiled"], CompiledStep)
    totals = {k: torch.zeros(3, dtype=torch.float64) for k in models}
    for i, lr in enumerate([1e-3, 1e-3, 3e-4, 3e-4]):
        batch = splits.train.x[32 * i : 32 * (i + 1)]
        for k in models:
            optimizers[k].param_groups[0]["lr"] = lr
            steps[k](batch, 1.0, totals[k])
    norm = torch.nn.utils.get_total_norm([p.grad for p in models["eager"].parameters()])
    assert float(norm) == pytest.approx(0.5, rel=1e-4)  # the clip did bind: clipped to 0.5
    torch.testing.assert_close(totals["compiled"], totals["eager"], rtol=1e-5, atol=1e-5)
    eager_params = list(models["eager"].parameters())
    for p, q in zip(eager_params, models["compiled"].parameters(), strict=True):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6)
        a, b = optimizers["eager"].state[p], optimizers["compiled"].state[q]
        assert float(b["step"]) == float(a["step"]) == 4
        torch.testing.assert_close(b["exp_avg"], a["exp_avg"], rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(b["exp_avg_sq"], a["exp_avg_sq"], rtol=1e-4, atol=1e-9)
    assert not steps["compiled"].nonfinite
    steps["compiled"](torch.full_like(splits.train.x[:32], float("nan")), 1.0, totals["compiled"])
    assert steps["compiled"].nonfinite


@pytest.mark.slow
def test_compiled_run_resumes_to_the_same_weights(make_config, tmp_path):
    """Adam's state lives in the optimiser as in an eager run, so the checkpoint carries it:
    2 compiled epochs, then a resume to 3, equal 3 compiled epochs straight, bit for bit."""
    train(make_config(train={"epochs": 3, "compile": "on"}), tmp_path / "straight")
    train(make_config(train={"epochs": 2, "compile": "on"}), tmp_path / "resumed")
    resume(tmp_path / "resumed", epochs=3)
    a = load_file(str(tmp_path / "straight" / "last.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_compile_failure_is_one_clear_error_and_leaves_no_run(make_config, tmp_path, monkeypatch):
    def broken_compile(module):
        def call(*args, **kwargs):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found\nmore lines")

        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.raises(VaekitError, match=r"^--compile: .*No working C\+\+ compiler.*without"):
        train(make_config(train={"compile": "on"}), tmp_path / "r")
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(torch.get_num_threads() < 2, reason="needs a worker thread")
def test_denormals_reach_torchs_workers_when_another_openmp_was_loaded_first():
    # scikit-learn's wheel brings its own libgomp; loaded before torch's pool is paused, it was
    # the one an earlier version picked (the first by path), leaving torch's workers unflushed.
    import subprocess
    import sys

    script = (
        "import sklearn.cluster, torch\n"
        "from vaekit.core.numerics import denormals_flushed\n"
        "d = torch.full((1 << 22,), 1e-39)\n"
        "assert bool((d * 1.0 != 0).all())\n"
        "with denormals_flushed():\n"
        "    assert int((d * 1.0 != 0).sum()) == 0, 'workers kept the old float mode'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_compile_on_is_refused_for_a_model_with_a_second_adam(tmp_path, make_config):
    model = {"model": "factor-vae", "discriminator_hidden": [16]}
    config = make_config(model=model, train={"epochs": 1, "compile": "on"})
    with pytest.raises(VaekitError, match="^--compile: the compiled step has one Adam"):
        train(config, tmp_path / "r")
