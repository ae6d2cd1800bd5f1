"""Streaming .npy files: every row once per epoch, the same values as in memory, bounded memory,
bit-identical reruns, clear errors."""

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from vaekit.api import resume, train
from vaekit.cli.main import main
from vaekit.config.run import DataConfig
from vaekit.core.errors import TrainingInterrupted, VaekitError
from vaekit.data import stream as stream_module
from vaekit.data.splits import load_splits
from vaekit.models.vae import VAE


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 20 rows of 64 bytes, so a tiny file has many blocks and windows."""
    monkeypatch.setattr(stream_module, "BLOCK_BYTES", 64 * 20)


def images_file(tmp_path: Path, n: int = 3000) -> tuple[Path, np.ndarray]:
    values = (np.random.default_rng(0).random((n, 64)) * 255).astype(np.uint8)
    path = tmp_path / "images.npy"
    np.save(path, values)
    return path, values


def test_an_epoch_visits_every_training_row_once_with_the_in_memory_values(small_blocks, tmp_path):
    path, values = images_file(tmp_path)
    splits = load_splits(DataConfig(source=str(path), stream="on", val_fraction=0.1))
    train, val = splits.train, splits.val
    assert splits.shape == (1, 8, 8) and len(train) == 2700 and len(val) == 300
    order = train.epoch_order(torch.Generator().manual_seed(0))
    held_out = np.flatnonzero(train.is_held_out)
    assert sorted(order.tolist() + held_out.tolist()) == list(range(3000))
    # Shuffled across the file, not read in file order.
    assert abs(float(np.corrcoef(order.numpy(), np.arange(2700))[0, 1])) < 0.5
    for start in range(0, 2700, 128):
        ids = order[start : start + 128]
        expected = torch.from_numpy(values[ids.numpy()]).float() / 255
        assert torch.equal(train[ids].reshape(len(ids), -1), expected)
    assert torch.equal(val.x.reshape(300, -1), torch.from_numpy(values[held_out]).float() / 255)
    next_epoch = train.epoch_order(torch.Generator().manual_seed(1))
    assert not torch.equal(order, next_epoch)


def test_validation_is_capped_and_tables_are_standardised_like_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(stream_module, "VAL_CAP", 50)
    table = np.random.default_rng(1).normal(3.0, 2.0, size=(1000, 5))
    np.save(tmp_path / "table.npy", table)
    streamed = load_splits(DataConfig(source=str(tmp_path / "table.npy"), stream="on"))
    # A streamed table is standardised (its quantiles would need the whole file in memory).
    in_memory = load_splits(
        DataConfig(source=str(tmp_path / "table.npy"), stream="off", scaling="standard")
    )
    assert len(streamed.val) == 50 and len(streamed.train) == 950  # 10 % would be 100
    a, b = streamed.schema.columns, in_memory.schema.columns
    assert {c.kind for c in a} == {c.kind for c in b} == {"continuous"}
    assert np.allclose([c.mean for c in a], [c.mean for c in b])
    assert np.allclose([c.std for c in a], [c.std for c in b])
    everything = torch.cat([in_memory.train.x, in_memory.val.x])
    expected = (float(everything.min()), float(everything.max()))
    assert streamed.train.value_range == pytest.approx(expected, rel=1e-5)


def test_reading_a_file_keeps_its_pages_out_of_the_process(tmp_path, monkeypatch):
    """Resident memory does not grow with the file: blocks are copied out, then released."""
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("needs Linux /proc")
    monkeypatch.setattr(stream_module, "BLOCK_BYTES", 1 << 20)

    def file_pages_mb() -> float:
        line = next(s for s in status.read_text().splitlines() if s.startswith("RssFile"))
        return int(line.split()[1]) / 1024

    np.save(tmp_path / "big.npy", np.ones((96_000, 1024), dtype=np.uint8))  # 94 MiB
    splits = load_splits(DataConfig(source=str(tmp_path / "big.npy"), stream="on"))
    before = file_pages_mb()
    order = splits.train.epoch_order(torch.Generator().manual_seed(0))
    for start in range(0, len(order), 4096):
        splits.train[order[start : start + 4096]]
    assert file_pages_mb() - before < 24  # the whole file would be 94 MiB


@pytest.mark.slow
def test_streamed_training_learns_and_reruns_bit_for_bit(small_blocks, tmp_path):
    path, _ = images_file(tmp_path)
    args = ["train", "--data", str(path), "--stream", "on", "--latent-dim", "2", "--hidden", "32"]
    args += ["--epochs", "4", "--batch-size", "64", "--no-report"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").open()]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    a = load_file(str(tmp_path / "a" / "last.safetensors"))
    b = load_file(str(tmp_path / "b" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["data"]["stream"] == "on" and config["data"]["schema"]["divide_by"] == 255
    assert (tmp_path / "a" / "samples.png").exists() and (
        tmp_path / "a" / "sampler.safetensors"
    ).exists()


def test_streamed_dynamic_binarisation_trains(small_blocks, tmp_path, make_config):
    path, _ = images_file(tmp_path)
    config = make_config(data={"source": str(path), "stream": "on", "binarize": "dynamic"})
    run = train(config, tmp_path / "run")
    assert set(torch.unique(run.data("val").x).tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: np.save(p, np.asfortranarray(np.ones((50, 64), np.float32))), "Fortran"),
        (lambda p: np.save(p, np.array([[1.0, np.nan]] * 5)), "NaN or infinite.*example 0"),
        (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00" + b"{'descr': '<f4'"), "not a valid"),
        (lambda p: (np.save(p, np.ones((100, 64), np.uint8)), _truncate(p)), "truncated"),
        (lambda p: np.save(p, np.ones((10,), np.uint8)), "expected"),
    ],
)
def test_bad_streamed_files_get_one_line_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.npy"
    make(path)
    with pytest.raises(VaekitError, match=message) as err:
        load_splits(DataConfig(source=str(path), stream="on"))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def test_static_binarisation_and_pca_are_refused_for_streams(tmp_path, make_config):
    path, _ = images_file(tmp_path)
    with pytest.raises(VaekitError, match="static"):
        load_splits(DataConfig(source=str(path), stream="on", binarize="static"))
    pca = make_config(model={"model": "pca"}, data={"source": str(path), "stream": "on"})
    with pytest.raises(VaekitError, match="pca is fitted in memory"):
        train(pca, tmp_path / "pca")


@pytest.mark.slow
def test_a_streamed_run_stopped_mid_epoch_resumes_bit_for_bit(
    small_blocks, tmp_path, make_config, monkeypatch
):
    path, _ = images_file(tmp_path)
    config = make_config(data={"source": str(path), "stream": "on"}, train={"epochs": 3})
    train(config, tmp_path / "full")
    original, calls = VAE.forward, []

    def interrupted_at_call_60(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 60:  # epoch 2 of 3, step 16 of 43
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VAE, "forward", interrupted_at_call_60)
    config = make_config(data={"source": str(path), "stream": "on"}, train={"epochs": 3})
    with pytest.raises(TrainingInterrupted):
        train(config, tmp_path / "cut")
    monkeypatch.setattr(VAE, "forward", original)
    checkpoint = json.loads((tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()[-1])
    assert checkpoint["epoch"] == 1  # stopped inside epoch 2
    resume(tmp_path / "cut")
    a = load_file(str(tmp_path / "full" / "last.safetensors"))
    b = load_file(str(tmp_path / "cut" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_asking_a_streamed_run_for_its_whole_training_split_is_a_clear_error(
    small_blocks, tmp_path, make_config
):
    path, _ = images_file(tmp_path)
    run = train(make_config(data={"source": str(path), "stream": "on"}), tmp_path / "run")
    assert len(run.data("val")) == 300
    with pytest.raises(VaekitError, match="streamed"):
        run.data("train")
