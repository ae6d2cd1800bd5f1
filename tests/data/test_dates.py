"""Dates read from their own text and written back in the same format: every known format and its
unpadded variants round-trip exactly, the format is found from the text, and text that is not
dates is not taken for dates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from vaekit.data import dates

MONTHS = [dt.date(2001, m, 1).strftime("%B") for m in range(1, 13)]  # C locale: English
EPOCH = dt.datetime(1970, 1, 1)


def _moments() -> list[dt.datetime]:
    """Dates and times across the calendar: leap days, 1999 and 2031, month ends, midnight,
    the last second of a day, single-digit days, months and hours, and microseconds."""
    fixed = [
        dt.datetime(2000, 2, 29),
        dt.datetime(2020, 2, 29, 23, 59, 59),
        dt.datetime(2024, 2, 29, 0, 0, 0),
        dt.datetime(1999, 1, 1),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2031, 7, 4, 9, 5, 3, 7),
        dt.datetime(2031, 12, 31, 23, 59, 59),
        dt.datetime(1970, 1, 1),
        dt.datetime(2021, 3, 1, 0, 0, 0),
        dt.datetime(2019, 10, 10, 10, 10, 10, 500000),
        dt.datetime(2001, 9, 9, 1, 46, 40, 123456),
        dt.datetime(2023, 9, 23, 5, 48, 54, 395557),  # was written back a microsecond late
    ]
    rng = np.random.default_rng(0)
    start = dt.datetime(1999, 1, 1)
    span = (dt.datetime(2032, 1, 1) - start).total_seconds()
    drawn = [
        start + dt.timedelta(seconds=float(s), microseconds=int(u))
        for s, u in zip(
            rng.integers(0, int(span), 200), rng.integers(0, 1_000_000, 200), strict=True
        )
    ]
    return fixed + drawn


def _reference(moment: dt.datetime, fmt: str) -> str:
    """``moment`` written in ``fmt`` by Python's own calendar, independently of vaekit."""
    parts = {
        "%Y": f"{moment.year:04d}",
        "%y": f"{moment.year % 100:02d}",
        "%m": f"{moment.month:02d}",
        "%-m": str(moment.month),
        "%d": f"{moment.day:02d}",
        "%-d": str(moment.day),
        "%H": f"{moment.hour:02d}",
        "%-H": str(moment.hour),
        "%M": f"{moment.minute:02d}",
        "%S": f"{moment.second:02d}",
        "%f": f"{moment.microsecond:06d}",
        "%b": MONTHS[moment.month - 1][:3],
        "%B": MONTHS[moment.month - 1],
        "%%": "%",
    }
    return dates.DIRECTIVE.sub(lambda m: parts[m.group()], fmt)


