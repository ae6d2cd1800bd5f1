"""Mixed-type tables for the tabular synthesis benchmark: two from R's modeldata, one SDV demo,
vaekit's built-in penguins.

    python benchmarks/tabular_data.py                  # fetch if needed, print the table
    python benchmarks/tabular_data.py --csv-dir DIR    # also write DIR/<name>.csv

``credit_data`` and ``attrition`` come from the Debian package ``r-cran-modeldata`` (fetched with
``apt-get download``, unpacked with ``dpkg-deb -x``; no web URL). modeldata keeps its data sets
in R's lazy-load database (``data/Rdata.rdb`` plus the index ``Rdata.rdx``), not in ``.rda``
files: both files are checked against the SHA-256 sums below and cached under
``$VAEKIT_DATA/benchmarks/modeldata`` (default ``~/.cache/vaekit/benchmarks/modeldata``); an
object is cut out of the database with the offsets in the index, decompressed (xz) and read with
the PyPI package ``rdata``, a benchmark-only dependency (``pip install rdata``; not in
pyproject.toml).

``student_placements`` is the single-table demo of SDMetrics: the file
``sdmetrics/demos/single_table/student_placements_real.csv`` of the ``sdmetrics`` 0.32.0 wheel.
It is taken from an installed sdmetrics when that copy has the SHA-256 below, else from the wheel
fetched with ``pip download sdmetrics==0.32.0 --no-deps``, and cached under
``$VAEKIT_DATA/benchmarks/sdmetrics``.

``penguins`` is vaekit's built-in table (``vaekit.data.builtin.PENGUINS``, the ``penguins.csv``
vaekit ships), read with ``pandas.read_csv`` after checking the file against
``vaekit.data.builtin.PENGUINS_SHA256``.

Every table keeps its missing values as missing (R's NA, an empty CSV cell). Text columns (R
factors, ordered ones included) are ``object`` columns of strings, integer columns are ``int64``
(pandas' nullable ``Int64`` where a value is missing), real columns ``float64``, logical columns
``bool``. ``target`` is the column the machine-learning-usefulness test predicts.

======================  =====================  =====  ====  ======  ========  ===================
name                    source                  rows  cols  target  NA cells  changes
======================  =====================  =====  ====  ======  ========  ===================
credit_data             modeldata credit_data  4,454    14  Status       455  none
attrition               modeldata attrition    1,470    31  Attr.          0  R row names dropped
student_placements      sdmetrics demo           215    16  placed       268  student_id dropped;
                                                                              dates as day numbers
student_placements_raw  sdmetrics demo           215    17  placed       268  none (as shipped)
penguins                vaekit's penguins.csv    344     7  species       19  none (as shipped)
======================  =====================  =====  ====  ======  ========  ===================

credit_data: Status is "good" / "bad" (credit scoring, Universidad Politecnica de Catalunya);
the NA are in Home (6), Marital (1), Job (2), Income (381), Assets (47), Debt (18).

attrition: IBM's fictional HR attrition table as modeldata ships it (Attrition "Yes" / "No";
modeldata already left out EmployeeNumber and the constant EmployeeCount, Over18 and
StandardHours). Its R row names are the employee numbers, an identifier: they are not kept.
Ordered factors (Education, the satisfaction scales, PerformanceRating, ...) become their labels.

student_placements: the column ``student_id`` (a unique identifier, SDV's primary key) is
dropped, since an identifier is not something to synthesise. ``start_date`` and ``end_date``
(ISO dates, 2020-01-01 to 2021-01-28) become whole days since 2020-01-01 (``Int64``), so both
libraries see them as numbers. salary, start_date, end_date and duration are missing exactly
for the 67 students not placed.

student_placements_raw: the same checked file as shipped, nothing converted by hand: its key
``student_id`` (unique integers), its dates as text ``YYYY-MM-DD`` (``object`` columns, empty
where missing), salary and duration as the file's floats. The spec records what a user would
tell a synthesizer about it: the key, the dates' format, the rule ``start_date <= end_date``
(true on every row) and the missing-together group (salary, start_date, end_date, duration
missing exactly where placed is False).

penguins: the Palmer penguins (species, island, sex as text; four measurements as float64, the
whole-number ones too, since they have missing values). Its spec declares the rule
``fixed: species, island`` (only the five species / island pairs seen in training: Gentoo only
on Biscoe, Chinstrap only on Dream), what a user would tell a synthesizer about it.
"""

