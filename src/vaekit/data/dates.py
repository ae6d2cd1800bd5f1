"""Dates and times in a table: their format found from the text, read as numbers (days since
1970-01-01, a fraction for the time of day) for the model, and written back in the same format.

A format is a ``strftime`` pattern; ``%-d``, ``%-m`` and ``%-H`` mean a number without a leading
zero ("1/5/2020", as Excel writes dates), which Python's ``strftime`` cannot write on every
platform, so formatting is done here, directive by directive, the same on every machine.
"""

from __future__ import annotations

import re

import numpy as np

# Tried in this order; the first that reads every value and writes each back as it was wins
# (month/day before day/month: Excel's default, and "03/04/2020" is then ambiguous: see detect).
FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %B %Y",
)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
SECONDS_PER_DAY = 86400.0
DIRECTIVE = re.compile(r"%-?[A-Za-z%]")
# A text that could be a date: digits, and a separator or a month name beside them.
DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.\s]\w+[-/.\s]\d{1,4}|^[A-Za-z]{3,9}\s+\d")


def detect_format(texts: list[str]) -> str | None:
    """The format every one of ``texts`` is written in (None: not dates). A day-first and a
    month-first format may both read every value ("03/04/2020"): the month-first one is
    taken, as Excel writes dates; a column spec (``datetime:%d/%m/%Y``) says otherwise."""
    distinct = sorted(set(texts))
    if not distinct or not all(DATE_LIKE.match(t) for t in distinct[:50]):
        return None
    for base in FORMATS:
        for fmt in _paddings(base):
            if _writes_back(distinct, fmt):
                return fmt
    return None


def _paddings(fmt: str) -> list[str]:
    """``fmt`` and its variants without leading zeros on day, month and hour."""
    out = [fmt]
    for directive in ("%d", "%m", "%H"):
        out += [f.replace(directive, "%-" + directive[1]) for f in out if directive in f]
    return out


def _writes_back(texts: list[str], fmt: str) -> bool:
    """Whether every text reads in ``fmt`` and is written back the same."""
    days = parse(texts, fmt)
    return bool(np.isfinite(days).all()) and write(days, fmt) == texts


def parse(texts: list[str | None], fmt: str) -> np.ndarray:
    """Texts in ``fmt`` -> days since 1970-01-01 (float64); NaN where missing or unreadable
    (the caller names the first unreadable one)."""
    import pandas as pd

    loose = fmt.replace("%-", "%")  # strptime reads "5" and "05" alike for %d, %m, %H
    stamps = pd.to_datetime(pd.Series(texts, dtype=object), format=loose, errors="coerce")
    # Whole microseconds (exact in float64 for any date pandas reads), divided once: written
    # back, a value comes out the microsecond it went in.
    micros = stamps.to_numpy(dtype="datetime64[us]").astype(np.int64).astype(np.float64)
    return np.where(stamps.isna().to_numpy(), np.nan, micros / (SECONDS_PER_DAY * 1e6))


def write(days: np.ndarray, fmt: str) -> list[str | None]:
    """Days since 1970-01-01 -> texts in ``fmt`` (None where NaN), each distinct value
    written once."""
    days = np.asarray(days, dtype=np.float64)
    distinct, where = np.unique(days, return_inverse=True)
    present = distinct[np.isfinite(distinct)]
    words = dict(zip(present.tolist(), _write_distinct(present, fmt), strict=True))
    return [words.get(float(v)) for v in distinct[where.reshape(-1)]]


def _write_distinct(days: np.ndarray, fmt: str) -> list[str]:
    import pandas as pd

    micros = np.round(days * SECONDS_PER_DAY * 1e6).astype(np.int64)
    stamps = pd.DatetimeIndex(micros.astype("datetime64[us]"))
    parts = {
        "%Y": [f"{y:04d}" for y in stamps.year],
        "%y": [f"{y % 100:02d}" for y in stamps.year],
        "%m": [f"{m:02d}" for m in stamps.month],
        "%-m": [str(m) for m in stamps.month],
        "%d": [f"{d:02d}" for d in stamps.day],
        "%-d": [str(d) for d in stamps.day],
        "%H": [f"{h:02d}" for h in stamps.hour],
        "%-H": [str(h) for h in stamps.hour],
        "%M": [f"{m:02d}" for m in stamps.minute],
        "%S": [f"{s:02d}" for s in stamps.second],
        "%f": [f"{u:06d}" for u in stamps.microsecond],
        "%b": [MONTHS[m - 1][:3] for m in stamps.month],
        "%B": [MONTHS[m - 1] for m in stamps.month],
        "%%": ["%"] * len(stamps),
    }
    pieces: list[list[str]] = []
    at = 0
    for match in DIRECTIVE.finditer(fmt):
        pieces.append([fmt[at : match.start()]] * len(stamps))
        pieces.append(parts[match.group()])
        at = match.end()
    pieces.append([fmt[at:]] * len(stamps))
    return ["".join(row) for row in zip(*pieces, strict=True)]


def check_format(fmt: str) -> str | None:
    """Why ``fmt`` cannot be a date format vaekit writes (None: it can)."""
    unknown = [d for d in DIRECTIVE.findall(fmt) if d not in _KNOWN]
    if unknown:
        return f"{unknown[0]} is not a directive vaekit writes (known: {' '.join(_KNOWN)})"
    if "%Y" not in fmt and "%y" not in fmt:
        return "a date format needs a year (%Y or %y)"
    return None


_KNOWN = ("%Y", "%y", "%m", "%-m", "%d", "%-d", "%H", "%-H", "%M", "%S", "%f", "%b", "%B", "%%")


def resolution(fmt: str) -> float:
    """The smallest step ``fmt`` can write, in days: a second, a minute, an hour or a day."""
    if "%f" in fmt:
        return 1e-6 / SECONDS_PER_DAY
    for directives, step in ((("%S",), 1.0), (("%M",), 60.0), (("%H", "%-H"), 3600.0)):
        if any(d in fmt for d in directives):
            return step / SECONDS_PER_DAY
    return 1.0