def _truncated(moment: dt.datetime, fmt: str) -> dt.datetime:
    """``moment`` cut to what ``fmt`` writes (a date, minutes, seconds or microseconds)."""
    if "%f" in fmt:
        return moment
    if "%S" in fmt:
        return moment.replace(microsecond=0)
    if "%M" in fmt:
        return moment.replace(second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _variants() -> list[str]:
    return [variant for base in dates.FORMATS for variant in dates._paddings(base)]


@pytest.mark.parametrize("fmt", _variants())
def test_every_format_round_trips_exactly(fmt):
    moments = [_truncated(m, fmt) for m in _moments()]
    texts = [_reference(m, fmt) for m in moments]
    days = dates.parse(texts, fmt)
    assert np.isfinite(days).all()
    expected = np.array([(m - EPOCH) / dt.timedelta(days=1) for m in moments])
    # microseconds in float64 days: about 1e-11 days apart at most
    np.testing.assert_allclose(days, expected, rtol=0, atol=1e-10)
    assert dates.write(days, fmt) == texts
    assert dates.write(expected, fmt) == texts  # the exact number writes the same text
    assert dates.check_format(fmt) is None


def test_microseconds_round_trip_exactly():
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    rng = np.random.default_rng(1)
    start = dt.datetime(1999, 1, 1)
    moments = [start + dt.timedelta(microseconds=int(u)) for u in rng.integers(0, 10**15, 10_000)]
    texts = [_reference(m, fmt) for m in moments]
    assert dates.write(dates.parse(texts, fmt), fmt) == texts


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%-d/%-m/%Y", "%d %b %Y", "%Y-%m-%d %H:%M:%S"])
def test_missing_and_unreadable_values_are_nan_and_write_back_as_none(fmt):
    texts = [_reference(dt.datetime(2020, 2, 29, 13, 4, 5), fmt), None, "not a date"]
    days = dates.parse(texts, fmt)
    assert np.isfinite(days[0]) and np.isnan(days[1]) and np.isnan(days[2])
    assert dates.write(days, fmt) == [texts[0], None, None]


def test_writing_repeated_values_keeps_the_row_order():
    days = np.array([3.0, 1.0, 3.0, np.nan, 2.0, 1.0])
    assert dates.write(days, "%Y-%m-%d") == [
        "1970-01-04",
        "1970-01-02",
        "1970-01-04",
        None,
        "1970-01-03",
        "1970-01-02",
    ]
    assert dates.write(np.array([-1.0, 0.0]), "%-d/%-m/%Y") == ["31/12/1969", "1/1/1970"]


@pytest.mark.parametrize(
    ("texts", "fmt"),
    [
        (["2020-01-05", "2021-12-31", "2000-02-29"], "%Y-%m-%d"),
        (["2020-01-05 00:00:00", "2021-12-31 23:59:59"], "%Y-%m-%d %H:%M:%S"),
        (["2020-01-05T07:30", "2021-12-31T23:59"], "%Y-%m-%dT%H:%M"),
        (["1/5/2020", "12/31/2020", "2/29/2024"], "%-m/%-d/%Y"),
        (["01/05/2020", "12/31/2020"], "%m/%d/%Y"),  # month-first: 31 is a day
        (["13/05/2020", "01/05/2020", "29/02/2024"], "%d/%m/%Y"),  # 13 cannot be a month
        (["13/5/2020", "1/5/2020"], "%-d/%-m/%Y"),
        (["05 Mar 2020", "17 Dec 2021"], "%d %b %Y"),
        (["5 Mar 2020", "17 Dec 2021"], "%-d %b %Y"),
        (["March 05, 2020", "December 17, 2021"], "%B %d, %Y"),
        (["05.03.2020", "31.12.2021"], "%d.%m.%Y"),
        (["2020/03/05", "2021/12/31"], "%Y/%m/%d"),
    ],
)
def test_the_format_is_found_from_the_text(texts, fmt):
    assert dates.detect_format(texts) == fmt
    assert dates.write(dates.parse(texts, fmt), fmt) == texts


def test_a_single_day_first_value_makes_the_column_day_first():
    # 03/04 alone reads either way (month first, as Excel writes), but 13/05 only day first
    assert dates.detect_format(["03/04/2020"]) == "%m/%d/%Y"
    assert dates.detect_format(["03/04/2020", "13/05/2020"]) == "%d/%m/%Y"


@pytest.mark.parametrize(
    "texts",
    [
        ["12", "13", "2020"],  # numbers as text
        ["1.5", "2.25"],
        ["20200105", "20211231"],  # a date without separators is a number to vaekit
        ["hello world", "foo", "bar baz"],  # free words
        ["3 apples 2020", "7 pears 2021"],  # shaped like a date, but no month
        ["2020-01-05", "hello"],  # mixed
        ["2020-01-05", "01/05/2020"],  # two formats in one column
        ["2020-13-01", "2020-01-05"],  # month 13
        ["2021-02-29"],  # not a leap year
        ["31/04/2020"],  # April has 30 days
        [],
    ],
)
def test_text_that_is_not_dates_has_no_format(texts):
    assert dates.detect_format(texts) is None


def test_resolution_is_the_smallest_step_the_format_writes():
    assert dates.resolution("%Y-%m-%d") == 1.0
    assert dates.resolution("%d %b %Y") == 1.0
    assert dates.resolution("%Y-%m-%d %H:%M:%S") == pytest.approx(1 / 86400)
    assert dates.resolution("%d/%m/%Y %H:%M") == pytest.approx(60 / 86400)
    assert dates.resolution("%Y-%m-%d %-H") == pytest.approx(3600 / 86400)
    assert dates.resolution("%Y-%m-%dT%H:%M:%S.%f") == pytest.approx(1e-6 / 86400)
    for fmt in _variants():  # a value on the format's grid writes back to the same value
        step = dates.resolution(fmt)
        days = np.round(np.array([10957.3, 18321.987654]) / step) * step
        again = dates.parse(dates.write(days, fmt), fmt)
        np.testing.assert_allclose(again, days, rtol=0, atol=1e-10)


def test_check_format_refuses_what_vaekit_cannot_write():
    assert dates.check_format("%d/%m/%Y") is None
    assert "%j" in (dates.check_format("%Y-%j") or "")
    assert "year" in (dates.check_format("%d/%m") or "")
