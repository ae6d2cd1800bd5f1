"""vaekit.metrics.fidelity and vaekit.metrics.synthetic against SDMetrics 0.32.0 (a test-only
dependency), and the properties their scores must have."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association

from vaekit.data.schema import Column
from vaekit.data.table import Table, take_rows
from vaekit.metrics.fidelity import association_matrix, bins, column_pair_trends, quality
from vaekit.metrics.synthetic import closest_distances, privacy, usefulness

COLUMNS = [
    Column("x", "continuous"),
    Column("y", "continuous"),
    Column("count", "integer"),
    Column("colour", "categorical", numeric=False),
    Column("flag", "binary", role="label", numeric=False, categories=["false", "true"]),
    Column("group", "categorical", role="condition", numeric=False),
    Column("coded", "binary", categories=["0", "1"]),
    Column("id", "ignored", role="ignored", numeric=False),
    Column("same", "constant", value="7"),
]


def _with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    values = values.copy()
    values[rng.random(len(values)) < share] = None if values.dtype == object else np.nan
    return values


def mixed_table(seed: int, n: int, shift: float = 0.0) -> Table:
    """Numbers, integers, categories and binaries, related to each other, with missing values;
    ``shift`` > 0 weakens the relations and moves the margins."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 2 * x + rng.normal(scale=0.5 + shift, size=n)
    count = rng.poisson(2 + np.abs(x)).astype(float)
    noisy = x + shift * rng.normal(size=n)
    colour = np.array(["red", "green", "blue"], dtype=object)[(noisy > 0).astype(int) + (noisy > 1)]
    flag = np.where(rng.random(n) < 0.3 + shift / 4, "true", "false").astype(object)
    group = np.array(["p", "q"], dtype=object)[rng.integers(0, 2, n)]
    coded = (x + rng.normal(scale=0.3, size=n) > 0).astype(float)
    ids = np.array([f"r{i}" for i in range(n)], dtype=object)
    columns = [
        _with_missing(rng, x, 0.1),
        _with_missing(rng, y, 0.05),
        _with_missing(rng, count, 0.1),
        _with_missing(rng, colour, 0.1),
        flag,
        _with_missing(rng, group, 0.2),
        _with_missing(rng, coded, 0.05),
        ids,
        np.full(n, 7.0),
    ]
    return Table([c.name for c in COLUMNS], columns, "mixed", 0)


def frame(table: Table) -> pd.DataFrame:
    """The table as SDMetrics takes it: numbers as floats with NaN, text as objects with None."""
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object) if values.dtype == object else values
            for name, values in zip(table.names, table.columns, strict=True)
        }
    )


def metadata(binary_sdtype: str = "categorical") -> dict:
    """SDMetrics' metadata for COLUMNS as vaekit maps them (ignored and constant left out)."""
    sdtypes = {
        "x": "numerical",
        "y": "numerical",
        "count": "numerical",
        "colour": "categorical",
        "flag": binary_sdtype,
        "group": "categorical",
        "coded": binary_sdtype,
    }
    return {"tables": {"t": {"columns": {k: {"sdtype": v} for k, v in sdtypes.items()}}}}


SCORED = ["x", "y", "count", "colour", "flag", "group", "coded"]


def sdmetrics_report(real: Table, fake: Table, thresholds: bool, binary_sdtype: str):
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    if not thresholds:
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {"t": frame(real)[SCORED]},
            {"t": frame(fake)[SCORED]},
            metadata(binary_sdtype),
            verbose=False,
        )
    return report


@pytest.mark.parametrize(
    ("thresholds", "binary_sdtype"),
    [(True, "categorical"), (False, "categorical"), (True, "boolean")],
)
def test_quality_equals_sdmetrics_quality_report(thresholds, binary_sdtype):
    real, fake = mixed_table(0, 160), mixed_table(1, 130, shift=0.8)
    report = sdmetrics_report(real, fake, thresholds, binary_sdtype)
    ours = quality(real, fake, COLUMNS) if thresholds else quality(real, fake, COLUMNS, 0, 0)

    properties = report.get_properties().set_index("Property")["Score"]
    assert ours.overall == pytest.approx(report.get_score(), abs=1e-6)
    assert ours.column_shapes == pytest.approx(properties["Column Shapes"], abs=1e-6)
    assert ours.column_pair_trends == pytest.approx(properties["Column Pair Trends"], abs=1e-6)

    shapes = report.get_details("Column Shapes")
    assert ours.column_scores == pytest.approx(
        dict(zip(shapes["Column"], shapes["Score"], strict=True))
    )
    pairs = report.get_details("Column Pair Trends")
    counted = pairs["Meets Threshold?"].fillna(False).astype(bool) & pairs["Score"].notna()
    theirs = {
        (a, b): s
        for a, b, s in zip(pairs["Column 1"], pairs["Column 2"], pairs["Score"], strict=True)
    }
    expected = {k: v for (k, v), keep in zip(theirs.items(), counted, strict=True) if keep}
    assert ours.pair_scores.keys() == expected.keys()
    assert ours.pair_scores == pytest.approx(expected, abs=1e-6)
    # the case is not vacuous: every kind of pair is scored, and with thresholds some are not
    assert {"CorrelationSimilarity", "ContingencySimilarity"} <= set(pairs["Metric"])
    assert ("x", "y") in ours.pair_scores and ("x", "colour") in ours.pair_scores
    assert (len(expected) < len(theirs)) == thresholds