from __future__ import annotations

import argparse
import importlib.util
import lzma
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from debian_data import cache_dir, run, sha256

DEB_PACKAGE = "r-cran-modeldata"
DEB_VERSION = "1.1.0-1"
# Where the package keeps its lazy-load data base, relative to the root `dpkg-deb -x` unpacks into.
DEB_DATA_DIR = "usr/lib/R/site-library/modeldata/data"

# SHA-256 of the lazy-load data base in r-cran-modeldata 1.1.0-1 (Debian bookworm; modeldata
# 1.1.0). A different package version may repack it: these sums then refuse it rather than let
# the benchmark silently run on other data.
MODELDATA_SHA256: dict[str, str] = {
    "Rdata.rdb": "2ecef5e8da0f782ae4e3f65d928fe769702accffd8981cc358a3097f6736f58f",
    "Rdata.rdx": "c23e1be60f2730fb526ce158a307e154c91a953169fcb8e73350c4e032e14538",
}

SDMETRICS_REQUIREMENT = "sdmetrics==0.32.0"
# The demo table inside the wheel (sdmetrics-0.32.0-py3-none-any.whl, SHA-256
# d37547931ffa10bb6267f3b82340f9bcd1a3baceabfb5eb18de93053ed541638).
SDMETRICS_MEMBER = "sdmetrics/demos/single_table/student_placements_real.csv"
SDMETRICS_SHA256 = "635a3c0aeae2f6f337b529cd75870190aaac9819e5e74502fe9b02c117780fdb"

# Day 0 of the day numbers that replace student_placements' dates.
DATE_ORIGIN = pd.Timestamp("2020-01-01")


@dataclass(frozen=True)
class Spec:
    """One benchmark table: where it comes from, how it is built, its shape and its target."""

    source: str
    build: Callable[[], pd.DataFrame]
    shape: tuple[int, int]
    target: str
    note: str
    # What a user would declare about the table as shipped (only student_placements_raw):
    key: str | None = None  # a unique identifier column
    dates: dict[str, str] = field(default_factory=dict)  # date column -> its strftime format
    # rules: comparisons "low <= high" between columns, "fixed: a, b" (only pairs seen)
    rules: tuple[str, ...] = ()
    # (columns missing together, the flag column, the flag's value where they are missing)
    missing_together: tuple[tuple[str, ...], str, Any] | None = None


def data_dir() -> Path:
    """Cache folder of the benchmark data (``$VAEKIT_DATA/benchmarks``)."""
    return cache_dir("")


def _check(path: Path, want: str, what: str, hint: str) -> None:
    got = sha256(path)
    if got != want:
        raise RuntimeError(
            f"refusing {path}: its SHA-256 is {got}, but {what} has {want}. It is not the "
            f"version these benchmarks were written for; remove the file and {hint}."
        )


def _store(source: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, partial)
    partial.replace(target)


def fetch_modeldata(deb: Path | None = None) -> Path:
    """Make sure modeldata's checked lazy-load data base is cached; return the cache folder.

    Files already cached are re-checked. Otherwise the package is fetched with
    ``apt-get download`` into a temporary folder (or ``deb`` is used when given), unpacked with
    ``dpkg-deb -x``, and each file is checked before it is moved into the cache.
    """
    cache = data_dir() / "modeldata"
    what = f"{DEB_PACKAGE} {DEB_VERSION}'s"
    hint = f"check `apt-cache policy {DEB_PACKAGE}`"
    missing = [name for name in MODELDATA_SHA256 if not (cache / name).is_file()]
    for name, want in MODELDATA_SHA256.items():
        if name not in missing:
            _check(cache / name, want, f"{what} {name}", hint)
    if not missing:
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaekit-modeldata-") as tmp_name:
        tmp = Path(tmp_name)
        if deb is None:
            run(["apt-get", "download", DEB_PACKAGE], cwd=tmp, package=DEB_PACKAGE)
            debs = sorted(tmp.glob(f"{DEB_PACKAGE}_*.deb"))
            if not debs:
                raise RuntimeError(f"`apt-get download {DEB_PACKAGE}` left no .deb in {tmp}")
            deb = debs[-1]
        root = tmp / "root"
        run(["dpkg-deb", "-x", str(Path(deb).resolve()), str(root)], cwd=tmp, package=DEB_PACKAGE)
        for name in missing:
            source = root / DEB_DATA_DIR / name
            if not source.is_file():
                raise RuntimeError(f"{deb} has no {DEB_DATA_DIR}/{name}")
            _check(source, MODELDATA_SHA256[name], f"{what} {name}", hint)
            _store(source, cache / name)
    return cache


