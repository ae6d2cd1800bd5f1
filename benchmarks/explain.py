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
column is the corrupted one. Tables: penguins (built in), credit_data and attrition
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
    columns = list(held.columns)
    for i in range(len(rows)):
        name = columns[i % len(columns)]
        value = rows.iloc[i][name]
        if pd.api.types.is_numeric_dtype(train[name]) and train[name].nunique() > 2:
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
    x = both.to_numpy()
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
    vaekit_top = list(run.explain(rows).idxmax(axis=1))
    ecod = ecod_top(train, rows)
    return {
        "rows": len(rows),
        "vaekit": float(np.mean([a == b for a, b in zip(vaekit_top, changed, strict=True)])),
        "ecod": float(np.mean([a == b for a, b in zip(ecod, changed, strict=True)])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    progress.QUIET = True
    results: dict = {"shift_sd": SHIFT, "settings": SETTINGS, "tables": {}}
    print(f"{'table':12s} {'rows':>5s} {'vaekit top-1':>13s} {'ECOD top-1':>11s}  (medians)")
    with tempfile.TemporaryDirectory() as folder:
        for name, frame in tables().items():
            seeds = [one(frame, s, Path(folder) / f"{name}{s}") for s in range(args.seeds)]
            median = {k: float(np.median([r[k] for r in seeds])) for k in ("vaekit", "ecod")}
            results["tables"][name] = {"seeds": seeds, "median": median}
            line = f"{name:12s} {seeds[0]['rows']:5d} {median['vaekit']:13.3f}"
            print(f"{line} {median['ecod']:11.3f}", flush=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
