"""Whether generated table rows are valid and shaped like the real table, scored as SDMetrics
0.32.0's single-table Diagnostic Report scores them (its figures to 1e-9;
tests/metrics/test_diagnostic.py checks them).

Which columns: those named in ``sdtypes``, in its order, each with one of SDMetrics' sdtypes;
a column left out of it is not scored for validity (SDMetrics ignores a column its metadata does
not name), but still counts for Data Structure. The caller gives a datetime column as numbers
(days or seconds since an epoch, NaN missing): SDMetrics compares datetimes as integer
nanoseconds, and any unit that keeps distinct instants apart orders them the same way.

Data Validity, one score per column, by sdtype:
- numerical, datetime: BoundaryAdherence, the share of generated values within
  [min, max] of the present real values, both ends included. Missing values are allowed exactly
  when the real column has one: then missing generated values are dropped first; otherwise each
  counts as out of bounds. A real column with no value has no bounds (every value is out).
- categorical, ordinal, boolean: CategoryAdherence, the share of generated values that are one
  of the present real values; a missing generated value counts as valid exactly when the real
  column has a missing value. Two number columns compare as numbers; a number and a text compare
  by spelling (:func:`vaekit.data.table.spell`); true/false columns are text in a Table.
- id: KeyUniqueness, only for a key (SDMetrics' primary key or an alternate key; every id
  column unless ``keys`` says which): the share of generated rows holding the first occurrence of
  a present value, 1 - (repeats + missing) / rows, i.e. distinct present values / rows. The real
  column plays no part. An id column that is not a key has no score (SDMetrics gives it none).
A column missing from either table, a text column given as numerical or datetime, or a
generated table with no rows has no score: SDMetrics' NaN (an error, or 0/0), shown in
``columns`` and left out of the mean. (SDMetrics raises for a datetime column missing from a
table, and compares two text columns in a numerical column as strings; vaekit gives NaN for
both.)

Data Structure: TableStructure, |R & F| / |R | F| over the sets of (column name, storage type)
pairs of the two whole tables, every column counting (those outside ``sdtypes`` too).
SDMetrics' storage type is the pandas dtype (datetimes converted to datetime64 on both sides
first); a Table has two, number (float64) and text (object), so the figures agree when a column
is stored alike in both tables exactly when its pandas dtypes agree (pandas' int64 against
float64, or bool against object, is a mismatch vaekit cannot see).

Overall: the mean of the two property scores (a property with no score left out). Data Validity
is the mean of its column scores.

Not covered (not in vaekit's tables): metadata ranges (range_min, range_max, range_values,
range_is_nullable), datetime_format and regex_format (which add DatetimeFormatAdherence and
RegexFormatAdherence rows), a sequence index (no BoundaryAdherence in SDMetrics) and a primary
key of several columns.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from vaekit.core.errors import fail
from vaekit.data.schema import Column
from vaekit.data.table import Table, is_numeric, missing_mask, spell

# SDMetrics' metric for each sdtype vaekit scores, named as its report names them.
METRICS = {
    "numerical": "BoundaryAdherence",
    "datetime": "BoundaryAdherence",
    "categorical": "CategoryAdherence",
    "ordinal": "CategoryAdherence",
    "boolean": "CategoryAdherence",
    "id": "KeyUniqueness",
}


@dataclass
class DiagnosticScore:
    """SDMetrics' Diagnostic Report in numbers: ``overall`` is the mean of ``data_validity`` and
    ``data_structure`` (NaN where neither was scored); ``data_validity`` is the mean of the
    scores in ``columns`` (NaN ones left out); ``metrics`` names each column's metric."""

    overall: float
    data_validity: float
    data_structure: float
    columns: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)


def boundary_adherence(real: np.ndarray, fake: np.ndarray) -> float:
    """The share of ``fake`` values within [min, max] of the present ``real`` values; missing
    fake values dropped when ``real`` has a missing value, else out of bounds. NaN when a column
    is text or no fake value is left."""
    if not (is_numeric(real) and is_numeric(fake)):
        return math.nan
    present = real[~np.isnan(real)]
    if len(present) < len(real):  # missing values are allowed
        fake = fake[~np.isnan(fake)]
    if not len(fake):
        return math.nan
    if not len(present):
        return 0.0
    valid = (fake >= present.min()) & (fake <= present.max())  # NaN is never within
    return float(np.count_nonzero(valid) / len(fake))