def _installed_sdmetrics_copy() -> Path | None:
    """The demo file of an installed sdmetrics, located without importing the package."""
    try:
        spec = importlib.util.find_spec("sdmetrics")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder).parent / SDMETRICS_MEMBER
        if candidate.is_file():
            return candidate
    return None


def fetch_sdmetrics(wheel: Path | None = None) -> Path:
    """Make sure the checked student_placements CSV is cached; return its path.

    A cached file is re-checked. Otherwise the copy of an installed sdmetrics is used when its
    SHA-256 matches, else the file is taken out of the sdmetrics 0.32.0 wheel: ``wheel`` when
    given, else one fetched with ``pip download sdmetrics==0.32.0 --no-deps`` into a
    temporary folder. The file is checked before it is moved into the cache.
    """
    target = data_dir() / "sdmetrics" / Path(SDMETRICS_MEMBER).name
    what = f"{SDMETRICS_MEMBER} of {SDMETRICS_REQUIREMENT}"
    hint = "fetch it again"
    if target.is_file():
        _check(target, SDMETRICS_SHA256, what, hint)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    installed = _installed_sdmetrics_copy()
    if wheel is None and installed is not None and sha256(installed) == SDMETRICS_SHA256:
        _store(installed, target)
        return target
    with tempfile.TemporaryDirectory(prefix="vaekit-sdmetrics-") as tmp_name:
        tmp = Path(tmp_name)
        if wheel is None:
            cmd = [sys.executable, "-m", "pip", "download", SDMETRICS_REQUIREMENT, "--no-deps"]
            cmd += ["--only-binary=:all:", "--disable-pip-version-check", "-d", str(tmp)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            wheels = sorted(tmp.glob("sdmetrics-*.whl"))
            if done.returncode != 0 or not wheels:
                raise RuntimeError(
                    f"`{' '.join(cmd)}` failed with exit {done.returncode}:\n{done.stderr.strip()}"
                )
            wheel = wheels[-1]
        with zipfile.ZipFile(wheel) as archive:
            if SDMETRICS_MEMBER not in archive.namelist():
                raise RuntimeError(f"{wheel} has no {SDMETRICS_MEMBER}")
            extracted = Path(archive.extract(SDMETRICS_MEMBER, tmp / "unpacked"))
        _check(extracted, SDMETRICS_SHA256, what, hint)
        _store(extracted, target)
    return target


def _rdata() -> Any:
    try:
        import rdata
    except ImportError as exc:
        raise RuntimeError("reading modeldata's data base needs `pip install rdata`") from exc
    return rdata


def _unpack_lazyload(blob: bytes, compressed: int) -> bytes:
    """Decompress one entry of an R lazy-load data base (R's ``lazyLoadDBfetch``).

    An entry is the big-endian length of the serialised object, then (compression 2 and 3) a
    type byte: ``Z`` raw LZMA2 (xz), ``2`` bzip2, ``0`` stored; compression 1 is zlib.
    """
    (size,) = struct.unpack(">I", blob[:4])
    if compressed == 1:
        data = zlib.decompress(blob[4:])
    else:
        kind, body = blob[4:5], blob[5:]
        if kind == b"Z":
            lzma2 = {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}
            data = lzma.decompress(body, format=lzma.FORMAT_RAW, filters=[lzma2])
        elif kind == b"2":
            import bz2

            data = bz2.decompress(body)
        elif kind == b"0":
            data = body
        else:
            raise ValueError(f"unknown lazy-load compression type {kind!r}")
    if len(data) != size:
        raise ValueError(f"lazy-load entry decompressed to {len(data)} bytes, expected {size}")
    return data


def read_lazyload(folder: Path, r_object: str) -> pd.DataFrame:
    """Read one data frame from the lazy-load data base ``Rdata.rdb`` / ``Rdata.rdx`` in folder."""
    rdata = _rdata()
    index = rdata.read_rds(folder / "Rdata.rdx")
    variables = index["variables"]
    if r_object not in variables:
        raise KeyError(f"{folder}/Rdata.rdx has no object {r_object!r}")
    offset, length = (int(v) for v in np.asarray(variables[r_object]).ravel()[:2])
    compressed = int(np.asarray(index["compressed"]).ravel()[0])
    with (folder / "Rdata.rdb").open("rb") as handle:
        handle.seek(offset)
        blob = handle.read(length)
    data = _unpack_lazyload(blob, compressed)
    with warnings.catch_warnings():
        # Plain serialisations carry no file magic; rdata warns before it parses them as RDS.
        warnings.filterwarnings("ignore", message="Unknown file type", category=UserWarning)
        frame = rdata.conversion.convert(rdata.parser.parse_data(data, extension=".rds"))
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{r_object} is a {type(frame).__name__}, not a data frame")
    return frame


def _plain(column: pd.Series) -> pd.Series:
    """One column in the benchmark's dtypes: strings, int64 / Int64, float64 or bool."""
    values = column.reset_index(drop=True)
    if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
        text = values.astype(object)
        present = text.notna()
        text[present] = text[present].map(str)
        return text.where(present, np.nan)
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean") if values.isna().any() else values.astype(bool)
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("Int64") if values.isna().any() else values.astype(np.int64)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(np.float64)
    raise TypeError(f"column {column.name!r} has unsupported dtype {values.dtype}")


def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({str(name): _plain(frame[name]) for name in frame.columns})


def _credit_data() -> pd.DataFrame:
    return _plain_frame(read_lazyload(fetch_modeldata(), "credit_data"))


def _attrition() -> pd.DataFrame:
    # The row names (employee numbers) are left behind by _plain's reset_index.
    return _plain_frame(read_lazyload(fetch_modeldata(), "attrition"))


def _student_placements() -> pd.DataFrame:
    raw = pd.read_csv(fetch_sdmetrics())
    if not raw["student_id"].is_unique:
        raise ValueError("student_placements' student_id is expected to be unique")
    frame = raw.drop(columns=["student_id"])
    for name in ("start_date", "end_date"):
        dates = pd.to_datetime(frame[name], format="%Y-%m-%d")
        frame[name] = pd.array((dates - DATE_ORIGIN).dt.days, dtype="Int64")
    # salary and duration are whole numbers stored as floats because of their NA.
    for name in ("salary", "duration"):
        values = frame[name]
        if not np.all(np.mod(values.dropna(), 1) == 0):
            raise ValueError(f"student_placements' {name} is expected to hold whole numbers")
        frame[name] = values.astype("Int64")
    return _plain_frame(frame)


def _student_placements_raw() -> pd.DataFrame:
    raw = pd.read_csv(fetch_sdmetrics())
    if not raw["student_id"].is_unique:
        raise ValueError("student_placements' student_id is expected to be unique")
    return _plain_frame(raw)


def _penguins() -> pd.DataFrame:
    from vaekit.data.builtin import PENGUINS, PENGUINS_SHA256

    _check(PENGUINS, PENGUINS_SHA256, "vaekit's penguins.csv", "reinstall vaekit")
    return _plain_frame(pd.read_csv(PENGUINS))


SPECS: dict[str, Spec] = {
    "credit_data": Spec("modeldata credit_data", _credit_data, (4454, 14), "Status", ""),
    "attrition": Spec("modeldata attrition", _attrition, (1470, 31), "Attrition", "row names out"),
    "student_placements": Spec(
        "sdmetrics 0.32.0 demo",
        _student_placements,
        (215, 16),
        "placed",
        "student_id out; dates as days",
    ),
    "student_placements_raw": Spec(
        "sdmetrics 0.32.0 demo",
        _student_placements_raw,
        (215, 17),
        "placed",
        "as shipped: student_id, text dates",
        key="student_id",
        dates={"start_date": "%Y-%m-%d", "end_date": "%Y-%m-%d"},
        rules=("start_date <= end_date",),
        missing_together=(("salary", "start_date", "end_date", "duration"), "placed", False),
    ),
    "penguins": Spec(
        "vaekit's penguins.csv",
        _penguins,
        (344, 7),
        "species",
        "as shipped; rule fixed: species, island",
        rules=("fixed: species, island",),
    ),
}
TABLES = tuple(SPECS)
TARGETS: dict[str, str] = {name: spec.target for name, spec in SPECS.items()}


def _spec(name: str) -> Spec:
    if name not in SPECS:
        raise KeyError(f"unknown table {name!r}; choose from {', '.join(TABLES)}")
    return SPECS[name]


def load(name: str) -> pd.DataFrame:
    """One benchmark table as a DataFrame (missing values kept; dtypes as in the module doc).

    ``name`` is one of ``credit_data``, ``attrition``, ``student_placements``,
    ``student_placements_raw``, ``penguins``. Fetches and
    checks the raw data on first use; the default target column is ``TARGETS[name]``.
    """
    spec = _spec(name)
    frame = spec.build()
    if frame.shape != spec.shape:
        raise ValueError(f"{name}: built shape {frame.shape}, expected {spec.shape}")
    if spec.target not in frame.columns or frame[spec.target].isna().any():
        raise ValueError(f"{name}: target {spec.target!r} is missing or has missing values")
    return frame


def write_csv(name: str, path: str | Path) -> Path:
    """Write a table as CSV, missing values as empty cells; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    load(name).to_csv(path, index=False)
    return path


def _kind(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    return "num" if pd.api.types.is_numeric_dtype(dtype) else "text"


def describe(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts of a table: rows, columns, numeric / text / bool columns, missing cells and rows."""
    kinds = [_kind(dtype) for dtype in frame.dtypes]
    return {
        "rows": frame.shape[0],
        "columns": frame.shape[1],
        "numeric": kinds.count("num"),
        "text": kinds.count("text"),
        "bool": kinds.count("bool"),
        "missing_cells": int(frame.isna().sum().sum()),
        "missing_rows": int(frame.isna().any(axis=1).sum()),
    }


def summary() -> list[dict[str, Any]]:
    """One row per table: name, source, the counts of ``describe``, target and its classes."""
    rows = []
    for name, spec in SPECS.items():
        frame = load(name)
        classes = frame[spec.target].value_counts().sort_index()
        rows.append(
            {
                "name": name,
                "source": spec.source,
                **describe(frame),
                "target": spec.target,
                "classes": ", ".join(f"{k}: {v}" for k, v in classes.items()),
                "note": spec.note,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Fetch what is missing, print one line per table, optionally write the CSVs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-dir", type=Path, help="also write <name>.csv for every table here")
    args = parser.parse_args(argv)
    try:
        rows = summary()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"cache: {data_dir()}")
    header = (
        f"{'name':<22} {'source':<22} {'rows':>5} {'cols':>4} {'num':>3} {'txt':>3} "
        f"{'bool':>4} {'NA':>4} {'NArow':>5}  {'target':<9} classes"
    )
    print(header)
    for r in rows:
        print(
            f"{r['name']:<22} {r['source']:<22} {r['rows']:>5} {r['columns']:>4} "
            f"{r['numeric']:>3} {r['text']:>3} {r['bool']:>4} {r['missing_cells']:>4} "
            f"{r['missing_rows']:>5}  {r['target']:<9} {r['classes']}"
            + (f"  ({r['note']})" if r["note"] else "")
        )
    if args.csv_dir is not None:
        for name in TABLES:
            print(f"wrote {write_csv(name, args.csv_dir / f'{name}.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