def test_a_table_scores_one_against_itself_and_lower_with_columns_shuffled():
    real = mixed_table(0, 200)
    same = quality(real, real, COLUMNS)
    assert same.overall == pytest.approx(1.0, abs=1e-12)
    assert all(s == pytest.approx(1.0, abs=1e-12) for s in same.pair_scores.values())

    rng = np.random.default_rng(5)
    shuffled = Table(real.names, [rng.permutation(c) for c in real.columns], "shuffled", 0)
    broken = quality(real, shuffled, COLUMNS)
    assert broken.column_shapes == pytest.approx(1.0, abs=1e-12)  # each column's values kept
    assert broken.column_pair_trends < 0.8 < same.column_pair_trends
    assert broken.pair_scores[("x", "y")] < 0.6  # r = 0.97 in the real table, about 0 here


def test_pairs_below_the_real_table_thresholds_are_not_scored():
    real = mixed_table(0, 200)
    pairs = column_pair_trends(real, real, COLUMNS)
    assert ("x", "y") in pairs  # strongly related in the real table
    assert ("x", "group") not in pairs  # group is drawn apart from everything
    assert ("x", "group") in column_pair_trends(real, real, COLUMNS, 0, 0)
    assert not {"id", "same"} & {name for pair in pairs for name in pair}


def test_binning_follows_the_reports_rule():
    values = np.array([0.0, 1.0, 2.5, 9.99, 10.0, np.nan])
    # 10 equal bins over [0, 10]: the largest value and missing values both land in bin 11
    assert bins(values).tolist() == [1, 2, 3, 10, 11, 11]


def test_association_matrix_shows_pearson_and_cramers_v():
    table = mixed_table(0, 200)
    names, matrix = association_matrix(table, COLUMNS)
    assert names == SCORED
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1.0)
    x, y = table.column("x"), table.column("y")
    both = ~(np.isnan(x) | np.isnan(y))
    assert matrix[0, 1] == pytest.approx(np.corrcoef(x[both], y[both])[0, 1], abs=1e-12)
    counts = pd.crosstab(frame(table)["colour"].fillna("?"), frame(table)["flag"]).to_numpy()
    assert matrix[3, 4] == pytest.approx(association(counts, method="cramer"), abs=1e-12)
    assert matrix[0, 3] > 0.6  # colour is x cut at 0 and 1
    assert np.all((matrix[3:, :] >= 0) & (matrix[3:, :] <= 1))


# -- distances to the closest record ---------------------------------------------------------


