"""vaekit's synthetic tables against SDV's TVAE, side by side in one run: same rows, same seeds.

    python3 -m venv /work/sdv-venv
    /work/sdv-venv/bin/pip install torch==2.13.0 sdv==2.0.0 sdmetrics==0.32.0 rdata
    /work/sdv-venv/bin/pip install -e .             # vaekit itself; SDV only in this venv
    /work/sdv-venv/bin/python benchmarks/tabular.py --seeds 3
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables student_placements --seeds 1
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables student_placements_raw --seeds 3 \
        --out benchmarks/results/tabular_raw.json
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables credit_data --vaekit-only

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
over seeds; JSON in benchmarks/results/tabular.json (the default tables; ``--tables`` naming
others writes benchmarks/results/tabular-<names>.json unless ``--out`` says where). Fit times are
comparable only within one run on a quiet machine: the run records ``uptime`` and the CPU.

A table whose spec declares a key, date formats, rules or a missing-together group
(``student_placements_raw``: the file as shipped, with its key and its text dates) is given to
each library as a user would: vaekit gets ``rules`` (``data.rules``) and detects the rest itself;
TVAE gets SDV metadata with the key as id and primary key and the dates' ``datetime_format``,
and each rule as an ``sdv.cag.Inequality`` (SDV 2.0.0 has no missing-together constraint; see
benchmarks/tabular_tvae.py). Each side then also generates :data:`VALIDITY_ROWS` rows, scored
against the training rows for validity:

- SDMetrics' own DiagnosticReport (Data Validity, Data Structure) with the same SDV metadata on
  both sides, its Constraint Validity checking the rules (Inequality) and the missing-together
  group (FixedNullCombinations), on the rows in the real table's dtypes (``typed_like``);
- vaekit's own Diagnostic figures and per-rule broken rows
  (vaekit.metrics.synthetic.validity_figures, with vaekit's schema of the training file);
- plain counts (:func:`rule_validity`): the share of rows that break each comparison, the share
  whose group columns are not missing exactly where the flag has its value, repeated or missing
  keys and keys equal to a training (or any real) key, dates not written in the input's format.

``--vaekit-only`` skips TVAE (a quick check of vaekit's figures with new code).
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
from vaekit.data.schema.columns import as_numbers  # noqa: E402
from vaekit.data.table import Table, from_dataframe  # noqa: E402
from vaekit.metrics.synthetic import synthetic_table_figures, validity_figures  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "tabular.json"
DEFAULT_TABLES = list(tabular_data.TABLES)
SIDES = ("vaekit", "tvae")
# Rows each side generates for the validity figures of a table with declared rules or keys.
VALIDITY_ROWS = 10_000
# vaekit's settings for every table: the same command a user would type (see the README).
VAEKIT = {"latent_dim": 16, "hidden": [256, 256], "epochs": 100, "batch_size": 128}


def vaekit_fit(
    train: pd.DataFrame, seed: int, folder: Path, rules: tuple[str, ...] = ()
) -> tuple[vaekit.Run, float]:
    """Train vaekit on ``train`` (written as a CSV file, as a user would hand it over), with
    the ``rules`` a user would declare (``data.rules``, the command line's ``--rule``)."""
    source = folder / "train.csv"
    train.to_csv(source, index=False)
    data: dict = {"source": str(source)}
    if rules:
        data["rules"] = list(rules)
    config = vaekit.RunConfig.from_dict(
        {
            "model": {"latent_dim": VAEKIT["latent_dim"], "hidden": VAEKIT["hidden"]},
            "data": data,
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


def warm_up(train: pd.DataFrame, folder: Path, sides: tuple[str, ...] = SIDES) -> None:
    """One short fit of each library, untimed, so that neither timed fit pays for the
    process's one-off imports (torch's optimiser loads its compiler module on first use)."""
    small = train.head(100)
    if "tvae" in sides:
        from sdv.single_table import TVAESynthesizer

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
    """Quality, privacy and usefulness of ``fake`` on the schema's columns (dates as days, as
    ``vaekit evaluate`` compares them)."""
    columns = run.schema.columns
    train, holdout, synthetic = (
        as_numbers(t, columns) for t in (train, holdout, from_dataframe(fake, "synthetic"))
    )
    out = synthetic_table_figures(train, holdout, synthetic, columns, target, seed)
    for part in ("columns", "pairs"):
        out["quality"].pop(part)
    return out


def declares(spec: tabular_data.Spec) -> bool:
    """Whether a table comes with a key, date formats, rules or a missing-together group."""
    return bool(spec.key or spec.dates or spec.rules or spec.missing_together)


def sdv_setup(spec: tabular_data.Spec, train_df: pd.DataFrame) -> tuple[object, list[str], list]:
    """TVAE's metadata (detected, or with the spec's declarations), its notes and constraints."""
    if not declares(spec):
        metadata, notes = tabular_tvae.detect_metadata(train_df)
        return metadata, notes, []
    metadata, notes = tabular_tvae.declared_metadata(train_df, spec.key, spec.dates)
    constraints, _ = tabular_tvae.rule_constraints(spec.rules)
    return metadata, notes, constraints


def sdmetrics_checks(spec: tabular_data.Spec) -> list[dict]:
    """The spec's rules and missing-together group as SDMetrics constraint checks."""
    _, checks = tabular_tvae.rule_constraints(spec.rules)
    if spec.missing_together:
        columns, flag, _ = spec.missing_together
        checks.append(tabular_tvae.missing_together_check(columns, flag))
    return checks


def one_seed(
    name: str, train_df, hold_df, target: str, seed: int, folder: Path, sides=SIDES
) -> dict:
    """Both libraries (or ``sides``) on one seed: fit, sample, score."""
    spec = tabular_data.SPECS[name]
    train, holdout = from_dataframe(train_df, "train"), from_dataframe(hold_df, "held out")
    run, vaekit_seconds = vaekit_fit(train_df, seed, folder, spec.rules)
    metadata, notes, constraints = sdv_setup(spec, train_df)
    samplers = {"vaekit": (lambda n: run.sample(n, seed=seed), vaekit_seconds)}
    if "tvae" in sides:
        tvae_fit = tabular_tvae.fit_tvae_detail(train_df, seed, metadata, constraints, notes)
        samplers["tvae"] = (
            lambda n: tabular_tvae.sample_tvae(tvae_fit.synthesizer, n, seed),
            tvae_fit.seconds,
        )
    metadata = sdv_setup(spec, train_df)[0]  # the same, untouched by a fit
    result = {}
    for side, (sample, seconds) in samplers.items():
        fake = sample(len(train_df))
        row = {}
        if side == "vaekit":
            row["drawn_again"] = dict(run.drawn_again)
        row.update(figures(train, holdout, fake, run, target, seed))
        row["fit_seconds"] = seconds
        cross = tabular_tvae.sdmetrics_quality(hold_df, typed_like(hold_df, fake), metadata)
        row["sdmetrics_report"] = cross
        if declares(spec):
            many = sample(VALIDITY_ROWS)
            row["validity"] = validity(spec, run, train_df, hold_df, many, metadata)
            if side == "vaekit":
                row["validity"]["drawn_again"] = dict(run.drawn_again)
        result[side] = row
    if "tvae" in sides and declares(spec):
        result["tvae"]["sdv_setup"] = {
            "metadata": notes,
            "constraints": [
                f"Inequality({c._low_column_name} <= {c._high_column_name}, "
                f"strict={c.strict_boundaries})"
                for c in constraints
            ],
            "not_declared": (
                [
                    f"missing together: {', '.join(spec.missing_together[0])} where "
                    f"{spec.missing_together[1]} = {spec.missing_together[2]} (SDV 2.0.0's "
                    "sdv.cag has no such constraint)"
                ]
                if spec.missing_together
                else []
            ),
        }
    return result


def validity(
    spec: tabular_data.Spec,
    run: vaekit.Run,
    train_df: pd.DataFrame,
    hold_df: pd.DataFrame,
    fake: pd.DataFrame,
    metadata: object,
) -> dict:
    """Validity of one side's generated rows against the training rows: plain counts, SDMetrics'
    DiagnosticReport (on the rows in the real table's dtypes, and as returned) and vaekit's own
    Diagnostic figures and broken rows per rule."""
    out: dict = {"rows": len(fake), "counts": rule_validity(spec, train_df, hold_df, fake)}
    checks = sdmetrics_checks(spec)
    out["sdmetrics_diagnostic"] = tabular_tvae.sdmetrics_diagnostic(
        train_df, typed_like(train_df, fake), metadata, checks
    )
    returned = tabular_tvae.sdmetrics_diagnostic(train_df, fake, metadata)
    out["sdmetrics_diagnostic_as_returned"] = {
        k: returned[k] for k in ("overall", "data_validity", "data_structure")
    }
    out["dtypes_differing"] = {
        c: f"{train_df[c].dtype} -> {fake[c].dtype}"
        for c in train_df.columns
        if c in fake.columns and train_df[c].dtype != fake[c].dtype
    }
    columns = run.schema.columns
    real, synthetic = (
        as_numbers(from_dataframe(t, w), columns) for t, w in ((train_df, "train"), (fake, "fake"))
    )
    ours = validity_figures(real, synthetic, run.schema, {})
    ours["diagnostic"].pop("metrics")
    out["vaekit_diagnostic"] = ours["diagnostic"]
    out["vaekit_rules"] = [{k: r[k] for k in ("rule", "origin", "broken")} for r in ours["rules"]]
    return out


def rule_validity(
    spec: tabular_data.Spec, train_df: pd.DataFrame, hold_df: pd.DataFrame, fake: pd.DataFrame
) -> dict:
    """Plain counts on generated rows, as shares of the rows: rows breaking each comparison
    rule (both sides present), rows whose group columns are not missing exactly where the flag
    has its value, repeated / missing keys and keys equal to a training (or any real) key,
    present dates not written in the input's format."""
    n = len(fake)
    out: dict = {"rows": n}
    dates = {}
    for name, fmt in spec.dates.items():
        values = fake[name]
        present = values.notna()
        text = values[present].astype(str)
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        exact = parsed.notna() & (parsed.dt.strftime(fmt) == text)
        out[f"{name} not in {fmt}"] = int((~exact).sum()) / n
        dates[name] = parsed.where(exact).reindex(values.index)
    for rule in spec.rules:
        low, high, strict = tabular_tvae.parse_comparison(rule)
        a = dates[low] if low in dates else pd.to_numeric(fake[low], errors="coerce")
        b = dates[high] if high in dates else pd.to_numeric(fake[high], errors="coerce")
        both = a.notna() & b.notna()
        holds = (a < b) if strict else (a <= b)
        out[f"broken: {rule}"] = int((both & ~holds).sum()) / n
    if spec.missing_together:
        columns, flag, value = spec.missing_together
        should = fake[flag].astype(str) == str(value)
        bad = pd.Series(False, index=fake.index)
        for name in columns:
            bad |= fake[name].isna() != should
        words = f"broken: {', '.join(columns)} missing exactly where {flag} = {value}"
        out[words] = int(bad.sum()) / n
        out[f"share {flag} = {value}"] = float(should.mean())
        out[f"share {flag} = {value} (training rows)"] = float(
            (train_df[flag].astype(str) == str(value)).mean()
        )
    if spec.key:
        keys = pd.to_numeric(fake[spec.key], errors="coerce")
        if keys.isna().sum() > fake[spec.key].isna().sum():  # keys that are not numbers
            keys = fake[spec.key].astype(str).where(fake[spec.key].notna())
        present = keys.dropna()
        out[f"{spec.key} missing"] = int(keys.isna().sum()) / n
        out[f"{spec.key} repeated"] = (len(present) - present.nunique()) / n
        out[f"{spec.key} equal to a training key"] = int(present.isin(train_df[spec.key]).sum()) / n
        real_keys = pd.concat([train_df[spec.key], hold_df[spec.key]])
        out[f"{spec.key} equal to any real key"] = int(present.isin(real_keys).sum()) / n
        out[f"{spec.key} dtype"] = str(fake[spec.key].dtype)
    return out


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
        elif pd.api.types.is_float_dtype(dtype) and pd.api.types.is_numeric_dtype(out[name]):
            out[name] = out[name].astype(dtype)  # vaekit's whole numbers come back as Int64
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
        **(validity_headline(row["validity"]) if "validity" in row else {}),
    }


def validity_headline(v: dict) -> dict[str, float]:
    """The validity numbers the second table prints (shares of the generated rows):
    ``diagnostic`` is SDMetrics' DiagnosticReport without constraints (Data Validity and Data
    Structure) on the rows in the real dtypes, ``constraint_validity`` its Constraint Validity
    (the mean of the ``adherence`` checks), ``diagnostic_as_returned`` the report on the rows
    as the library returns them (dtypes as they come: vaekit's DataFrame holds booleans as text,
    whole numbers as Int64 and numeric keys as float64, which Data Structure counts as other
    columns), ``vaekit_diagnostic`` vaekit's own figure; the rest are :func:`rule_validity`."""
    sdm, ours, counts = v["sdmetrics_diagnostic"], v["vaekit_diagnostic"], v["counts"]
    out = {
        "diagnostic": sdm["validity_structure"],
        "diag_validity": sdm["data_validity"],
        "diag_structure": sdm["data_structure"],
        "constraint_validity": sdm["constraint_validity"],
        "diagnostic_as_returned": v["sdmetrics_diagnostic_as_returned"]["overall"],
        "vaekit_diagnostic": ours["overall"],
    }
    for c in sdm.get("constraints", []):
        out[f"adherence {c['class_name']}"] = c["score"]
    for key, value in counts.items():
        if isinstance(value, float) and key != "rows":
            out[key] = value
    return out


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
    print(f"\n{'table':<24}{'side':<8}" + "".join(f"{c:>16}" for c in cols))
    for name, entry in results["tables"].items():
        for side, m in entry["median"].items():
            print(f"{name:<24}{side:<8}" + "".join(f"{m[c]:>16.4f}" for c in cols))
        if len(entry["median"]) == 2:
            ratio = (
                entry["median"]["vaekit"]["fit_seconds"] / entry["median"]["tvae"]["fit_seconds"]
            )
            print(f"{'':<24}fit time vaekit / tvae: {ratio:.2f}")
    for name, entry in results["tables"].items():
        first = next(iter(entry["median"].values()))
        if "diagnostic" not in first:
            continue
        keys = [k for k in first if k in validity_headline_keys(first)]
        width = max(len(k) for k in keys) + 2
        print(f"\n{name}: validity of {VALIDITY_ROWS:,} generated rows (medians over seeds)")
        print(f"{'':<{width}}" + "".join(f"{side:>10}" for side in entry["median"]))
        for key in keys:
            print(f"{key:<{width}}" + "".join(f"{m[key]:>10.4f}" for m in entry["median"].values()))


def validity_headline_keys(m: dict) -> list[str]:
    start = list(m).index("diagnostic")
    return list(m)[start:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=DEFAULT_TABLES, choices=tabular_data.TABLES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--out",
        type=Path,
        help=f"JSON file (default {RESULTS} for the default tables, else tabular-<names>.json)",
    )
    parser.add_argument("--vaekit-only", action="store_true", help="fit and score vaekit only")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = (
            RESULTS
            if args.tables == DEFAULT_TABLES
            else RESULTS.with_name(f"tabular-{'-'.join(args.tables)}.json")
        )
    sides = ("vaekit",) if args.vaekit_only else SIDES
    progress.QUIET = True
    started = time.perf_counter()
    results: dict = {
        "machine_before": machine(),
        "vaekit_settings": VAEKIT,
        "sides": list(sides),
        "validity_rows": VALIDITY_ROWS,
        "vaekit_module": vaekit.__file__,
        "tables": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(tabular_data.load(args.tables[0]), Path(tmp), sides)
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
                per_seed.append(one_seed(name, train_df, hold_df, target, seed, folder, sides))
                print(
                    f"{name} seed {seed}: "
                    + ", ".join(
                        f"{side} quality {r['quality']['overall']:.4f} fit {r['fit_seconds']:.1f}s"
                        for side, r in per_seed[-1].items()
                    ),
                    flush=True,
                )
            heads = {s: [headline(r[s]) for r in per_seed] for s in sides}
            results["tables"][name] = {
                "rows": {"train": len(train_df), "held_out": len(hold_df)},
                "target": target,
                "median": {s: medians(h) for s, h in heads.items()},
                "per_seed": per_seed,
            }
            results["machine_after"] = machine()
            results["seconds"] = time.perf_counter() - started
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
