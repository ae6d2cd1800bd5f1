"""Readers for the user's own data: .npy/.npz arrays, IDX files, image folders and tables (CSV
and TSV read by :mod:`vaekit.data.table`, .parquet and .xlsx through pandas).

Each reader turns one source into :class:`RawData` or raises a one-line :class:`VaekitError` that
names the file. Nothing here unpickles: ``np.load`` is always called with ``allow_pickle=False``.
"""

from __future__ import annotations

import gzip
import importlib
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vaekit.config.run import DataConfig
from vaekit.core.errors import VaekitError, fail
from vaekit.core.progress import log
from vaekit.data.raw import RawData, check_values, in_unit_range
from vaekit.data.schema.columns import listing
from vaekit.data.table import Table, from_array, from_dataframe, read_csv

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
X_KEYS = ("x", "X", "data", "images", "features", "arr_0")
LABEL_KEYS = ("y", "labels", "label", "targets", "target")
# Tables read as text (see vaekit.data.dialect) and tables read through pandas: suffix ->
# (pandas reader, the package it needs).
TEXT_TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".tab")
FRAME_READERS = {".parquet": ("read_parquet", "pyarrow"), ".xlsx": ("read_excel", "openpyxl")}


def read(path: Path, config: DataConfig) -> RawData:
    if path.is_dir():
        return read_image_folder(path, config.image_size, config.labels)
    name = path.name.lower()
    if name.endswith(".npy"):
        values, labels = _load_npy(path), None
    elif name.endswith(".npz"):
        values, labels = _load_npz(path, config.labels)
    elif name.endswith(TEXT_TABLE_SUFFIXES):
        return read_table(path, config.labels)
    elif name.endswith(tuple(FRAME_READERS)):
        return read_table(read_frame(path), config.labels)
    elif "idx" in name or name.endswith("-ubyte") or name.endswith("-ubyte.gz"):
        values, labels = read_idx(path), None
    else:
        raise fail(
            path,
            "unknown data format (use .npy, .npz, .csv, .tsv, .parquet, .xlsx, IDX files or an "
            "image folder)",
        )
    if labels is None and config.labels is not None:
        labels = read_labels(Path(config.labels).expanduser())
    return array_to_raw(values, labels, str(path))


def array_to_raw(values: np.ndarray, labels: np.ndarray | None, where: str) -> RawData:
    """Arrays of rank 2 are tables (columns x0, x1, ...), unless square, in [0, 1] or 8-bit:
    then images; rank 3-4 are images."""
    kind, shape, scale = classify(values.shape, values.dtype, lambda: in_unit_range(values), where)
    if kind == "tabular":
        check_values(values, where)
        return RawData(None, labels, where, table=from_array(values, where))
    return RawData(values.reshape(len(values), *shape), labels, where, scale=scale)


def classify(
    shape: tuple[int, ...], dtype: np.dtype, unit_range: Callable[[], bool], where: str
) -> tuple[str, tuple[int, ...], float | None]:
    """(kind, one example's shape, integer scale) for an array of this shape and dtype;
    ``unit_range`` is asked only when the answer depends on it."""
    scale = 255.0 if dtype == np.uint8 else None
    if len(shape) == 2:
        side = math.isqrt(shape[1])
        if side * side == shape[1] and side >= 8 and (dtype == np.uint8 or unit_range()):
            return "image", (1, side, side), scale
        return "tabular", (shape[1],), None
    if len(shape) in (3, 4):
        return "image", tuple(shape[1:]) if len(shape) == 4 else (1, *shape[1:]), scale
    raise fail(
        where, f"expected arrays of shape (N, D), (N, H, W) or (N, C, H, W), got shape {shape}"
    )


def _numpy_load_error(path: Path, err: ValueError, kind: str) -> VaekitError:
    """np.load(allow_pickle=False) refuses object arrays with a ValueError naming pickles."""
    if "pickle" in str(err).lower():
        return fail(path, "holds Python objects (pickled); vaekit only reads numeric arrays")
    return fail(path, f"not a valid {kind} file ({err})")


def _load_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as handle:
            if handle.read(6) != b"\x93NUMPY":
                raise fail(path, "not a valid .npy file (bad magic number)")
        return np.load(path, allow_pickle=False, mmap_mode="r")[...]
    except ValueError as err:
        raise _numpy_load_error(path, err, ".npy") from None
    except (OSError, EOFError) as err:
        raise fail(path, f"cannot read .npy file ({err})") from None


