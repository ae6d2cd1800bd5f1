"""Property-based fuzzing of everything that reads user input: every case must end in a valid
dataset (or config) or a one-line VaekitError — never another exception, never a hang."""

import gzip
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from vaekit.cli.main import main
from vaekit.config.run import DataConfig, RunConfig
from vaekit.core.errors import VaekitError
from vaekit.data.splits import first_examples, load_splits

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = st.sampled_from(
    [
        "float16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
        "complex64",
        "<U3",
    ]
)


def _outcome(source: Path, **options) -> str:
    """Load the data; 'ok' for a valid dataset, 'error' for a clean VaekitError."""
    try:
        splits = load_splits(DataConfig(source=str(source), val_fraction=0.5, **options))
    except VaekitError as err:
        message = str(err)
        assert message and "\n" not in message
        return "error"
    train = first_examples(splits.train, len(splits.train))[0]  # a streamed split too
    assert np.isfinite(train.numpy()).all() and np.isfinite(splits.val.x.numpy()).all()
    assert len(train) == len(splits.train) >= 1 and len(splits.val) >= 1
    return "ok"


@st.composite
def arrays(draw):
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4))
    return draw(hnp.arrays(np.dtype(dtype), shape))


@FUZZ
@given(array=arrays(), stream=st.sampled_from(["off", "on"]))
def test_fuzz_npy(array, stream):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npy"
        np.save(path, array)
        _outcome(path, stream=stream)


@FUZZ
@given(
    data=arrays(),
    labels=st.one_of(st.none(), arrays()),
    key=st.sampled_from(["x", "data", "weird", "y"]),
)
def test_fuzz_npz(data, labels, key):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        arrays_to_save = {key: data}
        if labels is not None:
            arrays_to_save["labels"] = labels
        np.savez(path, **arrays_to_save)
        _outcome(path)


@FUZZ
@given(
    type_code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07, 0xFF]),
    dims=st.lists(st.integers(0, 6), min_size=0, max_size=4),
    zero=st.booleans(),
    extra=st.integers(-8, 8),
    compress=st.booleans(),
)
def test_fuzz_idx(type_code, dims, zero, extra, compress):
    item = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(type_code, 1)
    header = bytes([0 if zero else 1, 0, type_code, len(dims)])
    header += b"".join(d.to_bytes(4, "big") for d in dims)
    body = bytes(max(0, int(np.prod(dims or [0])) * item + extra))
    blob = header + body
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("images-idx3-ubyte" + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(blob) if compress else blob)
        _outcome(path)


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-5, 5).map(str),
    st.sampled_from(["", "NA", "nan", "abc", " 1.5 ", "1e3", "-", '"q"']),
)


@FUZZ
@given(
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=5), min_size=0, max_size=8),
    header=st.booleans(),
    label=st.sampled_from([None, "c0", "missing"]),
)
def test_fuzz_csv(rows, header, label):
    lines = [",".join(f"c{i}" for i in range(4))] if header else []
    lines += [",".join(row) for row in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        path.write_text("\n".join(lines) + "\n")
        _outcome(path, labels=label)


IMAGE_FILES = st.lists(
    st.tuples(
        st.sampled_from(["png", "jpg", "zero", "corrupt"]),
        st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16"]),
        st.integers(1, 5),
        st.integers(1, 5),
        st.sampled_from(["", "a", "b"]),
    ),
    min_size=0,
    max_size=6,
)


@FUZZ
@given(files=IMAGE_FILES, resize=st.booleans())
def test_fuzz_image_folder(files, resize):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        for i, (kind, mode, w, h, sub) in enumerate(files):
            (folder / sub).mkdir(exist_ok=True)
            suffix = "jpg" if kind == "jpg" else "png"
            path = folder / sub / f"{i}.{suffix}"
            if kind == "zero":
                path.write_bytes(b"")
            elif kind == "corrupt":
                path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(40)))
            else:
                image = Image.new(mode, (w, h))
                if kind == "jpg" and mode not in ("L", "RGB"):
                    image = image.convert("RGB")
                image.save(path)
        _outcome(folder, image_size=[3, 3] if resize else None)


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 1000),
        st.floats(allow_nan=True),
        st.text(max_size=8),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SECTIONS = st.fixed_dictionaries(
    {},
    optional={
        "model": st.dictionaries(
            st.sampled_from(
                [
                    "model",
                    "latent_dim",
                    "hidden",
                    "likelihood",
                    "k",
                    "beta",
                    "l1",
                    "posterior",
                    "sigma",
                    "bogus",
                ]
            ),
            JSON,
            max_size=4,
        ),
        "train": st.dictionaries(
            st.sampled_from(["epochs", "lr", "batch_size", "seed", "device", "clip_grad"]),
            JSON,
            max_size=3,
        ),
        "data": st.dictionaries(
            st.sampled_from(["source", "val_fraction", "binarize", "image_size"]), JSON, max_size=3
        ),
        "format": JSON,
        "extra": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(SECTIONS, JSON))
def test_fuzz_config_parser(raw):
    try:
        config = RunConfig.from_dict(raw)
    except VaekitError as err:
        assert "\n" not in str(err)
        return
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


@settings(max_examples=25, deadline=None)
@given(array=arrays())
def test_fuzz_cli_exits_0_or_2(array):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npy"
        np.save(path, array)
        stderr = io.StringIO()
        from contextlib import redirect_stderr

        with redirect_stderr(stderr):
            code = main(
                [
                    "--quiet",
                    "train",
                    "--data",
                    str(path),
                    "--out",
                    str(Path(tmp) / "r"),
                    "--epochs",
                    "1",
                    "--hidden",
                    "4",
                    "--no-report",
                    "--val-fraction",
                    "0.5",
                ]
            )
        assert code in (0, 2)
        if code == 2:
            assert stderr.getvalue().count("\n") == 1 and "Traceback" not in stderr.getvalue()
            assert not (Path(tmp) / "r").exists()


@pytest.mark.parametrize("text", ["{", "[1, 2]", "model: [", "- a", "\x00\x01"])
def test_unreadable_config_files_exit_2(tmp_path, text, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "Traceback" not in capsys.readouterr().err
