"""Tables in the user's own units: named columns of numbers or text, with missing values.

A :class:`Table` is what a CSV file, a pandas DataFrame or a 2-D numeric array becomes before the
schema maps it into model space, and what comes back out of the model (samples, reconstructions,
decoded codes). Each column is either numeric (float64, NaN where missing) or text (an object
array of ``str``, ``None`` where missing), so "7" in a CSV and 7 in a DataFrame mean the same.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vaekit.core.errors import fail
from vaekit.core.files import atomic_write
from vaekit.data.dialect import comma_column, comma_to_dot, decode, is_comma_number, sniff

# A whole number too long for float64 to hold exactly (a 19-digit id): kept as its text.
LONG_WHOLE = re.compile(r"^\s*[+-]?\d{16,}\s*$")
# Cells that mean "no value", compared in lower case after stripping spaces.
MISSING_CELLS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})


@dataclass
class Table:
    """Columns by name, in file order; ``first_line`` is the file line of row 0 (for errors)."""

    names: list[str]
    columns: list[np.ndarray]
    where: str
    first_line: int = 1
    datetimes: frozenset[str] = frozenset()  # columns a DataFrame held as dates (text here)

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def column(self, name: str) -> np.ndarray:
        """One column's values by name."""
        return self.columns[self.names.index(name)]

    def line(self, row: int) -> str:
        """How to point a person at ``row`` of this table in an error message."""
        return f"line {row + self.first_line}" if self.first_line > 0 else f"row {row}"


def take_rows(table: Table, rows: np.ndarray) -> Table:
    """The rows of ``table`` at ``rows`` (indices or a boolean mask), in that order."""
    return Table(
        list(table.names), [c[rows] for c in table.columns], table.where, 0, table.datetimes
    )


def is_numeric(values: np.ndarray) -> bool:
    """Whether a column holds numbers (float64, NaN for missing) rather than text."""
    return values.dtype != object


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a column has no value."""
    if is_numeric(values):
        return np.isnan(values)
    return np.array([v is None for v in values], dtype=bool)


def spell(values: np.ndarray, missing: str | None = None) -> list[str | None]:
    """Each value of a column as text, as a category is spelled: numbers as
    :func:`format_number` writes them, text as it is, ``missing`` where there is no value."""
    if is_numeric(values):  # each distinct number spelled once: columns repeat their values
        distinct, where = np.unique(values, return_inverse=True)
        words = [missing if np.isnan(v) else format_number(v) for v in distinct]
        return [words[i] for i in where.reshape(-1)]
    return [missing if v is None else str(v) for v in values]


def format_number(value: float) -> str:
    """How a number is spelled as a category or a CSV cell: 3 not 3.0, else 10 digits (more
    than float32, in which the model computes, can tell apart)."""
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return f"{float(value):.10g}"


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_CELLS


def _parse_number(cell: Any) -> float | None:
    try:
        return float(cell)
    except (TypeError, ValueError):
        return None


def column_from_cells(cells: list[str], name: str, table_where: str, first_line: int) -> np.ndarray:
    """A column from text cells: numeric when every present cell is a finite number."""
    missing = [_is_missing(c) for c in cells]
    numbers = np.full(len(cells), np.nan)
    for row, (cell, gone) in enumerate(zip(cells, missing, strict=True)):
        if gone:
            continue
        number = _parse_number(cell)
        if number is None or LONG_WHOLE.match(cell):  # 16+ digits: a code float64 would round
            return np.array(
                [None if m else c.strip() for c, m in zip(cells, missing, strict=True)],
                dtype=object,
            )
        if not math.isfinite(number):
            raise fail(
                table_where,
                f"line {row + first_line}, column {name!r}: {cell.strip()!r} is not a finite "
                "number (leave the cell empty for a missing value)",
            )
        numbers[row] = number
    return numbers


def read_csv(path: Path) -> Table:
    """A CSV file (optionally .gz) as a Table. The first line is the header unless every cell
    of it is a number; then columns are named 0, 1, 2, ...

    The separator (``,`` ``;`` tab ``|``), a decimal comma (``1,5``) and the encoding (UTF-8
    with or without a byte order mark, else cp1252) are sniffed: see :mod:`vaekit.data.dialect`.
    """
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            text, encoding = decode(handle.read())
        dialect = sniff(text, path.name, encoding)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.separator)
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as err:
        raise fail(path, f"cannot read CSV ({err})") from None
    if not rows:
        raise fail(path, "is empty")
    has_header = not all(_is_number_cell(c, dialect.decimal_comma) for c in rows[0])
    width = len(rows[0])
    names = [c.strip() for c in rows[0]] if has_header else [str(i) for i in range(width)]
    body = rows[1:] if has_header else rows
    first_line = 2 if has_header else 1
    if not body:
        raise fail(path, "has a header but no data rows")
    if has_header:
        seen: set[str] = set()
        for name in names:
            if not name:
                raise fail(path, "the header has an empty column name")
            if name in seen:
                raise fail(path, f"the header names column {name!r} twice")
            seen.add(name)
    for r, row in enumerate(body):
        if len(row) != width:
            raise fail(path, f"line {r + first_line} has {len(row)} fields, expected {width}")
    columns = [
        column_from_cells(
            _dot_decimals([row[c] for row in body], dialect.decimal_comma),
            names[c],
            str(path),
            first_line,
        )
        for c in range(width)
    ]
    return Table(names, columns, str(path), first_line)


def _is_number_cell(cell: str, decimal_comma: bool) -> bool:
    """A present cell that reads as a number (``1,5`` too where the file has decimal commas)."""
    if _is_missing(cell):
        return False
    return _parse_number(cell) is not None or (decimal_comma and is_comma_number(cell))


def _dot_decimals(cells: list[str], decimal_comma: bool) -> list[str]:
    """A column's cells with decimal-comma numbers written with a dot (``1.234,5`` ->
    ``1234.5``) where the file has decimal commas and the column is written that way;
    otherwise, and for text and missing cells, as they are."""
    if not decimal_comma or not comma_column(cells):
        return cells
    return [comma_to_dot(cell) for cell in cells]


def from_array(values: np.ndarray, where: str) -> Table:
    """A 2-D numeric array as a Table with columns x0, x1, ... (row numbers in errors); an
    array holding text is refused in one line naming the first such cell."""
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        cells = np.asarray(values, dtype=object)
        row, column = next(
            (r, c) for r, c in np.ndindex(*cells.shape) if _parse_number(cells[r, c]) is None
        )
        raise fail(
            where,
            f"row {row}, column {column}: {cells[row, column]!r} is not a number; an array holds "
            "numbers only: pass a pandas DataFrame (named columns) or a CSV file for text",
        ) from None
    names = [f"x{i}" for i in range(values.shape[1])]
    return Table(names, [values[:, i].copy() for i in range(values.shape[1])], where, 0)


def is_dataframe(data: Any) -> bool:
    """Duck-typed: a pandas DataFrame (pandas is only imported when one is given)."""
    return hasattr(data, "columns") and hasattr(data, "dtypes") and hasattr(data, "iloc")


def from_dataframe(frame: Any, where: str = "DataFrame") -> Table:
    """A pandas DataFrame as a Table: numeric and boolean-free number columns stay numbers,
    everything else becomes text; NaN, None and pandas' NA are missing."""
    import pandas as pd

    names, columns, datetimes = [], [], set()
    for name in frame.columns:
        series = frame[name]
        names.append(str(name))
        if pd.api.types.is_datetime64_any_dtype(series):
            datetimes.add(str(name))
            columns.append(_dates_as_text(series))
        elif pd.api.types.is_integer_dtype(series) and (series.abs() >= 2**53).any():
            columns.append(np.array([None if v is pd.NA else str(v) for v in series], dtype=object))
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            columns.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            # Text cells go through the CSV reader's rule, so a text column whose every value
            # is a number (e.g. read with dtype=str) is numeric, as it would be from the file.
            missing = series.isna().to_numpy()
            cells = ["" if gone else str(v) for v, gone in zip(series, missing, strict=True)]
            columns.append(column_from_cells(cells, str(name), where, 0))
    if len(set(names)) != len(names):
        raise fail(where, "has two columns with the same name")
    return Table(names, columns, where, 0, frozenset(datetimes))


