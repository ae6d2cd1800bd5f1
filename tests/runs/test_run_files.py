"""The files of a run folder read back only whole: checksummed tensors, typed records, and the
reproducibility settings every process starts with."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from vaekit.cli.main import main
from vaekit.core.errors import VaekitError
from vaekit.core.files import append_line
from vaekit.core.records import read_metrics, read_rows, read_summary
from vaekit.core.tensorfiles import CHECKSUM, checksum, read_tensors, write_tensors
from vaekit.runs import run as runs


def _tensors() -> dict[str, torch.Tensor]:
    return {"w": torch.arange(6.0).reshape(2, 3), "steps": torch.tensor([3], dtype=torch.int64)}


def test_tensors_round_trip_with_their_checksum(tmp_path):
    path = tmp_path / "t.safetensors"
    write_tensors(path, _tensors(), {"note": "kept"})
    tensors, metadata = read_tensors(path, "weights")
    assert metadata["note"] == "kept" and metadata[CHECKSUM] == checksum(_tensors())
    assert all(torch.equal(tensors[k], v) for k, v in _tensors().items())


def test_a_flipped_bit_in_a_tensor_is_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    write_tensors(path, _tensors())
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # inside the last tensor's bytes: still a valid file, a different value
    path.write_bytes(bytes(data))
    with pytest.raises(VaekitError, match=r"t.safetensors: the weights file is damaged"):
        read_tensors(path, "weights")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_tensors_are_refused_naming_the_tensor(tmp_path, value):
    path = tmp_path / "t.safetensors"
    tensors = _tensors()
    tensors["w"][1, 2] = value
    save_file(tensors, str(path))  # no checksum: a file from elsewhere is still checked
    with pytest.raises(VaekitError, match=r"t.safetensors: tensor w holds NaN or infinite"):
        read_tensors(path, "weights")


def test_checksum_depends_on_names_shapes_and_dtypes():
    base = checksum({"w": torch.zeros(2, 3)})
    assert base != checksum({"v": torch.zeros(2, 3)})
    assert base != checksum({"w": torch.zeros(3, 2)})
    assert base != checksum({"w": torch.zeros(2, 3, dtype=torch.float64)[:, :3].float().double()})


def test_weights_that_overflow_are_refused_before_any_picture(trained_run, tmp_path, capsys):
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(trained_run), str(run)], check=True)
    tensors = load_file(str(run / "model.safetensors"))
    tensors = {k: v * 1e30 for k, v in tensors.items()}  # finite, but nothing decodes
    save_file(tensors, str(run / "model.safetensors"))
    assert main(["evaluate", str(run), "--k", "2", "--samples", "8", "--limit", "8"]) == 2
    error = capsys.readouterr().err
    assert "model.safetensors: the model's" in error and "NaN or infinite" in error


def test_summary_fields_are_typed(tmp_path):
    path = tmp_path / "summary.json"
    assert read_summary(path) == {}
    summary = {
        "parameters": 10,
        "data": {"train": 1, "val": 1, "test": 0},
        "best_epoch": 1,
        "best": {"metric": "val_elbo", "value": -3.5},
        "train_seconds": 0.5,
    }
    path.write_text(json.dumps(summary))
    assert read_summary(path) == summary
    path.write_text(json.dumps({**summary, "best": {"metric": "val_elbo", "value": "x"}}))
    with pytest.raises(VaekitError, match=r"summary.json: field best.value is \"x\", not a number"):
        read_summary(path)
    path.write_text('{"parameters": NaN}')
    with pytest.raises(VaekitError, match="summary.json: not valid JSON"):
        read_summary(path)


def test_metrics_rows_are_numbers(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1, "val_elbo": -3.0, "val_kl": null}\n\n')
    assert read_metrics(path) == [{"epoch": 1, "val_elbo": -3.0, "val_kl": None}]
    path.write_text('{"epoch": 1}\n{"epoch": 2, "val_elbo": "-3"}\n')
    with pytest.raises(VaekitError, match=r"metrics.jsonl line 2: field val_elbo"):
        read_metrics(path)


def test_a_line_appended_to_a_cut_short_file_stays_whole(tmp_path):
    path = tmp_path / "evaluation.jsonl"
    path.write_text('{"a": 1}\n{"b": ')  # a crash mid-line
    append_line(path, json.dumps({"c": 3}))
    assert read_rows(path, skip_damaged=True) == [{"a": 1}, {"c": 3}]
    with pytest.raises(VaekitError, match="evaluation.jsonl line 2: not valid JSON"):
        read_rows(path)


@pytest.mark.slow
def test_the_report_passes_over_evaluations_of_other_weights_data_or_limits(trained_run, tmp_path):
    from vaekit.views.report import latest_evaluation

    run_dir = tmp_path / "run"
    subprocess.run(["cp", "-r", str(trained_run), str(run_dir)], check=True)
    (run_dir / "evaluation.jsonl").unlink(missing_ok=True)
    assert main(["evaluate", str(run_dir), "--k", "2", "--samples", "8", "--limit", "5"]) == 0
    assert main(["evaluate", str(run_dir), "--k", "2", "--samples", "8", "--data", "train"]) == 0
    run = runs.load(run_dir)
    recorded = read_rows(run_dir / "evaluation.jsonl")
    assert len(recorded) == 2
    result = latest_evaluation(run, k=2, samples=8)  # neither fits: evaluated afresh
    assert (
        result["examples"] == len(run.data()) and result["weights_sha256"] == run.weights_checksum
    )
    assert len(read_rows(run_dir / "evaluation.jsonl")) == 3
    assert latest_evaluation(run, k=2, samples=8) == result  # and now found
    lines = (run_dir / "evaluation.jsonl").read_text().splitlines()
    lines[-1] = json.dumps({**result, "weights_sha256": "other weights"})  # before a resume
    (run_dir / "evaluation.jsonl").write_text("\n".join(lines) + "\n")
    assert latest_evaluation(run, k=2, samples=8)["weights_sha256"] == run.weights_checksum
    assert len(read_rows(run_dir / "evaluation.jsonl")) == 4


def _in_fresh_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_importing_vaekit_makes_mkl_reproducible():
    from vaekit.core.numerics import _torch_mkl

    if _torch_mkl() is None:
        pytest.skip("this torch has no MKL")
    probe = (
        "from vaekit.core.numerics import _torch_mkl, MKL_CBWR_BRANCH; "
        "print(_torch_mkl().mkl_serv_cbwr_get(MKL_CBWR_BRANCH))"
    )
    assert _in_fresh_python("import vaekit; " + probe) == "2"  # MKL_CBWR_AUTO
    late = "import torch; torch.ones(64, 64) @ torch.ones(64, 64); import vaekit; "
    assert _in_fresh_python(late + "print(vaekit.core.numerics.reproducible_mkl())") == "False"


def test_the_sample_quality_judge_does_not_depend_on_the_callers_random_state(
    tmp_path, monkeypatch
):
    from vaekit.config.run import DataConfig
    from vaekit.data.splits import load_splits
    from vaekit.metrics.quality import judge_for

    splits = load_splits(DataConfig(source="digits"))
    weights = []
    for folder, seed in (("a", 1), ("b", 2)):
        monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / folder))
        torch.manual_seed(seed)  # whatever the caller's stream holds
        before = torch.get_rng_state()
        judge = judge_for(splits, seed=0, epochs=1)
        assert torch.equal(torch.get_rng_state(), before)  # and it is left as it was
        weights.append(torch.cat([p.detach().flatten() for p in judge.model.parameters()]))
    assert torch.equal(weights[0], weights[1])