def test_closest_distances_equal_sdmetrics_dcr_and_copies_are_at_zero():
    from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

    train, fake = mixed_table(2, 40), mixed_table(3, 25, shift=0.5)
    for column, source in zip(fake.columns, train.columns, strict=True):
        column[:3] = source[5:8]  # three exact copies, missing values included
    meta = metadata()["tables"]["t"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calculate_dcr(frame(fake)[SCORED], frame(train)[SCORED], meta).to_numpy()
    ours = closest_distances(fake, train, COLUMNS)
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert np.all(ours[:3] == 0.0) and np.all(ours[3:] > 0)
    assert np.array_equal(closest_distances(fake, train, COLUMNS, chunk_cells=7), ours)


def test_closest_distance_by_hand():
    columns = [Column("n", "continuous"), Column("c", "categorical", numeric=False)]
    reference = Table(
        ["n", "c"], [np.array([0.0, 10.0, np.nan]), np.array(["a", "b", None], dtype=object)], "r"
    )
    rows = Table(
        ["n", "c"],
        [np.array([2.0, 30.0, np.nan, 5.0]), np.array(["b", "b", None, None], dtype=object)],
        "q",
    )
    # n: |a - b| / 10 (the reference's range) at most 1; one side missing 1, both 0
    # row 0 vs (10, b): 0.8, 0 -> 0.4; row 1 vs (10, b): min(2, 1), 0 -> 0.5;
    # row 2 vs (nan, None): 0, 0 -> 0; row 3 vs (nan, None): 1, 0 -> 0.5 (vs (0, a): .5, 1)
    assert closest_distances(rows, reference, columns) == pytest.approx([0.4, 0.5, 0.0, 0.5])


def test_privacy_counts_exact_copies_and_equals_sdmetrics_dcr_metrics():
    from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection

    train, holdout, fake = mixed_table(4, 40), mixed_table(5, 30), mixed_table(6, 20, shift=0.3)
    for column, source in zip(fake.columns, train.columns, strict=True):
        column[:5] = source[:5]  # 5 of 20 synthetic rows copy training rows
    for column, source in zip(holdout.columns, train.columns, strict=True):
        column[:3] = source[10:13]  # 3 of 30 held-out rows too
    result = privacy(train, holdout, fake, COLUMNS, balanced=False)
    assert result.synthetic_copies == 5 / 20 and result.holdout_copies == 3 / 30

    meta = metadata()
    frames = [frame(t)[SCORED] for t in (train, fake, holdout)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        overfit = DCROverfittingProtection.compute_breakdown(*frames, meta, "t")
        baseline = DCRBaselineProtection.compute_breakdown(frames[0], frames[1], meta, "t")
    closer = overfit["synthetic_data_percentages"]["closer_to_training"]
    assert result.closer_to_train == pytest.approx(closer, abs=1e-12)
    assert result.overfitting_protection == pytest.approx(overfit["score"], abs=1e-12)
    median = baseline["median_DCR_to_real_data"]["synthetic_data"]
    assert result.synthetic_to_train == pytest.approx(median, abs=1e-12)


# -- usefulness ------------------------------------------------------------------------------


def learnable_table(seed: int, n: int) -> Table:
    """``band`` is x cut at 0.5 (a deterministic function of x); ``level`` is 3x plus a little
    noise; ``shade`` is a category unrelated to either."""
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    band = np.where(x > 0.5, "high", "low").astype(object)
    level = 3 * x + rng.normal(scale=0.05, size=n)
    shade = np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, n)]
    return Table(["x", "band", "level", "shade"], [x, band, level, shade], "learnable", 0)


USE_COLUMNS = [
    Column("x", "continuous"),
    Column("band", "binary", numeric=False, categories=["high", "low"]),
    Column("level", "continuous"),
    Column("shade", "categorical", numeric=False),
]


def test_usefulness_learns_a_function_and_not_a_shuffled_target():
    train, holdout = learnable_table(0, 300), learnable_table(1, 200)
    holdout.columns[3][:10] = "unseen"  # a category no fitting row has: no error
    fake = learnable_table(2, 300)
    fake.columns[1] = np.random.default_rng(3).permutation(fake.columns[1])
    fake.columns[2] = np.random.default_rng(4).permutation(fake.columns[2])

    band = usefulness(train, holdout, fake, USE_COLUMNS, "band")
    assert band.task == "classification"
    assert band.real["accuracy"] > 0.97 and band.real["f1"] > 0.97
    assert 0.3 < band.synthetic["accuracy"] < 0.7  # chance is one half
    assert band.ratio["accuracy"] == pytest.approx(
        band.synthetic["accuracy"] / band.real["accuracy"]
    )

    level = usefulness(train, holdout, fake, USE_COLUMNS, "level", seed=1)
    assert level.task == "regression"
    assert level.real["r2"] > 0.95 and level.synthetic["r2"] < 0.2


def test_usefulness_f1_is_of_the_second_category_or_macro_for_more_classes():
    train, holdout = learnable_table(0, 200), learnable_table(1, 100)
    columns = [*USE_COLUMNS[:3], Column("shade", "categorical", numeric=False)]
    columns[1] = Column("band", "binary", numeric=False, categories=["low", "high"])
    fake = learnable_table(2, 200)
    fake.columns[1][:] = "high"  # a model fitted on these rows always says "high"
    band = usefulness(train, holdout, fake, columns, "band")
    high = float(np.mean(holdout.column("band") == "high"))
    assert band.synthetic["accuracy"] == pytest.approx(high)
    assert band.synthetic["f1"] == pytest.approx(2 * high / (1 + high))  # precision p, recall 1

    thirds = learnable_table(3, 300)
    thirds.columns[3] = np.array(["low", "mid", "top"], dtype=object)[
        (thirds.column("x") > 1 / 3).astype(int) + (thirds.column("x") > 2 / 3)
    ]
    first = usefulness(thirds, take_rows(thirds, np.arange(300) < 100), thirds, columns, "shade")
    assert first.real["accuracy"] > 0.97 and first.real["f1"] > 0.97  # macro over 3 classes
    assert first == usefulness(
        thirds, take_rows(thirds, np.arange(300) < 100), thirds, columns, "shade"
    )