def _dates_as_text(series: Any) -> np.ndarray:
    """A DataFrame's date column as ISO text (the time of day only where some value has one),
    so it reads as a file's would."""
    stamps = series.dt.tz_localize(None) if series.dt.tz is not None else series
    timed = bool((stamps.dropna() != stamps.dropna().dt.normalize()).any())
    texts = stamps.dt.strftime("%Y-%m-%d %H:%M:%S" if timed else "%Y-%m-%d")
    return np.array([None if t is None or t != t else t for t in texts], dtype=object)


def to_dataframe(
    table: Table, kinds: dict[str, str] | None = None, dtypes: dict[str, str] | None = None
) -> Any:
    """The Table as a pandas DataFrame; ``kinds`` maps names to schema kinds so that integer
    columns come back as integers (pandas' nullable Int64 where values are missing);
    ``dtypes`` names the pandas dtype a column had in the DataFrame a run was trained on, and
    the column comes back in it where its values allow (bool, int64, float64, category, ...)."""
    import pandas as pd

    data = {}
    for name, values in zip(table.names, table.columns, strict=True):
        if is_numeric(values) and (kinds or {}).get(name) in ("integer", "id"):
            data[name] = pd.array([None if np.isnan(v) else int(v) for v in values], dtype="Int64")
        elif is_numeric(values):
            data[name] = values
        else:
            data[name] = pd.Series(values, dtype=object)
        if (dtypes or {}).get(name):
            data[name] = _as_dtype(pd.Series(data[name]), dtypes[name])
    return pd.DataFrame(data)


def _as_dtype(series: Any, dtype: str) -> Any:
    """``series`` in ``dtype`` where every value fits it (missing values only where the dtype
    holds them); as it is otherwise."""
    import pandas as pd

    try:
        if dtype == "bool":
            spelled = series.astype(object)
            if spelled.isna().any() or not spelled.isin(["True", "False", True, False]).all():
                return series
            return spelled.isin(["True", True])
        if dtype.startswith("datetime64"):
            return pd.to_datetime(series)
        if dtype.startswith(("int", "uint")) and series.isna().any():
            return series.astype("Int64")
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series


def write_csv(table: Table, path: Path) -> None:
    """Write the Table as CSV with its header; missing values are empty cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.names)
    cells = [
        [("" if np.isnan(v) else format_number(v)) for v in col]
        if is_numeric(col)
        else [("" if v is None else v) for v in col]
        for col in table.columns
    ]
    for row in zip(*cells, strict=True):
        writer.writerow(row)
    text = buffer.getvalue()
    atomic_write(Path(path), lambda tmp: tmp.write_text(text))
