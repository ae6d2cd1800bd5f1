"""vaekit's synthetic tables against SDV's TVAE, side by side in one run: same rows, same seeds.

    python3 -m venv /work/sdv-venv
    /work/sdv-venv/bin/pip install torch==2.13.0 sdv==2.0.0 sdmetrics==0.32.0 rdata
    /work/sdv-venv/bin/pip install -e .             # vaekit itself; SDV only in this venv
    /work/sdv-venv/bin/python benchmarks/tabular.py --seeds 3
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables student_placements --seeds 1
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables student_placements_raw --seeds 3 \
        --out benchmarks/results/tabular_raw.json
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables penguins --seeds 3 --without-rules
    /work/sdv-venv/bin/python benchmarks/tabular.py --tables credit_data --vaekit-only

Tables (benchmarks/tabular_data.py: credit_data and attrition from Debian's r-cran-modeldata,
student_placements from the sdmetrics wheel, penguins as vaekit ships it, all checksummed; the
default run, benchmarks/results/tabular.json, is credit_data, attrition and student_placements).
Each table is split once, 70/30 (scikit-learn's train_test_split, random_state 0, stratified by
the target); for each seed both libraries fit the same 70 % and generate as many rows as they
were fitted on:

- SDV 2.0.0's ``TVAESynthesizer`` with its defaults (300 epochs, batch 500, 128-wide networks)
  on the metadata SDV detects (benchmarks/tabular_tvae.py).
- vaekit's VAE with the per-column likelihood and the quantile map (its defaults for tables) and
  the network and epochs in :data:`VAEKIT`: ``vaekit.fit(train_df, folder, **VAEKIT)``, the
  DataFrame a user holds (fit writes it to the run's data.csv, trains on that file and records
  each column's dtype, so ``run.sample`` gives rows back in the DataFrame's dtypes).

Both sides are scored by the same code on the same columns (vaekit's schema of the training
file): SDMetrics' quality score and its two parts (vaekit.metrics.fidelity, equal to sdmetrics'
QualityReport to 1e-6 in tests/metrics/test_fidelity.py; sdmetrics' own report with SDV's metadata
is printed beside it as a cross-check), ML usefulness (a HistGradientBoosting model trained on
synthetic rows and on real rows, tested on the held-out rows), the distance to the closest
training row and the share of exact copies, and the fit time (fit only, not sampling; for vaekit
the whole ``vaekit.fit`` call, data.csv written and the run folder read back included). Medians
over seeds; JSON in benchmarks/results/tabular.json (the default tables; ``--tables`` naming
others writes benchmarks/results/tabular-<names>.json unless ``--out`` says where). Fit times are
comparable only within one run on a quiet machine: the run records ``uptime`` and the CPU.

A table whose spec declares a key, date formats, rules or a missing-together group
(``student_placements_raw``: the file as shipped, with its key and its text dates; ``penguins``
with ``fixed: species, island``) is given to each library as a user would: vaekit gets ``rules``
and detects the rest itself; TVAE gets SDV metadata with the key as id and primary key and the
dates' ``datetime_format``, each comparison as an ``sdv.cag.Inequality`` and each ``fixed:``
rule as an ``sdv.cag.FixedCombinations`` (SDV 2.0.0 has no missing-together constraint; see
benchmarks/tabular_tvae.py). A table without declarations is given to TVAE with SDV's detected
metadata and no constraint. Every table that declares something, or where vaekit's schema holds
rules (``run.schema.rules``: e.g. credit_data's detected "missing: Debt only when Assets
missing"), then has each side also generate :data:`VALIDITY_ROWS` rows, scored against the
training rows for validity:

- SDMetrics' own DiagnosticReport (Data Validity, Data Structure) with the same SDV metadata on
  both sides, its Constraint Validity checking the declared rules (Inequality,
  FixedCombinations), the missing-together group and vaekit's detected missing rules
  (FixedNullCombinations), on the rows in the real table's dtypes (``typed_like``), and the
  report (no constraints) on the rows exactly as the library returned them;
- vaekit's own Diagnostic figures and per-rule broken rows
  (vaekit.metrics.synthetic.validity_figures, with vaekit's schema of the training file);
- plain counts (:func:`rule_validity`): the share of rows that break each comparison, that hold
  a combination of a ``fixed:`` rule's columns not seen in training, whose group columns are not
  missing exactly where the flag has its value, that break each missing rule of vaekit's schema,
  repeated or missing keys and keys equal to a training (or any real) key, dates not written in
  the input's format.

``--vaekit-only`` skips TVAE (a quick check of vaekit's figures with new code).
``--without-rules`` adds a side ``vaekit_no_rules`` for tables whose spec declares rules: vaekit
fitted the same way without the declared rules (what those rules buy).
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
DEFAULT_TABLES = ["credit_data", "attrition", "student_placements"]
SIDES = ("vaekit", "tvae")
NO_RULES = "vaekit_no_rules"  # --without-rules: vaekit without the spec's declared rules
# Rows each side generates for the validity figures of a table with declared rules or keys.
VALIDITY_ROWS = 10_000
# vaekit's settings for every table: the same command a user would type (see the README).
VAEKIT = {"latent_dim": 16, "hidden": [256, 256], "epochs": 100, "batch_size": 128}


def vaekit_fit(
    train: pd.DataFrame, seed: int, folder: Path, rules: tuple[str, ...] = (), name: str = "run"
) -> tuple[vaekit.Run, float]:
    """Train vaekit on the DataFrame ``train`` as a user would (``vaekit.fit``), with the
    ``rules`` a user would declare (the command line's ``--rule``); the seconds are the whole
    call."""
    options = {**VAEKIT, "seed": seed, "device": "cpu"}
    if rules:
        options["rules"] = list(rules)
    started = time.perf_counter()
    run = vaekit.fit(train, folder / f"{name}-{seed}", force=True, **options)
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
    vaekit.fit(small, folder / "warm", force=True, epochs=1)


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


def sdmetrics_checks(spec: tabular_data.Spec, run: vaekit.Run) -> list[dict]:
    """The spec's rules and missing-together group, and the other missing rules of vaekit's
    schema, as SDMetrics constraint checks."""
    _, checks = tabular_tvae.rule_constraints(spec.rules)
    if spec.missing_together:
        columns, flag, _ = spec.missing_together
        checks.append(tabular_tvae.missing_together_check(columns, flag))
    for rule in schema_missing_rules(spec, run):
        if rule.flag is None:  # missing together, no flag: the nullness pattern of the group
            check = tabular_tvae.missing_only_check(rule.columns[1:], rule.columns[0])
        elif rule.value is None:  # when / only when FLAG missing (present)
            check = tabular_tvae.missing_only_check(rule.columns, rule.flag)
        else:
            check = tabular_tvae.missing_together_check(tuple(rule.columns), rule.flag)
        checks.append(check)
    return checks


def schema_missing_rules(spec: tabular_data.Spec, run: vaekit.Run) -> list:
    """The missing rules of vaekit's schema other than the spec's missing-together group."""
    out = []
    for rule in run.schema.rules:
        if rule.kind != "missing":
            continue
        if spec.missing_together:
            columns, flag, _ = spec.missing_together
            if set(rule.columns) == set(columns) and rule.flag == flag:
                continue
        out.append(rule)
    return out


def validity_checked(spec: tabular_data.Spec, run: vaekit.Run) -> bool:
    """Whether a table gets the validity part: it declares something, or vaekit found rules."""
    return declares(spec) or bool(run.schema.rules)


def one_seed(
    name: str, train_df, hold_df, target: str, seed: int, folder: Path, sides=SIDES
) -> dict:
    """Both libraries (or ``sides``) on one seed: fit, sample, score."""
    spec = tabular_data.SPECS[name]
    train, holdout = from_dataframe(train_df, "train"), from_dataframe(hold_df, "held out")
    run, vaekit_seconds = vaekit_fit(train_df, seed, folder, spec.rules)
    runs = {"vaekit": run}
    metadata, notes, constraints = sdv_setup(spec, train_df)
    samplers = {"vaekit": (lambda n: run.sample(n, seed=seed), vaekit_seconds)}
    if NO_RULES in sides and spec.rules:
        free, free_seconds = vaekit_fit(train_df, seed, folder, (), name="no-rules")
        runs[NO_RULES] = free
        samplers[NO_RULES] = (lambda n: free.sample(n, seed=seed), free_seconds)
    if "tvae" in sides:
        tvae_fit = tabular_tvae.fit_tvae_detail(train_df, seed, metadata, constraints, notes)
        samplers["tvae"] = (
            lambda n: tabular_tvae.sample_tvae(tvae_fit.synthesizer, n, seed),
            tvae_fit.seconds,
        )
    metadata = sdv_setup(spec, train_df)[0]  # the same, untouched by a fit
    checked = validity_checked(spec, run)
    result = {}
    for side, (sample, seconds) in samplers.items():
        fake = sample(len(train_df))
        row = {}
        if side in runs:
            row["drawn_again"] = dict(runs[side].drawn_again)
        row.update(figures(train, holdout, fake, run, target, seed))
        row["fit_seconds"] = seconds
        cross = tabular_tvae.sdmetrics_quality(hold_df, typed_like(hold_df, fake), metadata)
        row["sdmetrics_report"] = cross
        if checked:
            many = sample(VALIDITY_ROWS)
            row["validity"] = validity(spec, run, train_df, hold_df, many, metadata)
            if side in runs:
                row["validity"]["drawn_again"] = dict(runs[side].drawn_again)
                row["validity"]["schema_rules"] = [r.describe() for r in runs[side].schema.rules]
        result[side] = row
    if "tvae" in sides and checked:
        result["tvae"]["sdv_setup"] = {
            "metadata": notes,
            "constraints": [tabular_tvae.describe_constraint(c) for c in constraints],
            "not_declared": (
                [
                    f"missing together: {', '.join(spec.missing_together[0])} where "
                    f"{spec.missing_together[1]} = {spec.missing_together[2]} (SDV 2.0.0's "
                    "sdv.cag has no such constraint)"
                ]
                if spec.missing_together
                else []
            )
            + [
                f"{r.text} (vaekit found it; sdv.cag has no such constraint)"
                for r in schema_missing_rules(spec, run)
            ],
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
    counts = rule_validity(spec, train_df, hold_df, fake, schema_missing_rules(spec, run))
    out: dict = {"rows": len(fake), "counts": counts}
    checks = sdmetrics_checks(spec, run)
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
    spec: tabular_data.Spec,
    train_df: pd.DataFrame,
    hold_df: pd.DataFrame,
    fake: pd.DataFrame,
    missing_rules: list = (),
) -> dict:
    """Plain counts on generated rows (pandas, not vaekit's code), as shares of the rows: rows
    breaking each comparison rule (both sides present), rows whose ``fixed:`` columns hold a
    combination not seen in the training rows, rows whose group columns are not missing exactly
    where the flag has its value, rows breaking each of ``missing_rules`` (vaekit's schema's),
    repeated / missing keys and keys equal to a training (or any real) key, present dates not
    written in the input's format."""
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
        fixed = tabular_tvae.parse_fixed(rule)
        if fixed is not None:
            seen = set(_combinations(train_df, fixed))
            unseen = [c not in seen for c in _combinations(fake, fixed)]
            out[f"broken: {rule}"] = sum(unseen) / n
            continue
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
    for rule in missing_rules:
        out[f"broken: {rule.text}"] = int(_missing_broken(rule, fake).sum()) / n
    if missing_rules:
        names = sorted({n for r in missing_rules for n in [*r.columns, r.flag] if n})
        out["missing share"] = {
            name: {
                "generated": float(fake[name].isna().mean()),
                "training": float(train_df[name].isna().mean()),
            }
            for name in names
        }
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


def _combinations(frame: pd.DataFrame, names: list[str]) -> list[tuple]:
    """Each row's values of ``names`` as a tuple of text (missing as None)."""
    cells = [[None if pd.isna(v) else str(v) for v in frame[name].tolist()] for name in names]
    return list(zip(*cells, strict=True))


def _missing_broken(rule, fake: pd.DataFrame) -> pd.Series:
    """Rows of ``fake`` breaking a missing rule of vaekit's schema, counted with pandas: the
    rule's columns missing where the condition does not hold (``only``), or not missing exactly
    where it holds."""
    if rule.flag is None:
        should = fake[rule.columns[0]].isna()
    elif rule.value is None:
        should = fake[rule.flag].isna() if rule.absent else fake[rule.flag].notna()
    else:
        should = fake[rule.flag].astype(str) == str(rule.value)
    bad = pd.Series(False, index=fake.index)
    for name in rule.columns:
        gone = fake[name].isna()
        bad |= (gone & ~should) if rule.only else (gone != should)
    return bad


def typed_like(real: pd.DataFrame, fake: pd.DataFrame) -> pd.DataFrame:
    """``fake`` with ``real``'s column types, so sdmetrics compares values, not spellings (TVAE
    and vaekit's ``fit(df)`` give the DataFrame's dtypes back already; a run trained from a CSV
    file gives its cells: True as "True")."""
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
    (the mean of the ``adherence`` checks, one per check: its class and columns),
    ``diagnostic_as_returned`` the report on the rows exactly as the library returns them (no
    casting: a dtype that differs from the real table's counts against Data Validity),
    ``vaekit_diagnostic`` vaekit's own figure, ``drawn again`` the share of vaekit's rows drawn
    again to keep a rule; the rest are :func:`rule_validity`."""
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
        out[f"adherence {c['class_name']}({', '.join(c['columns'])})"] = c["score"]
    for key, value in counts.items():
        if isinstance(value, float) and key != "rows":
            out[key] = value
    for rule, share in v.get("drawn_again", {}).items():  # vaekit's: rows drawn again per rule
        out[f"drawn again: {rule}"] = share
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
    side_width = max(len(s) for e in results["tables"].values() for s in e["median"]) + 2
    print(f"\n{'table':<24}{'side':<{side_width}}" + "".join(f"{c:>16}" for c in cols))
    for name, entry in results["tables"].items():
        for side, m in entry["median"].items():
            print(f"{name:<24}{side:<{side_width}}" + "".join(f"{m[c]:>16.4f}" for c in cols))
        if {"vaekit", "tvae"} <= set(entry["median"]):
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
        cell = max(10, *(len(side) + 2 for side in entry["median"]))
        print(f"{'':<{width}}" + "".join(f"{side:>{cell}}" for side in entry["median"]))
        for key in keys:
            values = [m.get(key, float("nan")) for m in entry["median"].values()]
            print(f"{key:<{width}}" + "".join(f"{v:>{cell}.4f}" for v in values))


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
    parser.add_argument(
        "--without-rules",
        action="store_true",
        help=f"also fit vaekit without the declared rules (side {NO_RULES})",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = (
            RESULTS
            if args.tables == DEFAULT_TABLES
            else RESULTS.with_name(f"tabular-{'-'.join(args.tables)}.json")
        )
    sides = ("vaekit",) if args.vaekit_only else SIDES
    if args.without_rules:
        sides = (sides[0], NO_RULES, *sides[1:])
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
            heads = {s: [headline(r[s]) for r in per_seed] for s in sides if s in per_seed[0]}
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
