"""Which column made a row unusual: `vaekit score --explain` against PyOD's ECOD per-dimension
scores, side by side on the same rows.

    /work/sdv-venv/bin/pip install pyod       # PyOD only in the benchmark venv
    /work/sdv-venv/bin/python benchmarks/explain.py --seeds 3

For each table and seed: the rows without missing values, split 70/30 (seeded); vaekit fits the
70 % with the README's table settings, ECOD (PyOD 3.6.7, defaults) the same rows one-hot encoded
and standardised. Each held-out row then gets one column corrupted, the columns taken in turn: a
number moved 6 training standard deviations up or down (alternately), a category replaced by
another seen in training. The explanation's top column is vaekit's largest per-column nats
(`run.explain`), ECOD's largest per-column outlier score (its per-dimension scores ``O`` after
``decision_function``, a one-hot group summed). Top-1 accuracy: the share of rows whose top
column is the corrupted one (vaekit's: the column most above its median nats over the training
rows, as `score --explain` names it). Tables: penguins (built in), credit_data and attrition
(benchmarks/tabular_data.py). JSON in benchmarks/results/explain.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

import vaekit  # noqa: E402
from vaekit.core import progress  # noqa: E402
from vaekit.data.builtin import PENGUINS  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "explain.json"
SETTINGS = {"latent_dim": 16, "hidden": [256, 256], "epochs": 100, "batch_size": 128}
SHIFT = 6.0  # standard deviations a corrupted number moves
HEADINGS = (
    "vaekit",
    "ecod",
    "vaekit numbers",
    "ecod numbers",
    "vaekit categories",
    "ecod categories",
)


def tables() -> dict[str, pd.DataFrame]:
    """Each table's rows without a missing value."""
    import tabular_data

    out = {"penguins": pd.read_csv(PENGUINS)}
    out.update({name: tabular_data.load(name) for name in ("credit_data", "attrition")})
    return {name: frame.dropna().reset_index(drop=True) for name, frame in out.items()}


def corrupt(held: pd.DataFrame, train: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, list]:
    """Each held-out row with one column changed (the columns in turn) and which one."""
    rng = np.random.default_rng(seed)
    rows, changed = held.copy(), []
    for name in rows.columns:  # a shifted whole number is a fraction
        if pd.api.types.is_numeric_dtype(rows[name]) and not pd.api.types.is_bool_dtype(rows[name]):
            rows[name] = rows[name].astype(np.float64)
    columns = list(held.columns)
    for i in range(len(rows)):
        name = columns[i % len(columns)]
        value = rows.iloc[i][name]
        if _is_number(train[name]):
            step = SHIFT * float(train[name].std()) * (1 if i % 2 else -1)
            rows.iloc[i, rows.columns.get_loc(name)] = value + step
        else:
            others = [v for v in train[name].unique() if v != value]
            rows.iloc[i, rows.columns.get_loc(name)] = others[rng.integers(len(others))]
        changed.append(name)
    return rows, changed


def ecod_top(train: pd.DataFrame, rows: pd.DataFrame) -> list[str]:
    """ECOD's top column per row: its per-dimension scores, a one-hot group summed."""
    from pyod.models.ecod import ECOD

    both = pd.get_dummies(pd.concat([train, rows]), dtype=float)
    owner = [next(c for c in train.columns if d == c or d.startswith(f"{c}_")) for d in both]
    x = both.to_numpy(dtype=np.float64)
    x = (x - x[: len(train)].mean(0)) / np.maximum(x[: len(train)].std(0), 1e-12)
    detector = ECOD().fit(x[: len(train)])
    detector.decision_function(x[len(train) :])
    per_dimension = detector.O[-len(rows) :]
    per_column = pd.DataFrame(per_dimension, columns=owner).T.groupby(level=0).sum().T
    return list(per_column.idxmax(axis=1))


def one(frame: pd.DataFrame, seed: int, folder: Path) -> dict:
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.7 * len(frame))
    train, held = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
    rows, changed = corrupt(held, train, seed)
    run = vaekit.fit(train, folder, force=True, seed=seed, **SETTINGS)
    vaekit_top = list(run.explain(rows, over_typical=True).idxmax(axis=1))
    ecod = ecod_top(train, rows)
    numbers = np.array([_is_number(train[name]) for name in changed])
    out: dict = {"rows": len(rows)}
    for side, top in (("vaekit", vaekit_top), ("ecod", ecod)):
        hits = np.array([a == b for a, b in zip(top, changed, strict=True)])
        out[side] = float(hits.mean())
        out[f"{side} numbers"] = float(hits[numbers].mean())  # moved 6 SD
        out[f"{side} categories"] = float(hits[~numbers].mean())  # swapped
    return out


def _is_number(column: pd.Series) -> bool:
    """Whether a corrupted value of ``column`` is moved (a number) or swapped (a category)."""
    return pd.api.types.is_numeric_dtype(column) and column.nunique() > 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    progress.QUIET = True
    results: dict = {"shift_sd": SHIFT, "settings": SETTINGS, "tables": {}}
    print(f"{'top-1':12s} {'rows':>5s} " + " ".join(f"{k:>10s}" for k in HEADINGS))
    with tempfile.TemporaryDirectory() as folder:
        for name, frame in tables().items():
            seeds = [one(frame, s, Path(folder) / f"{name}{s}") for s in range(args.seeds)]
            median = {k: float(np.median([r[k] for r in seeds])) for k in seeds[0] if k != "rows"}
            results["tables"][name] = {"seeds": seeds, "median": median}
            cells = " ".join(f"{median[k]:>10.3f}" for k in HEADINGS)
            print(f"{name:12s} {seeds[0]['rows']:5d} {cells}", flush=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