def _load_npz(path: Path, label_key: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            x_key = next((k for k in X_KEYS if k in keys), None)
            if x_key is None:
                candidates = [k for k in keys if k not in LABEL_KEYS and k != label_key]
                if len(candidates) != 1:
                    raise fail(
                        path,
                        f"cannot tell which array holds the data (keys: "
                        f"{', '.join(keys) or 'none'}); name it 'x'",
                    )
                x_key = candidates[0]
            y_key = (
                label_key if label_key in keys else next((k for k in LABEL_KEYS if k in keys), None)
            )
            values = archive[x_key]
            labels = archive[y_key] if y_key else None
    except VaekitError:
        raise
    except ValueError as err:
        raise _numpy_load_error(path, err, ".npz") from None
    except Exception as err:  # noqa: BLE001 - zip/format errors of many kinds
        raise fail(path, f"not a valid .npz file ({type(err).__name__}: {err})") from None
    if labels is not None and labels.ndim == 0:
        labels = None
    return values, labels


IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the original MNIST format), plain or gzip-compressed."""
    try:
        blob = path.read_bytes()
        if blob[:2] == b"\x1f\x8b":
            blob = gzip.decompress(blob)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise fail(path, f"cannot read IDX file ({err})") from None
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in IDX_TYPES:
        raise fail(path, "not an IDX file (bad magic number)")
    ndim = blob[3]
    if ndim < 1 or len(blob) < 4 + 4 * ndim:
        raise fail(path, "IDX header is truncated")
    dims = [int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(IDX_TYPES[blob[2]])
    expected = 4 + 4 * ndim + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(blob) != expected:
        raise fail(
            path,
            f"IDX header promises {dims} values ({expected} bytes) but the file "
            f"has {len(blob)} bytes",
        )
    values = np.frombuffer(blob, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)
    return values.astype(dtype.newbyteorder("="))


def read_labels(path: Path) -> np.ndarray:
    """Labels from .npy, .npz (first label-like key), IDX, or a text/CSV file of one column."""
    if not path.exists():
        raise fail(path, "labels file not found")
    name = path.name.lower()
    if name.endswith(".npy"):
        return _load_npy(path)
    if name.endswith(".npz"):
        _, labels = _load_npz(path, None)
        if labels is None:
            raise fail(path, f"no labels array (expected one of: {', '.join(LABEL_KEYS)})")
        return labels
    if "idx" in name or "ubyte" in name:
        return read_idx(path)
    try:
        rows = [r.strip() for r in path.read_text().splitlines() if r.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise fail(path, f"cannot read labels ({err})") from None
    try:
        return np.asarray([int(float(r.split(",")[0])) for r in rows], dtype=np.int64)
    except ValueError:
        names = [r.split(",")[0] for r in rows]
        return _encode_names(names)[0]


def _encode_names(names: list[str]) -> tuple[np.ndarray, list[str]]:
    classes = sorted(set(names))
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index[n] for n in names], dtype=np.int64), classes


def read_table(source: Path | Table, label_hint: str | None) -> RawData:
    """A table: a CSV or TSV file's path, or a Table already read (from a .parquet or .xlsx
    file); ``label_hint`` names a labels file when it is not one of the columns (a column
    named there becomes the label by the schema)."""
    table = read_csv(source) if isinstance(source, Path) else source
    labels = None
    if label_hint is not None and label_hint not in table.names:
        if not Path(label_hint).expanduser().exists():
            raise fail(
                table.where, f"no column named {label_hint!r} (columns: {', '.join(table.names)})"
            )
        labels = read_labels(Path(label_hint).expanduser())
    return RawData(None, labels, table.where, table=table)


def read_frame(path: Path) -> Table:
    """A .parquet file or an .xlsx workbook's first sheet as a Table, read by pandas (which
    needs pyarrow or openpyxl: the ``formats`` extra) and taken in as a DataFrame is."""
    import pandas as pd

    suffix = next(s for s in FRAME_READERS if path.name.lower().endswith(s))
    reader, package = FRAME_READERS[suffix]
    try:
        importlib.import_module(package)
    except ImportError:
        raise fail(
            path, f"reading {suffix} files needs {package}: pip install 'vaekit[formats]'"
        ) from None
    try:
        frame = getattr(pd, reader)(path)
    except Exception as err:  # noqa: BLE001 - each format's reader fails in its own ways
        problem = " ".join(str(err).split())  # one line: some readers' messages span several
        raise fail(path, f"cannot read {suffix} file ({type(err).__name__}: {problem})") from None
    if frame.shape[1] == 0:
        raise fail(path, "is empty")
    if frame.shape[0] == 0:
        raise fail(path, "has a header but no data rows")
    return from_dataframe(frame, str(path))


def read_image_folder(folder: Path, size: list[int] | None, label_hint: str | None) -> RawData:
    """All images in a folder (labels from sub-folder names when images sit in sub-folders).

    Images must share one size unless ``size`` (H, W) is given; then each is resized to it.
    If every image is greyscale the data has one channel, else all are converted to RGB.
    """
    from PIL import Image, UnidentifiedImageError

    everything = sorted(p for p in folder.rglob("*") if p.is_file())
    files = [p for p in everything if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise fail(folder, f"no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    if len(files) < len(everything):  # say so: a mixed folder is easily read as a few images
        others = [str(p.relative_to(folder)) for p in everything if p not in files]
        log(
            f"note: {folder}: read {len(files)} image(s); passed over {len(others)} other "
            f"file(s): {listing(others, 5)}"
        )
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise VaekitError(f"--image-size: expected two positive numbers H W, got {size}")
    images = []
    for file in files:
        try:
            with Image.open(file) as img:
                img.load()
                images.append(img.copy())
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
            raise fail(file, f"not a readable image ({type(err).__name__})") from None
    grey = all(img.mode in ("1", "L", "LA", "I", "I;16", "F") for img in images)
    mode = "L" if grey else "RGB"
    if size is None and len({img.size for img in images}) > 1:
        other = next(i for i, img in enumerate(images) if img.size != images[0].size)
        (w0, h0), (w1, h1) = images[0].size, images[other].size
        raise fail(
            folder,
            f"images differ in size ({files[0].name} is {h0}x{w0}, {files[other].name} "
            f"is {h1}x{w1}); pass --image-size H W to resize all to one size",
        )
    arrays = []
    for img in images:
        img = img.convert(mode)
        if size is not None and img.size != (size[1], size[0]):
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        arrays.append(np.asarray(img, dtype=np.uint8))
    values = np.stack(arrays)
    values = values[:, None] if grey else values.transpose(0, 3, 1, 2)  # (N, C, H, W)
    labels, classes = None, None
    parents = [f.parent for f in files]
    if label_hint is not None:
        labels = read_labels(Path(label_hint).expanduser())
    elif any(p != folder for p in parents):
        labels, classes = _encode_names([str(p.relative_to(folder)) for p in parents])
    return RawData(values, labels, str(folder), scale=255.0, class_names=classes)
