"""How closely generated table rows follow real ones, column by column, as SDMetrics' Quality
Report scores column shapes: for a number column the KS complement, 1 - max|F_real - F_fake|
between the two empirical distribution functions (missing values left out); for a category
column the TV complement, 1 - (1/2) sum_k |p_real(k) - p_fake(k)|, a missing value counting as
a category of its own. Both lie in [0, 1], 1 where the two columns are distributed alike.
"""

from __future__ import annotations

import numpy as np

from vaekit.data.schema import Column
from vaekit.data.table import Table, is_numeric, spell

NUMERIC_KINDS = ("continuous", "integer")
MISSING = "\0missing"  # a missing value: a category of its own, never a real spelling


def ks_complement(real: np.ndarray, fake: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic of two number columns (NaN dropped);
    0 when either side has no value."""
    real, fake = real[~np.isnan(real)], fake[~np.isnan(fake)]
    if not len(real) or not len(fake):
        return 0.0
    points = np.union1d(real, fake)
    cdf_real = np.searchsorted(np.sort(real), points, side="right") / len(real)
    cdf_fake = np.searchsorted(np.sort(fake), points, side="right") / len(fake)
    return float(1.0 - np.abs(cdf_real - cdf_fake).max())


def tv_complement(real: np.ndarray, fake: np.ndarray) -> float:
    """1 - the total variation distance between the category frequencies of two columns."""
    a, b = spell(real, MISSING), spell(fake, MISSING)
    if not len(a) or not len(b):
        return 0.0
    categories = sorted(set(a) | set(b))
    index = {c: i for i, c in enumerate(categories)}
    p = np.bincount([index[v] for v in a], minlength=len(categories)) / len(a)
    q = np.bincount([index[v] for v in b], minlength=len(categories)) / len(b)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def column_shapes(real: Table, fake: Table, columns: list[Column]) -> dict[str, float]:
    """The column-shape score of every column in ``columns`` (constants left out), by name."""
    scores = {}
    for column in columns:
        if column.kind == "constant":
            continue
        a, b = real.column(column.name), fake.column(column.name)
        numeric = column.kind in NUMERIC_KINDS and is_numeric(a) and is_numeric(b)
        scores[column.name] = ks_complement(a, b) if numeric else tv_complement(a, b)
    return scores


def rows_where(table: Table, mask: np.ndarray) -> Table:
    """The rows of ``table`` where ``mask`` is true."""
    return Table(list(table.names), [c[mask] for c in table.columns], table.where, 0)
