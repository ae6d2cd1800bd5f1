"""vaekit.metrics.diagnostic against SDMetrics 0.32.0's single-table Diagnostic Report (a
test-only dependency), on small tables built to hit each rule: values out of bounds, unseen and
missing categories, repeated keys, missing and extra columns."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from vaekit.core.errors import VaekitError
from vaekit.data.table import Table, from_dataframe
from vaekit.metrics.diagnostic import (
    boundary_adherence,
    category_adherence,
    diagnostic,
    key_uniqueness,
)

SDTYPES = {
    "amount": "numerical",
    "score": "numerical",
    "when": "datetime",
    "born": "datetime",
    "colour": "categorical",
    "shape": "categorical",
    "size": "ordinal",
    "flag": "boolean",
    "id": "id",
    "code": "id",
}


def _days(series: pd.Series) -> pd.Series:
    """A datetime column as float days since 1970, NaN where missing: what vaekit is given."""
    return (series - pd.Timestamp(0)) / pd.Timedelta(days=1)


def to_table(frame: pd.DataFrame) -> Table:
    """The DataFrame as vaekit sees it, datetime columns as float days."""
    frame = frame.copy()
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = _days(frame[name])
    return from_dataframe(frame)


def _with_missing(rng: np.random.Generator, values: list, share: float) -> list:
    return [None if rng.random() < share else v for v in values]


def frames(seed: int, n: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A real and a generated table with every sdtype; the generated one strays: numbers and
    dates past the real range, missing values where the real column has none, an unseen
    category, repeated and missing keys."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-01")

    def table(fake: bool) -> pd.DataFrame:
        m = n + 7 if fake else n
        spread = 1.5 if fake else 1.0
        amount = rng.normal(scale=spread, size=m)
        amount[rng.random(m) < 0.15] = np.nan
        score = rng.uniform(0, 10 * spread, size=m)
        if fake:
            score[rng.random(m) < 0.1] = np.nan  # the real column has none: out of bounds
        hours = rng.integers(0, 24 * 365 * (2 if fake else 1), size=m)
        when = pd.Series(start + pd.to_timedelta(hours, unit="h"))
        when[rng.random(m) < 0.1] = pd.NaT
        born = pd.Series(start - pd.to_timedelta(rng.integers(0, 9000 + 3000 * fake, m), "D"))
        if fake:
            born[rng.random(m) < 0.1] = pd.NaT
        colours = ["red", "green", "blue"] + (["purple"] if fake else [])
        colour = _with_missing(rng, list(rng.choice(colours, size=m)), 0.2)
        shapes = ["circle", "square"] + (["hexagon"] if fake else [])
        shape = list(rng.choice(shapes, size=m))
        if fake:
            shape = _with_missing(rng, shape, 0.1)  # none in the real column: invalid
        size = rng.integers(1, 5 if fake else 4, size=m)  # ordinal numbers, 4 unseen
        flag = rng.random(m) < 0.4
        ids = [f"r{i}" for i in (rng.integers(0, m, size=m) if fake else range(m))]
        if fake:
            ids = _with_missing(rng, ids, 0.1)
        code = rng.integers(0, 5, size=m)  # an id column that is not a key
        return pd.DataFrame(
            {
                "amount": amount,
                "score": score,
                "when": when,
                "born": born,
                "colour": pd.Series(colour, dtype=object),
                "shape": pd.Series(shape, dtype=object),
                "size": size,
                "flag": flag,
                "id": pd.Series(ids, dtype=object),
                "code": code,
            }
        )

    return table(False), table(True)


def sdmetrics_report(
    real: pd.DataFrame, fake: pd.DataFrame, sdtypes: dict[str, str], keys: list[str]
):
    """SDMetrics' Diagnostic Report: keys[0] the primary key, the rest alternate keys."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import DiagnosticReport

        metadata = {
            "columns": {name: {"sdtype": sdtype} for name, sdtype in sdtypes.items()},
            "primary_key": keys[0],
            "alternate_keys": keys[1:],
        }
        report = DiagnosticReport()
        report.generate(real, fake, metadata, verbose=False)
    return report


