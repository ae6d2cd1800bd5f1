"""Does `vaekit score --fpr` flag new normal data at the rate asked for, on real data?

    python benchmarks/fpr.py --seeds 5

For each dataset and seed, the normal rows are shuffled and split: half to train a VAE (the
README's settings for tables; 30 epochs for the digits), a quarter to calibrate
(``run.calibrate``, -log p(x) with K = 100), a quarter kept as new normal data. The realised
false-alarm rate is the share of the new normal rows scored above the threshold for each rate
asked for. The conformal guarantee is on the average over calibration sets: between
rate - 1/(n + 1) and rate; one calibration set of n rows and m new rows scatters around it by
about sqrt(rate (1 - rate) (1/n + 1/m)). Datasets: credit_data (4,454 rows, the table
benchmark's copy: benchmarks/tabular_data.py), the built-in students (215 rows: a small
calibration set) and scikit-learn's 8x8 digits (1,797 images). credit_data leaves out the 27
rows missing a value in a column with fewer than 20 missing (Home, Marital, Job, Debt): such a
value may be missing nowhere in the training half, and is then refused. Prints a table; JSON in
benchmarks/results/fpr.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

import vaekit  # noqa: E402
from vaekit.core import progress  # noqa: E402
from vaekit.data.builtin import STUDENTS, read_digits  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "fpr.json"
RATES = (0.01, 0.05, 0.1)
TABLE = {"latent_dim": 16, "hidden": [256, 256], "epochs": 100, "batch_size": 128}
IMAGES = {"latent_dim": 8, "hidden": [256], "epochs": 30}


def datasets() -> dict:
    """Each dataset's normal rows: a DataFrame, or float images in [0, 1]."""
    import tabular_data

    credit = tabular_data.load("credit_data")
    # A column missing in a handful of rows may have none missing in the training half, and
    # vaekit then refuses a missing value in it: those few rows are left out.
    rare = [c for c in credit.columns if 0 < credit[c].isna().sum() < 20]
    out = {"credit_data": credit.dropna(subset=rare), "students": pd.read_csv(STUDENTS)}
    raw = read_digits()
    out["digits"] = (raw.values / 16.0).astype(np.float32)
    return out


def one(data, seed: int, folder: Path) -> dict:
    """Realised false-alarm rates of one split of ``data`` by ``seed``."""
    order = np.random.default_rng(seed).permutation(len(data))
    half, three = len(order) // 2, 3 * len(order) // 4
    take = (lambda rows: data.iloc[rows]) if isinstance(data, pd.DataFrame) else data.__getitem__
    train, calibration, new = take(order[:half]), take(order[half:three]), take(order[three:])
    options = TABLE if isinstance(data, pd.DataFrame) else IMAGES
    run = vaekit.fit(train, folder / f"s{seed}", force=True, seed=seed, **options)
    record = run.calibrate(calibration, k=100, seed=seed)
    scores = np.asarray(run.score(new, k=100, seed=seed))
    return {
        "calibration": record.n,
        "new": len(scores),
        **{f"{rate:g}": _realised(record, scores, rate) for rate in RATES},
    }


def _realised(record, scores: np.ndarray, rate: float) -> float | None:
    """The share of ``scores`` above the threshold for ``rate`` (None: too few calibration
    examples to set it)."""
    if not record.can_set(rate):
        return None
    return float(np.mean(scores > record.threshold(rate)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    progress.QUIET = True
    results: dict = {"machine": {"cpu": platform.processor() or platform.machine()}, "tables": {}}
    with tempfile.TemporaryDirectory() as folder:
        for name, data in datasets().items():
            rows = [one(data, seed, Path(folder) / name) for seed in range(args.seeds)]
            results["tables"][name] = {"seeds": rows}
            n = rows[0]["calibration"]
            cells = []
            for rate in RATES:
                realised = [r[f"{rate:g}"] for r in rows if r[f"{rate:g}"] is not None]
                if not realised:
                    cells.append(f"{rate:.0%}: too few to set")
                    continue
                low, high = min(realised), max(realised)
                cells.append(f"{rate:.0%}: {np.mean(realised):.3f} ({low:.3f}–{high:.3f})")
            print(f"{name:12s} n = {n:4d}  " + "  ".join(cells), flush=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
