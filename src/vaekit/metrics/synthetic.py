"""Is a synthetic table private, and useful? Distances to the closest record (as SDMetrics 0.32.0
measures them), exact copies, and a model trained on synthetic rows against one trained on real
rows. How faithful the table is lives in :mod:`vaekit.metrics.fidelity`; these functions score
the same columns (:func:`vaekit.metrics.fidelity.scored_columns`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from vaekit.core.errors import VaekitError
from vaekit.core.progress import ProgressBar, log
from vaekit.data.schema import Column, TableSchema
from vaekit.data.schema.rules import broken
from vaekit.data.table import Table, is_numeric, spell, take_rows
from vaekit.metrics.diagnostic import diagnostic, sdtypes_of
from vaekit.metrics.fidelity import MISSING, category_codes, is_number_column, scored_columns

CELLS_PER_CHUNK = 100_000  # row pairs compared at once: two float64 buffers that stay in cache


def _far_stand_in(values: np.ndarray, reference: np.ndarray, span: float) -> float:
    """A number at least 2 ranges away from every value of both columns: where it stands in
    for a missing value, ``min(|a - b| / range, 1)`` is SDMetrics' distance for missing values
    too (1 where one side is missing, 0 where both are)."""
    top = float(np.nanmax(np.concatenate([values, reference])))
    return top + max(2.0 * span, 1.0 + abs(top))


def _codes(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Integer codes of two columns' values, equal where the values are: numbers exactly (all
    missing values one code), text by spelling (missing one code)."""
    if is_numeric(a) and is_numeric(b):
        _, codes = np.unique(np.concatenate([a, b]), return_inverse=True)  # one code for NaN
        return np.split(codes.reshape(-1), [len(a)])
    return category_codes(a, b)


