"""vaekit's synthetic tables against SDV's TVAE, side by side in one run: same rows, same seeds.

    python3 -m venv /work/sdv-venv
    /work/sdv-venv/bin/pip install torch==2.13.0 sdv==2.0.0 sdmetrics==0.32.0 rdata
    /work/sdv-venv/bin/pip install -e .             # vaekit itself; SDV only in this venv
    /work/sdv-venv/bin/python benchmarks/tabular.py --seeds 3
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables student_placements --seeds 1

Tables (benchmarks/tabular_data.py: credit_data and attrition from Debian's r-cran-modeldata,
student_placements from the sdmetrics wheel, all checksummed). Each table is split once, 70/30
(scikit-learn's train_test_split, random_state 0, stratified by the target); for each seed both
libraries fit the same 70 % and generate as many rows as they were fitted on:

- SDV 2.0.0's ``TVAESynthesizer`` with its defaults (300 epochs, batch 500, 128-wide networks)
  on the metadata SDV detects (benchmarks/tabular_tvae.py).
- vaekit's VAE with the per-column likelihood and the quantile map (its defaults for tables) and
  the network and epochs in :data:`VAEKIT`, fed the same rows as a CSV file.

Both sides are scored by the same code on the same columns (vaekit's schema of the training
file): SDMetrics' quality score and its two parts (vaekit.metrics.fidelity, equal to sdmetrics'
QualityReport to 1e-6 in tests/metrics/test_fidelity.py; sdmetrics' own report with SDV's metadata
is printed beside it as a cross-check), ML usefulness (a HistGradientBoosting model trained on
synthetic rows and on real rows, tested on the held-out rows), the distance to the closest
training row and the share of exact copies, and the fit time (fit only, not sampling). Medians
over seeds; JSON in benchmarks/results/tabular.json. Fit times are comparable only within one run
on a quiet machine: the run records ``uptime`` and the CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
import tabular_data  # noqa: E402
import tabular_tvae  # noqa: E402

import vaekit  # noqa: E402
from vaekit.core import progress  # noqa: E402
from vaekit.data.table import Table, from_dataframe  # noqa: E402
from vaekit.metrics.synthetic import synthetic_table_figures  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "tabular.json"
# vaekit's settings for every table: the same command a user would type (see the README).
VAEKIT = {"latent_dim": 16, "hidden": [256, 256], "epochs": 100, "batch_size": 128}


def vaekit_fit(train: pd.DataFrame, seed: int, folder: Path) -> tuple[vaekit.Run, float]:
    """Train vaekit on ``train`` (written as a CSV file, as a user would hand it over)."""
    source = folder / "train.csv"
    train.to_csv(source, index=False)
    config = vaekit.RunConfig.from_dict(
        {
            "model": {"latent_dim": VAEKIT["latent_dim"], "hidden": VAEKIT["hidden"]},
            "data": {"source": str(source)},
            "train": {
                "epochs": VAEKIT["epochs"],
                "batch_size": VAEKIT["batch_size"],
                "seed": seed,
                "device": "cpu",
            },
        }
    )
    started = time.perf_counter()
    run = vaekit.train(config, folder / f"run-{seed}", force=True)
    return run, time.perf_counter() - started


def warm_up(train: pd.DataFrame, folder: Path) -> None:
    """One short fit of each library, untimed, so that neither timed fit pays for the
    process's one-off imports (torch's optimiser loads its compiler module on first use)."""
    from sdv.single_table import TVAESynthesizer

    small = train.head(100)
    metadata, _ = tabular_tvae.detect_metadata(small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        TVAESynthesizer(metadata, epochs=1).fit({tabular_tvae.TABLE_NAME: small})
    small.to_csv(folder / "warm.csv", index=False)
    config = {"data": {"source": str(folder / "warm.csv")}, "train": {"epochs": 1}}
    vaekit.train(vaekit.RunConfig.from_dict(config), folder / "warm", force=True)


def figures(
    train: Table, holdout: Table, fake: pd.DataFrame, run: vaekit.Run, target: str, seed: int
) -> dict:
    """Quality, privacy and usefulness of ``fake`` on the schema's columns."""
    out = synthetic_table_figures(
        train, holdout, from_dataframe(fake, "synthetic"), run.schema.columns, target, seed
    )
    for part in ("columns", "pairs"):
        out["quality"].pop(part)
    return out


