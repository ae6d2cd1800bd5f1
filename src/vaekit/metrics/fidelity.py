"""How closely generated table rows follow real ones, scored as SDMetrics 0.32.0's single-table
Quality Report scores them (its figures to 1e-6; tests/metrics/test_fidelity.py checks them).

Which columns: every column of the table, features, labels and conditions alike (a label or
condition column is part of a synthetic table too), except ``constant`` and ``ignored`` kinds and
the ``ignored`` role. continuous/integer are SDMetrics' "numerical"; binary/categorical are
"categorical" (SDMetrics' "boolean" is scored exactly as "categorical" is, so true/false columns
need nothing special). A numeric-kind column spelled as text in either table is a category.

Column Shapes, one score per column, missing values left out of both:
- number: the KS complement, 1 - max|F_real - F_fake| of the two empirical distribution
  functions (values rounded to 14 decimals first, as SDMetrics does);
- category: the TV complement, 1 - (1/2) sum_k |p_real(k) - p_fake(k)|.
A column with no value on either side has no score (SDMetrics' NaN, left out of its mean).

Column Pair Trends, one score per pair of columns, in column order:
- two numbers: the correlation similarity 1 - |r_real - r_fake| / 2, r the Pearson
  coefficient over the rows where both are present; scored only where |r_real| > 0.5, and never
  where either column is constant in either table (SDMetrics' error) or r is undefined;
- two categories: the contingency similarity 1 - (1/2) sum |p_real(a, b) - p_fake(a, b)| over
  the joint categories, missing a category of its own; scored only where the real table's
  Cramér's V (no continuity correction, over at least 2 x 2 categories) is above 0.3;
- a number and a category: the same, after each table's number column is cut into 10
  equal-width bins over that table's own range (np.histogram_bin_edges, then np.digitize: bins
  1-10, the largest value and missing values both in bin 11). Real and generated rows are binned
  each on their own edges: SDMetrics' report does so, and it is copied here as it is.
The two thresholds are the report's defaults; pass 0 to score every pair (at 0, a pair with
r_real exactly 0 is still left out, as in SDMetrics). SDMetrics subsamples 50,000 rows at random
for a category pair of a larger table; vaekit always uses every row.

Overall: the mean of the two property scores (a property with no score left out). Each property
score is the mean of its column or pair scores.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from vaekit.data.schema import Column
from vaekit.data.table import Table, is_numeric, missing_mask, spell

NUMERIC_KINDS = ("continuous", "integer", "datetime")  # dates given as days
MISSING = "\0missing"  # a missing value: a category of its own, never a real spelling
KS_DECIMALS = 14  # SDMetrics rounds numbers to sys.float_info.dig - 1 decimals before KS
BINS = 10  # equal-width bins of a number column paired with a category
CORRELATION_THRESHOLD = 0.5  # |Pearson r| in the real table above which a number pair counts
ASSOCIATION_THRESHOLD = 0.3  # Cramér's V in the real table above which a category pair counts


@dataclass
class QualityScore:
    """SDMetrics' Quality Report in numbers: ``overall`` is the mean of ``column_shapes`` and
    ``column_pair_trends`` (NaN where nothing was scored), each the mean of its dict."""

    overall: float
    column_shapes: float
    column_pair_trends: float
    column_scores: dict[str, float] = field(default_factory=dict)
    pair_scores: dict[tuple[str, str], float] = field(default_factory=dict)


def scored_columns(columns: list[Column]) -> list[Column]:
    """The columns a synthetic table is scored on: all but constant, ignored and id ones (a
    key's values are made up; :mod:`vaekit.metrics.diagnostic` checks they are unique)."""
    left_out = ("constant", "ignored", "id")
    return [c for c in columns if c.kind not in left_out and c.role != "ignored"]


def is_number_column(column: Column, *tables: Table) -> bool:
    """Whether ``column`` is scored as a number: a numeric kind, spelled as numbers in every
    one of ``tables``."""
    return column.kind in NUMERIC_KINDS and all(is_numeric(t.column(column.name)) for t in tables)


def ks_complement(real: np.ndarray, fake: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic of two number columns (NaN dropped,
    values rounded to 14 decimals as SDMetrics does); 0 when either side has no value."""
    real, fake = real[~np.isnan(real)], fake[~np.isnan(fake)]
    if not len(real) or not len(fake):
        return 0.0
    real, fake = np.round(real, KS_DECIMALS), np.round(fake, KS_DECIMALS)
    points = np.union1d(real, fake)
    cdf_real = np.searchsorted(np.sort(real), points, side="right") / len(real)
    cdf_fake = np.searchsorted(np.sort(fake), points, side="right") / len(fake)
    return float(1.0 - np.abs(cdf_real - cdf_fake).max())


def tv_complement(real: np.ndarray, fake: np.ndarray) -> float:
    """1 - the total variation distance between the category frequencies of two columns, a
    missing value counting as a category of its own (:func:`column_shapes` drops them first)."""
    a, b = spell(real, MISSING), spell(fake, MISSING)
    if not len(a) or not len(b):
        return 0.0
    categories = sorted(set(a) | set(b))
    index = {c: i for i, c in enumerate(categories)}
    p = np.bincount([index[v] for v in a], minlength=len(categories)) / len(a)
    q = np.bincount([index[v] for v in b], minlength=len(categories)) / len(b)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def column_shapes(real: Table, fake: Table, columns: list[Column]) -> dict[str, float]:
    """The column-shape score of every scored column, by name: the KS complement of a number
    column, the TV complement of a category column, missing values left out; a column with no
    value in either table is left out (SDMetrics scores it NaN)."""
    scores = {}
    for column in scored_columns(columns):
        a, b = real.column(column.name), fake.column(column.name)
        a, b = a[~missing_mask(a)], b[~missing_mask(b)]
        if not len(a) or not len(b):
            continue
        number = is_number_column(column, real, fake)
        scores[column.name] = ks_complement(a, b) if number else tv_complement(a, b)
    return scores


def bins(values: np.ndarray) -> np.ndarray:
    """A number column cut as SDMetrics' report cuts it beside a category: 10 equal-width bins
    over its own present values, numbered 1-10; the largest value and missing values in 11."""
    edges = np.histogram_bin_edges(values[~np.isnan(values)], bins=BINS)
    return np.digitize(values, edges).astype(np.float64)


def category_codes(*columns: np.ndarray) -> list[np.ndarray]:
    """The columns' values as integer codes over the categories of all of them (missing one of
    its own), so equal spellings get equal codes across tables."""
    spelled = [np.array(spell(c, MISSING), dtype=object) for c in columns]
    _, codes = np.unique(np.concatenate(spelled), return_inverse=True)
    return np.split(codes.reshape(-1), np.cumsum([len(c) for c in columns])[:-1])


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two columns of integer codes, sqrt(chi2 / (n (min(r, c) - 1))) over the
    categories present (no continuity correction); NaN when fewer than 2 x 2 of them."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    rows, cols = int(a.max(initial=-1)) + 1, int(b.max(initial=-1)) + 1
    if min(rows, cols) < 2:
        return float("nan")
    observed = np.zeros((rows, cols))
    np.add.at(observed, (a.reshape(-1), b.reshape(-1)), 1)
    expected = observed.sum(1, keepdims=True) * observed.sum(0, keepdims=True) / len(a)
    chi2 = ((observed - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (len(a) * (min(rows, cols) - 1))))


def contingency_similarity(
    real: tuple[np.ndarray, np.ndarray], fake: tuple[np.ndarray, np.ndarray]
) -> float:
    """1 - the total variation distance between the joint category frequencies of two
    columns in the real and in the generated table (missing a category of its own)."""
    first = category_codes(real[0], fake[0])
    second = category_codes(real[1], fake[1])
    width = max(int(c.max(initial=0)) for c in second) + 1
    joint_real, joint_fake = first[0] * width + second[0], first[1] * width + second[1]
    _, joint = np.unique(np.concatenate([joint_real, joint_fake]), return_inverse=True)
    joint = joint.reshape(-1)
    size = int(joint.max()) + 1
    p = np.bincount(joint[: len(joint_real)], minlength=size) / len(joint_real)
    q = np.bincount(joint[len(joint_real) :], minlength=size) / len(joint_fake)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r over the rows where both numbers are present; NaN when undefined."""
    both = ~(np.isnan(a) | np.isnan(b))
    if both.sum() < 2:
        return float("nan")
    a, b = a[both] - a[both].mean(), b[both] - b[both].mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    if denominator == 0:
        return float("nan")
    return float(np.clip((a * b).sum() / denominator, -1.0, 1.0))


def _is_constant(values: np.ndarray) -> bool:
    """One distinct present value (SDMetrics refuses to correlate such a column)."""
    return len(np.unique(values[~np.isnan(values)])) == 1


def column_pair_trends(
    real: Table,
    fake: Table,
    columns: list[Column],
    correlation_threshold: float = CORRELATION_THRESHOLD,
    association_threshold: float = ASSOCIATION_THRESHOLD,
) -> dict[tuple[str, str], float]:
    """The score of every pair of scored columns that SDMetrics' report scores (see the module
    docstring), keyed by the two names in column order; pairs it leaves out are not keys."""
    chosen = scored_columns(columns)
    number = {c.name: is_number_column(c, real, fake) for c in chosen}
    scores = {}
    for one, two in itertools.combinations([c.name for c in chosen], 2):
        a_real, b_real = real.column(one), real.column(two)
        a_fake, b_fake = fake.column(one), fake.column(two)
        if number[one] and number[two]:
            if any(_is_constant(v) for v in (a_real, b_real, a_fake, b_fake)):
                continue
            r_real = pearson(a_real, b_real)
            if not abs(r_real) > correlation_threshold:
                continue
            r_fake = pearson(a_fake, b_fake)
            if not np.isnan(r_fake):
                scores[(one, two)] = 1.0 - abs(r_real - r_fake) / 2.0
            continue
        if number[one] != number[two]:  # the number column is binned, each table on its own
            a_real, a_fake = (bins(a_real), bins(a_fake)) if number[one] else (a_real, a_fake)
            b_real, b_fake = (bins(b_real), bins(b_fake)) if number[two] else (b_real, b_fake)
        if association_threshold > 0:
            association = cramers_v(category_codes(a_real)[0], category_codes(b_real)[0])
            if not association > association_threshold:
                continue
        scores[(one, two)] = contingency_similarity((a_real, b_real), (a_fake, b_fake))
    return scores


def _mean(scores: dict) -> float:
    return float(np.mean(list(scores.values()))) if scores else float("nan")


def quality(
    real: Table,
    fake: Table,
    columns: list[Column],
    correlation_threshold: float = CORRELATION_THRESHOLD,
    association_threshold: float = ASSOCIATION_THRESHOLD,
) -> QualityScore:
    """SDMetrics' single-table Quality Report of ``fake`` against ``real``: column shapes,
    column pair trends and their mean (see the module docstring for every rule)."""
    shapes = column_shapes(real, fake, columns)
    pairs = column_pair_trends(real, fake, columns, correlation_threshold, association_threshold)
    properties = [s for s in (_mean(shapes), _mean(pairs)) if not np.isnan(s)]
    overall = float(np.mean(properties)) if properties else float("nan")
    return QualityScore(overall, _mean(shapes), _mean(pairs), shapes, pairs)


def association_matrix(table: Table, columns: list[Column]) -> tuple[list[str], np.ndarray]:
    """What a heat map of one table's pair trends shows, over the scored columns: Pearson's r
    (in [-1, 1], rows where both are present) for two number columns, Cramér's V (in [0, 1])
    for a pair with a category column, numbers binned as the pair trends bin them (10 equal-
    width bins, missing with the largest value) and missing a category of its own. 1 on the
    diagonal, NaN where undefined (a constant column). For pictures: the score is
    :func:`column_pair_trends`."""
    chosen = scored_columns(columns)
    names = [c.name for c in chosen]
    number = {c.name: is_number_column(c, table) for c in chosen}
    matrix = np.eye(len(names))
    for (i, one), (j, two) in itertools.combinations(enumerate(names), 2):
        a, b = table.column(one), table.column(two)
        if number[one] and number[two]:
            value = pearson(a, b)
        else:
            a = bins(a) if number[one] else a
            b = bins(b) if number[two] else b
            value = cramers_v(category_codes(a)[0], category_codes(b)[0])
        matrix[i, j] = matrix[j, i] = value
    return names, matrix