def category_adherence(real: np.ndarray, fake: np.ndarray) -> float:
    """The share of ``fake`` values that are present ``real`` values, a missing fake value
    valid when ``real`` has a missing value. NaN when ``fake`` is empty."""
    if not len(fake):
        return math.nan
    real_missing, fake_missing = missing_mask(real), missing_mask(fake)
    if is_numeric(real) and is_numeric(fake):
        valid = np.isin(fake, real[~real_missing])
    else:
        allowed = set(spell(real[~real_missing]))
        valid = np.array([v is not None and v in allowed for v in spell(fake)], dtype=bool)
    if real_missing.any():
        valid |= fake_missing
    return float(valid.mean())


def key_uniqueness(fake: np.ndarray) -> float:
    """1 - the share of ``fake`` rows that repeat an earlier value or are missing (distinct
    present values / rows). NaN when ``fake`` is empty."""
    if not len(fake):
        return math.nan
    present = fake[~missing_mask(fake)]
    distinct = len(np.unique(present)) if is_numeric(fake) else len(set(present))
    return 1.0 - (len(fake) - distinct) / len(fake)


def _storage(values: np.ndarray) -> str:
    return "float64" if is_numeric(values) else "object"


def table_structure(real: Table, fake: Table) -> float:
    """|R & F| / |R | F| over the (column name, storage type) pairs of the two tables, a storage
    type being number or text. NaN when neither table has a column."""
    a = {(n, _storage(c)) for n, c in zip(real.names, real.columns, strict=True)}
    b = {(n, _storage(c)) for n, c in zip(fake.names, fake.columns, strict=True)}
    if not a | b:
        return math.nan
    return len(a & b) / len(a | b)


def _mean(scores: list[float]) -> float:
    """The mean of the scores that are not NaN, summed as pandas sums them; NaN if none."""
    values = np.array(scores, dtype=np.float64)
    known = ~np.isnan(values)
    if not known.any():
        return math.nan
    return float(np.where(known, values, 0.0).sum() / known.sum())


def data_validity(
    real: Table, fake: Table, sdtypes: dict[str, str], keys: Collection[str] | None = None
) -> tuple[dict[str, float], dict[str, str]]:
    """Each scored column's validity score and the metric that gave it, by name, in the order
    of ``sdtypes`` (see the module docstring; NaN where SDMetrics has no number)."""
    unknown = sorted(set(sdtypes.values()) - set(METRICS))
    if unknown:
        raise fail("sdtypes", f"unknown sdtype {unknown[0]!r}; use one of {', '.join(METRICS)}")
    if keys is not None and set(keys) - set(sdtypes):
        missing = sorted(set(keys) - set(sdtypes))[0]
        raise fail("keys", f"{missing!r} is not a column of sdtypes")
    scores: dict[str, float] = {}
    metrics: dict[str, str] = {}
    for name, sdtype in sdtypes.items():
        if sdtype == "id" and keys is not None and name not in keys:
            continue
        metrics[name] = METRICS[sdtype]
        if name not in real.names or name not in fake.names:
            scores[name] = math.nan
            continue
        a, b = real.column(name), fake.column(name)
        if sdtype in ("numerical", "datetime"):
            scores[name] = boundary_adherence(a, b)
        elif sdtype == "id":
            scores[name] = key_uniqueness(b)
        else:
            scores[name] = category_adherence(a, b)
    return scores, metrics


def diagnostic(
    real: Table, fake: Table, sdtypes: dict[str, str], keys: Collection[str] | None = None
) -> DiagnosticScore:
    """SDMetrics 0.32.0's single-table Diagnostic Report of ``fake`` against ``real``.

    ``sdtypes`` maps the columns to score for validity to "numerical", "datetime" (given as
    numbers), "categorical", "ordinal", "boolean" or "id"; ``keys`` names the id columns that
    are keys (the report's primary key and alternate keys), None for every id column.
    """
    columns, metrics = data_validity(real, fake, sdtypes, keys)
    validity = _mean(list(columns.values()))
    structure = table_structure(real, fake)
    return DiagnosticScore(_mean([validity, structure]), validity, structure, columns, metrics)


def sdtypes_of(columns: list[Column]) -> dict[str, str]:
    """SDMetrics' sdtype of each generated column of a schema: continuous and integer are
    numerical, binary boolean, categorical categorical, datetime datetime, id id."""
    words = {
        "continuous": "numerical",
        "integer": "numerical",
        "datetime": "datetime",
        "binary": "boolean",
        "categorical": "categorical",
        "id": "id",
    }
    return {c.name: words[c.kind] for c in columns if c.role != "ignored" and c.kind in words}