def assert_equal_to_sdmetrics(
    real: pd.DataFrame, fake: pd.DataFrame, sdtypes: dict[str, str], keys: list[str]
) -> None:
    report = sdmetrics_report(real, fake, sdtypes, keys)
    ours = diagnostic(to_table(real), to_table(fake), sdtypes, keys=keys)

    properties = report.get_properties().set_index("Property")["Score"]
    assert ours.data_validity == pytest.approx(properties["Data Validity"], abs=1e-9)
    assert ours.data_structure == pytest.approx(properties["Data Structure"], abs=1e-9)
    assert ours.overall == pytest.approx(report.get_score(), abs=1e-9)

    details = report.get_details(property_name="Data Validity")
    assert list(details["Column"]) == list(ours.columns)
    assert list(details["Metric"]) == [ours.metrics[name] for name in ours.columns]
    np.testing.assert_allclose(list(ours.columns.values()), details["Score"], rtol=0, atol=1e-9)
    structure = report.get_details(property_name="Data Structure")
    assert list(structure["Metric"]) == ["TableStructure"]
    assert ours.data_structure == pytest.approx(structure["Score"].iloc[0], abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_diagnostic_equals_sdmetrics_diagnostic_report(seed):
    real, fake = frames(seed)
    assert_equal_to_sdmetrics(real, fake, SDTYPES, keys=["id"])
    ours = diagnostic(to_table(real), to_table(fake), SDTYPES, keys=["id"])
    assert "code" not in ours.columns  # an id column that is no key has no score
    assert all(0 < ours.columns[name] < 1 for name in ours.columns if name != "flag")


def test_every_id_column_is_a_key_by_default_as_an_alternate_key_is():
    real, fake = frames(3)
    assert_equal_to_sdmetrics(real, fake, SDTYPES, keys=["id", "code"])
    ours = diagnostic(to_table(real), to_table(fake), SDTYPES)
    assert ours.metrics["code"] == "KeyUniqueness"
    assert ours.columns["code"] == pytest.approx(5 / len(fake))  # five distinct codes


def test_a_copy_of_the_real_table_scores_one():
    real, _ = frames(4)
    assert_equal_to_sdmetrics(real, real.copy(), SDTYPES, keys=["id"])
    assert diagnostic(to_table(real), to_table(real), SDTYPES, keys=["id"]).overall == 1.0


def test_missing_extra_and_retyped_columns_count_for_data_structure():
    real, fake = frames(5)
    real["note"] = "kept"  # in neither sdtypes nor metadata, but a column of the table
    fake = fake.drop(columns=["amount", "note"], errors="ignore")
    fake["extra"] = 1.0
    fake["score"] = fake["score"].map(lambda v: None if np.isnan(v) else f"{v:.3f}!")  # text
    fake["colour"] = fake["colour"].fillna("grey")
    assert_equal_to_sdmetrics(real, fake, SDTYPES, keys=["id"])
    ours = diagnostic(to_table(real), to_table(fake), SDTYPES, keys=["id"])
    # real: 11 columns, fake: 10 (amount, note gone; extra new; score now text)
    assert ours.data_structure == pytest.approx(8 / 13)
    assert math.isnan(ours.columns["amount"])  # missing from the generated table
    assert math.isnan(ours.columns["score"])  # text where numbers belong


def test_column_rules_on_hand_made_columns():
    nan = np.nan
    real = np.array([1.0, 2.0, nan, 5.0])
    assert boundary_adherence(real, np.array([0.0, 1.0, 5.0, nan, 6.0])) == 0.5
    assert boundary_adherence(real[~np.isnan(real)], np.array([1.0, nan])) == 0.5
    assert math.isnan(boundary_adherence(real, np.array([nan])))
    words = np.array(["a", "b", None], dtype=object)
    assert category_adherence(words, np.array(["a", "c", None, "b"], dtype=object)) == 0.75
    assert category_adherence(words[:2], np.array(["a", None], dtype=object)) == 0.5
    assert category_adherence(np.array([1.0, 2.0]), np.array(["1", "3"], dtype=object)) == 0.5
    assert key_uniqueness(np.array(["a", "a", None, "b"], dtype=object)) == 0.5
    assert key_uniqueness(np.array([1.0, 1.0, nan, nan, 2.0])) == 0.4


def test_unknown_sdtypes_and_keys_are_refused():
    table = to_table(frames(6)[0])
    with pytest.raises(VaekitError, match="unknown sdtype 'numeric'"):
        diagnostic(table, table, {"amount": "numeric"})
    with pytest.raises(VaekitError, match="'nope' is not a column"):
        diagnostic(table, table, {"id": "id"}, keys=["nope"])