def one_seed(name: str, train_df, hold_df, target: str, seed: int, folder: Path) -> dict:
    """Both libraries on one seed: fit, sample, score."""
    train, holdout = from_dataframe(train_df, "train"), from_dataframe(hold_df, "held out")
    run, vaekit_seconds = vaekit_fit(train_df, seed, folder)
    ours = run.sample(len(train_df), seed=seed)
    tvae_fit = tabular_tvae.fit_tvae_detail(train_df, seed)
    theirs = tabular_tvae.sample_tvae(tvae_fit.synthesizer, len(train_df), seed)
    result = {}
    for side, fake, seconds in (
        ("vaekit", ours, vaekit_seconds),
        ("tvae", theirs, tvae_fit.seconds),
    ):
        row = figures(train, holdout, fake, run, target, seed)
        row["fit_seconds"] = seconds
        metadata = tvae_fit.synthesizer.get_metadata()
        cross = tabular_tvae.sdmetrics_quality(hold_df, typed_like(hold_df, fake), metadata)
        row["sdmetrics_report"] = cross
        result[side] = row
    return result


def typed_like(real: pd.DataFrame, fake: pd.DataFrame) -> pd.DataFrame:
    """``fake`` with ``real``'s column types (vaekit writes a CSV's cells: True as "True"), so
    sdmetrics compares values, not spellings."""
    out = fake.copy()
    for name in real.columns:
        dtype = real[name].dtype
        if pd.api.types.is_bool_dtype(dtype) and out[name].dtype == object:
            out[name] = out[name].map({"True": True, "False": False})
        elif str(dtype) == "Int64" or pd.api.types.is_integer_dtype(dtype):
            out[name] = pd.array(out[name].round(), dtype="Int64").astype(dtype)
    return out


def headline(row: dict) -> dict[str, float]:
    """The numbers the table prints, from one side's figures."""
    q, p, u = row["quality"], row["privacy"], row["usefulness"]
    metric = "f1" if "f1" in u["synthetic"] else "r2"
    return {
        "quality": q["overall"],
        "shapes": q["column_shapes"],
        "pairs": q["column_pair_trends"],
        "usefulness": u["synthetic"][metric],
        "usefulness_real": u["real"][metric],
        "dcr_synthetic": p["synthetic_to_train"],
        "dcr_holdout": p["holdout_to_train"],
        "copies": p["synthetic_copies"],
        "copies_holdout": p["holdout_copies"],
        "closer_to_train": p["closer_to_train"],
        "fit_seconds": row["fit_seconds"],
        "sdmetrics_quality": row["sdmetrics_report"]["overall"],
    }


def medians(rows: list[dict]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rows) for key in rows[0]}


def machine() -> dict:
    """What the timings were taken on."""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    names = [ln.split(":", 1)[1].strip() for ln in flags.splitlines() if "model name" in ln]
    model = names[0] if names else ""
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "native_bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "uptime": os.getloadavg(),
    }


def print_table(results: dict) -> None:
    cols = ["quality", "shapes", "pairs", "usefulness", "copies", "closer_to_train", "fit_seconds"]
    print(f"\n{'table':<20}{'side':<8}" + "".join(f"{c:>16}" for c in cols))
    for name, entry in results["tables"].items():
        for side in ("vaekit", "tvae"):
            m = entry["median"][side]
            print(f"{name:<20}{side:<8}" + "".join(f"{m[c]:>16.4f}" for c in cols))
        ratio = entry["median"]["vaekit"]["fit_seconds"] / entry["median"]["tvae"]["fit_seconds"]
        print(f"{'':<20}fit time vaekit / tvae: {ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(tabular_data.TABLES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    progress.QUIET = True
    results: dict = {"machine_before": machine(), "vaekit_settings": VAEKIT, "tables": {}}
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(tabular_data.load(args.tables[0]), Path(tmp))
        for name in args.tables:
            frame = tabular_data.load(name)
            target = tabular_data.TARGETS[name]
            train_df, hold_df = train_test_split(
                frame, test_size=0.3, random_state=0, stratify=frame[target]
            )
            per_seed = []
            for seed in range(args.seeds):
                folder = Path(tmp) / f"{name}-{seed}"
                folder.mkdir()
                per_seed.append(one_seed(name, train_df, hold_df, target, seed, folder))
                print(
                    f"{name} seed {seed}: "
                    + ", ".join(
                        f"{side} quality {r['quality']['overall']:.4f} fit {r['fit_seconds']:.1f}s"
                        for side, r in per_seed[-1].items()
                    ),
                    flush=True,
                )
            heads = {s: [headline(r[s]) for r in per_seed] for s in ("vaekit", "tvae")}
            results["tables"][name] = {
                "rows": {"train": len(train_df), "held_out": len(hold_df)},
                "target": target,
                "median": {s: medians(h) for s, h in heads.items()},
                "per_seed": per_seed,
            }
            results["machine_after"] = machine()
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1, default=_jsonable))
    print_table(results)
    return 0


def _jsonable(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return float(value)


if __name__ == "__main__":
    raise SystemExit(main())