def closest_distances(
    rows: Table, reference: Table, columns: list[Column], chunk_cells: int = CELLS_PER_CHUNK
) -> np.ndarray:
    """For each row of ``rows``, the distance to its closest row of ``reference`` (shape
    (len(rows),)), as SDMetrics' DCR metrics measure it: the mean over the scored columns of
    a per-column distance in [0, 1]:

    - number: |a - b| / (max - min of the reference column), at most 1; where the reference
      column has a single value (range 0), 0 if equal else 1;
    - category: 0 if equal, else 1;
    - missing: 0 if both are missing, 1 if one is.

    0 means the row is an exact copy of a reference row. Rows are compared in chunks of about
    ``chunk_cells`` row pairs, so 10,000 x 10,000 rows take seconds and a few MB; NaN
    for every row when ``reference`` has none.
    """
    numbers, codes = [], []  # (a, b, range) of ranged number columns; (a, b) codes of others
    for column in scored_columns(columns):
        a, b = rows.column(column.name), reference.column(column.name)
        span = 0.0  # the reference column's range
        if is_number_column(column, rows, reference) and not np.isnan(b).all():
            span = float(np.nanmax(b) - np.nanmin(b))
        if span > 0:
            far = _far_stand_in(a, b, span)
            numbers.append((np.where(np.isnan(a), far, a), np.where(np.isnan(b), far, b), span))
        else:  # a category, or a number column with one value in the reference: equal or not
            codes.append(_codes(a, b))
    width = len(numbers) + len(codes)
    if not width:
        raise ValueError("there is no column to measure distances on")
    if not len(reference):
        return np.full(len(rows), np.nan)
    closest = np.empty(len(rows))
    step = max(1, chunk_cells // len(reference))
    total = np.empty((min(step, len(rows)), len(reference)))  # (B, M): summed distances
    part = np.empty_like(total)  # (B, M): one column's distances
    bar = ProgressBar(-(-len(rows) // step), "closest real rows")
    for start in range(0, len(rows), step):
        bar.update()
        stop = min(start + step, len(rows))
        acc, buf = total[: stop - start], part[: stop - start]
        acc[:] = 0.0
        for a, b, span in numbers:
            np.subtract(a[start:stop, None], b[None, :], out=buf)
            np.abs(buf, out=buf)
            np.divide(buf, span, out=buf)
            np.minimum(buf, 1.0, out=buf)
            acc += buf
        for a, b in codes:
            acc += a[start:stop, None] != b[None, :]
        closest[start:stop] = acc.min(axis=1) / width
    bar.close()
    return closest


@dataclass
class Privacy:
    """How close synthetic rows come to the training rows, against held-out real rows.

    ``synthetic_to_train``/``holdout_to_train``: the median distance to the closest training
    row (:func:`closest_distances`) of a synthetic / held-out row; the first is SDMetrics'
    DCRBaselineProtection ``median_DCR_to_real_data['synthetic_data']``.
    ``synthetic_copies``/``holdout_copies``: the share of rows at distance 0, exact copies of a
    training row (held-out rows give the baseline: duplicates the data has anyway).
    ``closer_to_train``: the share of synthetic rows strictly closer to the training rows (as
    many as there are held-out rows, unless ``privacy(balanced=False)``) than to the held-out
    rows (each distance normalised by its own reference's ranges), and
    ``overfitting_protection`` = min(2 (1 - closer_to_train), 1): SDMetrics'
    DCROverfittingProtection ``closer_to_training`` and score; 1 when synthetic rows are no
    closer to the rows the model saw than to rows it did not.
    """

    synthetic_to_train: float
    holdout_to_train: float
    synthetic_copies: float
    holdout_copies: float
    closer_to_train: float
    overfitting_protection: float


def privacy(
    train: Table,
    holdout: Table,
    fake: Table,
    columns: list[Column],
    balanced: bool = True,
    seed: int = 0,
) -> Privacy:
    """Distances to the closest record of synthetic (``fake``) and held-out rows; see
    :class:`Privacy`. ``balanced``: ``closer_to_train`` compares with as many training rows as
    there are held-out rows (a seeded draw), so that 50 % means no memorising whatever the
    split; SDMetrics compares with every training row (``balanced=False``), which counts more
    synthetic rows as "closer to training" the larger the training side is."""
    fake_train = closest_distances(fake, train, columns)
    fake_holdout = closest_distances(fake, holdout, columns)
    holdout_train = closest_distances(holdout, train, columns)
    near_train = fake_train
    if balanced and len(train) > len(holdout):
        draw = np.random.default_rng(seed).choice(len(train), len(holdout), replace=False)
        near_train = closest_distances(fake, take_rows(train, np.sort(draw)), columns)
    closer = float(np.mean(near_train < fake_holdout))
    return Privacy(
        synthetic_to_train=float(np.median(fake_train)),
        holdout_to_train=float(np.median(holdout_train)),
        synthetic_copies=float(np.mean(fake_train == 0)),
        holdout_copies=float(np.mean(holdout_train == 0)),
        closer_to_train=closer,
        overfitting_protection=min(2.0 * (1.0 - closer), 1.0),
    )


@dataclass
class Usefulness:
    """A model fitted on real training rows and one fitted on synthetic rows, both scored on
    held-out real rows. ``scores``: accuracy and F1 (classification; binary F1 of the second
    category, macro F1 for more classes) or R² (regression). ``ratio``: synthetic / real, each
    score (NaN where the real score is 0)."""

    target: str
    task: str  # "classification" or "regression"
    real: dict[str, float]
    synthetic: dict[str, float]
    ratio: dict[str, float]


MAX_CATEGORIES = 255  # HistGradientBoosting's most categories per feature (its max_bins)


def _features(
    fit: Table, test: Table, columns: list[Column]
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Model inputs for the fitting and the test rows, (N, F) float arrays: numbers as they are
    (NaN where missing), categories as codes 0, 1, ... by frequency in the fitting rows; a
    missing category, one not in the fitting rows, or one past the 255 most frequent, is NaN."""
    fit_columns, test_columns, categorical = [], [], []
    for column in columns:
        a, b = fit.column(column.name), test.column(column.name)
        if is_number_column(column, fit, test):
            fit_columns.append(a)
            test_columns.append(b)
            categorical.append(False)
            continue
        spelled = np.array(spell(a, MISSING), dtype=object)
        values, counts = np.unique(spelled[spelled != MISSING], return_counts=True)
        order = values[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]
        code = {value: float(i) for i, value in enumerate(order)}
        fit_columns.append(np.array([code.get(v, np.nan) for v in spelled]))
        test_columns.append(np.array([code.get(v, np.nan) for v in spell(b, MISSING)]))
        categorical.append(True)
    return np.stack(fit_columns, axis=1), np.stack(test_columns, axis=1), categorical


def _target(table: Table, column: Column, classify: bool) -> tuple[np.ndarray, np.ndarray]:
    """The target's values (spellings to classify, else numbers) and where they are present."""
    values = table.column(column.name)
    if classify:
        spelled = np.array(spell(values, MISSING), dtype=object)
        return spelled, spelled != MISSING
    return values, ~np.isnan(values)


def _fit_and_score(
    fit: Table, test: Table, features: list[Column], target: Column, classify: bool, seed: int
) -> dict[str, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, f1_score, r2_score
    from threadpoolctl import threadpool_limits

    y_fit, keep_fit = _target(fit, target, classify)
    y_test, keep_test = _target(test, target, classify)
    x_fit, x_test, categorical = _features(fit, test, features)
    x_fit, y_fit = x_fit[keep_fit], y_fit[keep_fit]
    x_test, y_test = x_test[keep_test], y_test[keep_test]
    kind = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    model = kind(categorical_features=categorical, random_state=seed)
    # One OpenMP thread: the same model, and on a small busy machine threads that spin-wait
    # for each other make a fit of a few hundred rows take seconds instead of milliseconds.
    with threadpool_limits(limits=1, user_api="openmp"):
        predicted = model.fit(x_fit, y_fit).predict(x_test)
    if not classify:
        return {"r2": float(r2_score(y_test, predicted))}
    labels = target.categories or sorted(set(y_fit) | set(y_test))
    if len(labels) == 2:
        f1 = f1_score(y_test, predicted, labels=[labels[1]], average="macro", zero_division=0)
    else:
        f1 = f1_score(y_test, predicted, average="macro", zero_division=0)
    return {"accuracy": float(accuracy_score(y_test, predicted)), "f1": float(f1)}


def usefulness(
    train: Table, holdout: Table, fake: Table, columns: list[Column], target: str, seed: int = 0
) -> Usefulness:
    """Train on real rows, test on held-out rows; train on synthetic rows, test on the same:
    scikit-learn's HistGradientBoostingClassifier for a category target (binary or
    categorical; accuracy, F1), HistGradientBoostingRegressor for a number (R²), both with
    ``random_state=seed``. Features are the other scored columns: numbers as floats (missing as
    NaN), categories declared categorical (see :func:`_features`). Rows whose target is missing
    are left out."""
    chosen = scored_columns(columns)
    by_name = {c.name: c for c in chosen}
    if target not in by_name:
        raise ValueError(f"{target!r} is not a scored column of this table")
    column = by_name[target]
    classify = not is_number_column(column, train, holdout, fake)
    features = [c for c in chosen if c.name != target]
    if not features:
        raise ValueError(f"there is no column besides {target!r} to predict it from")
    real = _fit_and_score(train, holdout, features, column, classify, seed)
    synthetic = _fit_and_score(fake, holdout, features, column, classify, seed)
    ratio = {k: synthetic[k] / real[k] if real[k] else float("nan") for k in real}
    task = "classification" if classify else "regression"
    return Usefulness(target, task, real, synthetic, ratio)


def check_target(columns: list[Column], target: str) -> None:
    """Refuse a usefulness target that is not among the generated, scored ``columns``."""
    names = [c.name for c in scored_columns(columns) if c.role in ("feature", "condition")]
    if target not in names:
        raise VaekitError(
            f"--target: {target!r} is not a column the model generates (it generates: "
            f"{', '.join(names)})"
        )


def synthetic_table_figures(
    train: Table,
    holdout: Table | None,
    fake: Table,
    columns: list[Column],
    target: str | None = None,
    seed: int = 0,
    real_words: str = "held-out rows",
) -> dict:
    """Every figure ``vaekit evaluate`` reports on a synthetic table, JSON-ready: ``quality``
    of ``fake`` against the real ``holdout`` rows (SDMetrics' Quality Report; against ``train``
    when there is no holdout), ``privacy`` (None without a holdout: it compares with one) and,
    given a ``target`` column, ``usefulness``. Columns absent from either table (a label the
    model does not generate) are left out. ``real_words`` names the ``holdout`` rows for people
    (a split, or the file they came from)."""
    from vaekit.metrics.fidelity import quality

    real = holdout if holdout is not None else train
    present = [c for c in scored_columns(columns) if c.name in fake.names and c.name in real.names]
    log(f"scoring {len(fake)} synthetic rows: quality, privacy, usefulness ...")
    score = quality(real, fake, present)
    out: dict = {
        "rows": {"synthetic": len(fake), "real": len(real), "train": len(train)},
        "compared_with": real_words if holdout is not None else "training rows",
        "quality": {
            "overall": score.overall,
            "column_shapes": score.column_shapes,
            "column_pair_trends": score.column_pair_trends,
            "columns": score.column_scores,
            "pairs": {f"{a} × {b}": v for (a, b), v in score.pair_scores.items()},
        },
        "privacy": None,
        "usefulness": None,
    }
    if holdout is not None:
        out["privacy"] = dataclasses.asdict(privacy(train, holdout, fake, present, seed=seed))
    if target is not None:
        check_target(present, target)
        if holdout is None:
            raise VaekitError("--target: needs held-out rows to test on; evaluate on val or test")
        out["usefulness"] = dataclasses.asdict(
            usefulness(train, holdout, fake, present, target, seed)
        )
    return out


def validity_figures(
    train: Table, fake: Table, schema: TableSchema, drawn_again: dict[str, float]
) -> dict:
    """Whether generated rows are valid: SDMetrics' Diagnostic Report against the training
    rows (the columns the user did not ignore), and each rule's broken rows among them with
    the share drawn again to keep it. JSON-ready."""
    ignored = {c.name for c in schema.columns if c.role == "ignored"}
    kept = [n for n in train.names if n not in ignored]
    real = Table(kept, [train.column(n) for n in kept], train.where, 0)
    score = diagnostic(real, fake, sdtypes_of(schema.columns))
    rules = [
        {
            "rule": rule.text,
            "origin": rule.origin,
            "kept": "by construction" if rule.by_construction else "by drawing again",
            "broken": int(broken(rule, fake, schema.columns).sum()),
            "drawn_again": drawn_again.get(rule.text, 0.0),
        }
        for rule in schema.rules
    ]
    return {"diagnostic": dataclasses.asdict(score), "rules": rules}


def rule_notes(synthetic: dict | None) -> list[str]:
    """Plain-words notes on generated rows that break a rule or repeat a key (none when every
    row is valid): such a table is not "Healthy"."""
    if not synthetic:
        return []
    notes = [
        f"Generated rows break a rule: {r['broken']} of {synthetic['rows']['synthetic']} break "
        f"{r['rule']!r}."
        for r in synthetic.get("rules") or []
        if r["broken"]
    ]
    d = synthetic.get("diagnostic") or {}
    repeated = [
        name
        for name, metric in d.get("metrics", {}).items()
        if metric == "KeyUniqueness" and d["columns"][name] < 1
    ]
    if repeated:
        notes.append(f"Generated keys repeat in column {repeated[0]!r}.")
    return notes
