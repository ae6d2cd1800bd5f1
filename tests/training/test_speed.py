"""``--precision auto`` and ``--compile auto``: the rule, its inputs, what a run records, and the
eager fallback when auto's compile fails."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from vaekit.api import resume, train
from vaekit.cli.main import build_parser, main
from vaekit.cli.options import config_from_args
from vaekit.config.run import RunConfig
from vaekit.models.registry import build_model
from vaekit.training import speed
from vaekit.training.speed import choose_speed, step_gflop

DIGITS = {"gflop_per_step": 0.04, "steps": 39, "parameter_tensors": 8}
MNIST_30_EPOCHS = {"gflop_per_step": 0.42, "steps": 11_730, "parameter_tensors": 8}


def test_small_steps_stay_float32_and_short_runs_are_not_compiled():
    choice = choose_speed("auto", "auto", native_bf16=True, compiler=True, **DIGITS)
    assert (choice.precision, choice.compile) == ("fp32", "off")
    assert "too small for bf16" in choice.reason and "less than a ~14 s compile" in choice.reason


def test_large_steps_take_bf16_where_the_device_has_it_and_long_runs_compile():
    choice = choose_speed("auto", "auto", native_bf16=True, compiler=True, **MNIST_30_EPOCHS)
    assert (choice.precision, choice.compile) == ("bf16", "on")
    without = choose_speed("auto", "auto", native_bf16=False, compiler=True, **MNIST_30_EPOCHS)
    assert without.precision == "fp32" and "no bfloat16 matrix units" in without.reason
    shorter = dict(MNIST_30_EPOCHS, steps=3_910)  # 10 epochs: ~5.5 s saved, ~14 s to compile
    assert choose_speed("auto", "auto", native_bf16=True, compiler=True, **shorter).compile == "off"


def test_a_conv_network_counts_only_the_fixed_saving_of_compiling():
    conv = {"gflop_per_step": 2.2, "steps": 11_730, "parameter_tensors": 12}
    mlp = choose_speed("auto", "auto", native_bf16=True, compiler=True, **conv)
    assert mlp.compile == "on"  # 11,730 x (1 + 2.2) ms = 38 s saved for a ~18 s compile
    conv = choose_speed("auto", "auto", native_bf16=True, compiler=True, conv=True, **conv)
    assert conv.compile == "off"  # 11,730 x 1 ms = 12 s: measured 0.8 ms per step


def test_compile_auto_is_off_without_a_compiler_and_under_torchrun():
    no_compiler = choose_speed("auto", "auto", native_bf16=True, compiler=False, **MNIST_30_EPOCHS)
    assert no_compiler.compile == "off" and "no compiler" in no_compiler.reason
    ranks = choose_speed(
        "auto", "auto", native_bf16=True, compiler=True, distributed=True, **MNIST_30_EPOCHS
    )
    assert ranks.compile == "off"
    two_adams = choose_speed(
        "auto", "auto", native_bf16=True, compiler=True, one_optimizer=False, **MNIST_30_EPOCHS
    )
    assert two_adams.compile == "off" and "an Adam of its own" in two_adams.reason


def test_what_the_user_chose_is_kept_and_needs_no_reason():
    for precision, compile in [("fp32", "on"), ("bf16", "off")]:
        choice = choose_speed(precision, compile, native_bf16=False, compiler=False, **DIGITS)
        assert (choice.precision, choice.compile, choice.reason) == (precision, compile, "")


def test_a_steps_flops_are_the_linear_layers_products():
    config = RunConfig.from_dict({"model": {"input_shape": [1, 8, 8], "hidden": [32]}})
    model = build_model(config.model)
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    forward = sum(2 * m.in_features * m.out_features for m in layers)  # per example
    assert step_gflop(model, torch.rand(1, 1, 8, 8), None, batch=128) == pytest.approx(
        3 * 128 * forward / 1e9
    )


def test_a_conv_steps_flops_are_torchs_count():
    from torch.utils.flop_counter import FlopCounterMode

    config = RunConfig.from_dict({"model": {"input_shape": [1, 16, 16], "arch": "conv"}})
    model = build_model(config.model)
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x, noise=model.draw_noise(x, torch.Generator().manual_seed(0)))
    assert step_gflop(model, x, None, batch=32) == 3 * 32 * counter.get_total_flops() / 1e9


def test_a_run_records_the_resolved_choice_and_says_why(tmp_path, capsys):
    assert main(["train", "--data", "digits", "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    assert "speed (auto): fp32: a step's matrix products" in capsys.readouterr().err
    recorded = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert (recorded["precision"], recorded["compile"]) == ("fp32", "off")


@pytest.mark.slow
def test_compile_options_keep_their_old_spellings():
    parser = build_parser()

    def chosen(*argv: str) -> str:
        return config_from_args(parser.parse_args(["train", *argv])).train.compile

    assert chosen() == "auto"
    assert chosen("--compile") == "on" and chosen("--compile", "off") == "off"
    assert chosen("--no-compile") == "off"
    # config.json of runs from before auto: a boolean
    for old, new in [(True, "on"), (False, "off")]:
        assert RunConfig.from_dict({"train": {"compile": old}}).train.compile == new


@pytest.mark.slow
def test_a_failed_auto_compile_trains_eagerly_with_the_same_bits(
    make_config, tmp_path, monkeypatch
):
    train(make_config(train={"epochs": 2, "compile": "off"}), tmp_path / "eager")

    def broken_compile(function):
        def call(*args, **kwargs):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found")

        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(speed, "COMPILE_FIXED_S", -1e9)  # auto compiles even a tiny run
    monkeypatch.setattr(speed, "compiler_available", lambda device: True)
    train(make_config(train={"epochs": 2, "compile": "auto"}), tmp_path / "fell-back")
    recorded = json.loads((tmp_path / "fell-back" / "config.json").read_text())["train"]
    assert recorded["compile"] == "off"  # what the run really did, so --resume does it too
    a = load_file(str(tmp_path / "eager" / "last.safetensors"))
    b = load_file(str(tmp_path / "fell-back" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    resume(tmp_path / "fell-back", epochs=3)  # resumes eagerly: no compile is attempted


@pytest.mark.slow
def test_a_compile_the_user_asked_for_still_stops_with_one_line(make_config, tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda function: lambda *a, **k: 1 / 0)
    with pytest.raises(Exception, match=r"^--compile: torch.compile could not compile"):
        train(make_config(train={"compile": "on"}), tmp_path / "r")


def test_the_likelihood_in_bf16_is_the_float32_estimate_to_a_fraction_of_a_nat(trained_run):
    from vaekit.metrics.likelihood import importance_log_likelihood
    from vaekit.runs.run import load

    run = load(trained_run)
    x = run.data("val").x[:64]
    fp32 = importance_log_likelihood(run.model, x, k=50, seed=0)
    bf16 = importance_log_likelihood(run.model, x, k=50, seed=0, precision="bf16")
    assert not torch.equal(fp32, bf16)  # the products did run in bf16
    assert float((bf16 - fp32).abs().mean()) < 0.01 * float(fp32.std())
