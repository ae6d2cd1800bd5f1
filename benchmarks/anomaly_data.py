"""Tabular anomaly-detection data for benchmarks: six ODDS-style sets built from R's mlbench.

    python benchmarks/anomaly_data.py                  # fetch if needed, print the table
    python benchmarks/anomaly_data.py --csv-dir DIR    # also write DIR/<name>.csv

The raw data come from the Debian package ``r-cran-mlbench`` (fetched with ``apt-get download``,
unpacked with ``dpkg-deb -x``; no web URL), whose ``.rda`` files are checked against the SHA-256
sums below and cached under ``$VAEKIT_DATA/benchmarks/mlbench`` (default
``~/.cache/vaekit/benchmarks/mlbench``). They are read with the PyPI package ``rdata``, a
benchmark-only dependency (``pip install rdata``; not in pyproject.toml).

Each set becomes a float feature table plus a 0/1 outlier label, following the conventions of
ODDS (Outlier Detection DataSets, Rayana 2016), and is checked against the ODDS size:

============  ======================  ====  ========  ========  =================================
name          mlbench object          rows  features  outliers  outlier class / changes
============  ======================  ====  ========  ========  =================================
pima          PimaIndiansDiabetes      768         8       268  diabetes == "pos"
ionosphere    Ionosphere               351        33       126  Class == "bad"; V2 dropped
breastw       BreastCancer             683         9       239  "malignant"; Id and 16 NA rows out
glass         Glass                    214         9         9  Type == 6; every other type kept
satellite     Satellite               6435        36      2036  the three smallest classes
shuttle       Shuttle                49097         9      3511  not Rad.Flow; class High dropped
============  ======================  ====  ========  ========  =================================
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from debian_data import cache_dir, run, sha256

DEB_PACKAGE = "r-cran-mlbench"
# Where the package keeps its data sets, relative to the root that `dpkg-deb -x` unpacks into.
DEB_DATA_DIR = "usr/lib/R/site-library/mlbench/data"

# SHA-256 of the .rda files in r-cran-mlbench 2.1-3-1 (Debian bookworm; mlbench 2.1-3). A
# different package version may repack them: then these sums refuse it rather than let the
# benchmark silently run on other data.
RDA_SHA256: dict[str, str] = {
    "PimaIndiansDiabetes": "fc134e041577d3ff2b784e1610b6fbbe165f815abc83652ba77a28f4bccb89ec",
    "Ionosphere": "1e72974db40749e025434dbb45c815c826d3cce7c1b324fd07ee89aee44e08b7",
    "BreastCancer": "1fcf1b82128c287b2777005a93a2b76fdb4d6749ed6df05231f85953f1fc7c2b",
    "Glass": "dd6d25227d9b49c30a4de04566bec1a2877e790b7690544ad848d847144f32b7",
    "Satellite": "29f8cf9bb1bc51b769d694c9caf740fd1c36ed6a7c87603edf5985962e330f64",
    "Shuttle": "5b1db218b76a47c83f575f1ff38d7a7d36e569b0e27d8bf4aa92eae6c0bcb826",
}


@dataclass(frozen=True)
class Spec:
    """One benchmark set: which R object it comes from and how to turn it into (X, y)."""

    r_object: str
    build: Callable[[pd.DataFrame], tuple[pd.DataFrame, np.ndarray, str]]
    # (rows, features, outliers) of the ODDS .mat file of the same name; the build must match.
    odds_shape: tuple[int, int, int]


def data_dir() -> Path:
    """Cache folder for the extracted .rda files."""
    return cache_dir("mlbench")


def _check(path: Path, r_object: str) -> None:
    got, want = sha256(path), RDA_SHA256[r_object]
    if got != want:
        raise RuntimeError(
            f"refusing {path}: its SHA-256 is {got}, but {r_object}.rda from {DEB_PACKAGE} "
            f"2.1-3-1 has {want}. The package (or the cached file) is not the version these "
            "benchmarks were written for; remove the file and check `apt-cache policy "
            f"{DEB_PACKAGE}`."
        )


def fetch(deb: Path | None = None) -> Path:
    """Make sure the checked .rda files are in the cache; return the cache folder.

    Files already cached are re-checked. Otherwise the package is fetched with
    ``apt-get download`` into a temporary folder (or ``deb`` is used when given), unpacked with
    ``dpkg-deb -x``, and each file is checked before it is moved into the cache.
    """
    cache = data_dir()
    missing = [name for name in RDA_SHA256 if not (cache / f"{name}.rda").is_file()]
    for name in RDA_SHA256:
        if name not in missing:
            _check(cache / f"{name}.rda", name)
    if not missing:
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaekit-mlbench-") as tmp_name:
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
            source = root / DEB_DATA_DIR / f"{name}.rda"
            if not source.is_file():
                raise RuntimeError(f"{deb} has no {DEB_DATA_DIR}/{name}.rda")
            _check(source, name)
            partial = cache / f".{name}.rda.part"
            shutil.copyfile(source, partial)
            partial.replace(cache / f"{name}.rda")
    return cache


def read_rda(path: Path, r_object: str) -> pd.DataFrame:
    """Read one data frame from an .rda file with ``rdata``, whichever API it has."""
    try:
        import rdata
    except ImportError as exc:
        raise RuntimeError("reading mlbench's .rda files needs `pip install rdata`") from exc
    with warnings.catch_warnings():
        # mlbench's files carry no string-encoding flag; their strings are plain ASCII.
        warnings.filterwarnings("ignore", message="Unknown encoding", category=UserWarning)
        if hasattr(rdata, "read_rda"):  # rdata >= 0.10
            objects: dict[str, Any] = rdata.read_rda(path)
        else:  # older: parse, then convert
            objects = rdata.conversion.convert(rdata.parser.parse_file(path))
    frame = objects[r_object]
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{path}: {r_object} is a {type(frame).__name__}, not a data frame")
    return frame


def _to_float(column: pd.Series) -> np.ndarray:
    """A numeric or factor column as floats (NaN for R's NA).

    A factor is converted through its level labels, not its integer codes: BreastCancer's
    Mitoses has no level "9", so its codes are not its values.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = pd.to_numeric(pd.Series(np.asarray(column.cat.categories, dtype=object)))
        codes = column.cat.codes.to_numpy()
        values = levels.to_numpy(dtype=float)[np.maximum(codes, 0)]
        return np.where(codes >= 0, values, np.nan)
    return pd.to_numeric(column).to_numpy(dtype=float)


def _features(frame: pd.DataFrame, drop: list[str]) -> pd.DataFrame:
    kept = [str(c) for c in frame.columns if str(c) not in drop]
    return pd.DataFrame({c: _to_float(frame[c]) for c in kept})


def _label(column: pd.Series, outlier: str) -> np.ndarray:
    return (column.astype(str) == outlier).to_numpy(dtype=np.int64)


def _pima(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, str]:
    # ODDS "pima": the tested-positive class is the outlier class. This is the original
    # PimaIndiansDiabetes, not PimaIndiansDiabetes2: the '2' variant recodes the impossible zeros
    # (glucose, pressure, triceps, insulin, mass) as NA, and ODDS kept all 768 rows, zeros and all.
    return _features(frame, ["diabetes"]), _label(frame["diabetes"], "pos"), ""


def _ionosphere(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, str]:
    # ODDS "ionosphere": "bad" returns are outliers; 33 features, i.e. the second attribute, zero
    # in every row, is dropped. mlbench stores V1 and V2 as factors; V1 becomes 0/1.
    if frame["V2"].astype(str).nunique() != 1:
        raise ValueError("Ionosphere's V2 is expected to be constant")
    return _features(frame, ["V2", "Class"]), _label(frame["Class"], "bad"), "V2 dropped"


def _breastw(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, str]:
    # ODDS "breastw" (Wisconsin, original): malignant is the outlier class; the sample Id is not
    # a feature; the 16 rows with a missing Bare.nuclei are dropped (699 -> 683).
    features = _features(frame, ["Id", "Class"])
    complete = features.notna().all(axis=1).to_numpy()
    labels = _label(frame["Class"], "malignant")[complete]
    dropped = int((~complete).sum())
    return features[complete].reset_index(drop=True), labels, f"{dropped} rows with NA dropped"


def _glass(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, str]:
    # ODDS "glass": type 6 (tableware), a clear minority, is the outlier class. ODDS's glass.mat
    # has 214 rows x 9 features and a 4.2056% outlier share (9/214; PyOD's benchmark table of the
    # ODDS files), i.e. it keeps every row: no other class is removed, all non-6 types are inliers.
    # (mlbench's Glass has no Id column; the UCI file's Id is not a feature in ODDS either.)
    return _features(frame, ["Type"]), _label(frame["Type"], "6"), ""


def _satellite(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, str]:
    # ODDS "satellite": the three smallest classes (UCI's 2, 4 and 5: cotton crop, damp grey
    # soil, vegetation stubble) together are the outliers; all 6,435 rows kept.
    smallest = ("cotton crop", "damp grey soil", "vegetation stubble")
    labels = frame["classes"].astype(str).isin(smallest).to_numpy(dtype=np.int64)
    return _features(frame, ["classes"]), labels, "3 smallest classes are outliers"


def _shuttle(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, str]:
    # ODDS "shuttle": class 1 (Rad.Flow) is normal, classes 2, 3, 5, 6 and 7 are outliers, and
    # class 4 (High) is dropped: 58,000 -> 49,097 rows.
    kept = (frame["Class"].astype(str) != "High").to_numpy()
    labels = (frame["Class"].astype(str) != "Rad.Flow").to_numpy(dtype=np.int64)[kept]
    features = _features(frame, ["Class"])[kept].reset_index(drop=True)
    return features, labels, "class High dropped"


SPECS: dict[str, Spec] = {
    "pima": Spec("PimaIndiansDiabetes", _pima, (768, 8, 268)),
    "ionosphere": Spec("Ionosphere", _ionosphere, (351, 33, 126)),
    "breastw": Spec("BreastCancer", _breastw, (683, 9, 239)),
    "glass": Spec("Glass", _glass, (214, 9, 9)),
    # reported beside the four, not chosen (#33): the ODDS sets r-cran-mlbench can rebuild
    "satellite": Spec("Satellite", _satellite, (6435, 36, 2036)),
    "shuttle": Spec("Shuttle", _shuttle, (49097, 9, 3511)),
}
FIRST_FOUR = ("pima", "ionosphere", "breastw", "glass")
ALIASES = {"diabetes": "pima", "breastcancer": "breastw", "breast_cancer": "breastw"}
NAMES = tuple(SPECS)


def _spec(name: str) -> tuple[str, Spec]:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in SPECS:
        raise KeyError(f"unknown data set {name!r}; choose from {', '.join(NAMES)}")
    return key, SPECS[key]


def _build(name: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    key, spec = _spec(name)
    frame = read_rda(fetch() / f"{spec.r_object}.rda", spec.r_object)
    features, labels, note = spec.build(frame)
    shape = (features.shape[0], features.shape[1], int(labels.sum()))
    if shape != spec.odds_shape:
        raise ValueError(
            f"{key}: built (rows, features, outliers) {shape}, ODDS has {spec.odds_shape}"
        )
    return features, labels, note


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature table (float64 columns named as in R) and 0/1 outlier labels (int64) of a set.

    ``name`` is one of ``pima``, ``ionosphere``, ``breastw``, ``glass`` (or ``diabetes`` /
    ``breastcancer``). Fetches and checks the raw data on first use.
    """
    features, labels, _ = _build(name)
    return features, labels


def write_csv(name: str, path: str | Path) -> Path:
    """Write a set as CSV: its features, then the label as a final column named ``outlier``."""
    features, labels = load(name)
    table = features.assign(outlier=labels)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def summary() -> list[dict[str, Any]]:
    """One row per set: name, R object, rows, features, outliers, outlier share, note."""
    rows = []
    for name, spec in SPECS.items():
        features, labels, note = _build(name)
        rows.append(
            {
                "name": name,
                "r_object": spec.r_object,
                "rows": features.shape[0],
                "features": features.shape[1],
                "outliers": int(labels.sum()),
                "share": float(labels.mean()),
                "note": note,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-dir", type=Path, help="also write <name>.csv for every set here")
    args = parser.parse_args(argv)
    try:
        rows = summary()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"cache: {data_dir()}")
    header = (
        f"{'name':<11} {'mlbench object':<20} {'rows':>5} {'feats':>5} {'outl':>5} {'share':>6}"
    )
    print(f"{header}  note")
    for r in rows:
        print(
            f"{r['name']:<11} {r['r_object']:<20} {r['rows']:>5} {r['features']:>5} "
            f"{r['outliers']:>5} {r['share']:>6.1%}  {r['note']}"
        )
    if args.csv_dir is not None:
        for name in NAMES:
            print(f"wrote {write_csv(name, args.csv_dir / f'{name}.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
