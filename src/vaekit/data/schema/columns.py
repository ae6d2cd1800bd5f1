"""One column of a table and its map into model space and back.

A :class:`Column` is a value, not a class per kind: its ``kind`` (continuous, integer, datetime,
binary, categorical, id, constant, ignored), ``role`` (feature, label, condition, ignored),
missing-value policy and the numbers of its map. ``encode_column`` and ``decode_column`` are
the map.

A conditional run's condition columns (a table's columns with role "condition", or an image
dataset's class label) map the same way, into a separate block of numbers the model is given
alongside each example (``encode_conditions``, ``decode_conditions``): one-hot categories,
standardised numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vaekit.core.errors import VaekitError, fail
from vaekit.data import dates
from vaekit.data.scaling import from_normal, to_normal
from vaekit.data.schema.keys import KeyFilter, new_keys
from vaekit.data.table import Table, format_number, is_numeric, missing_mask, spell

KINDS = (
    "continuous",
    "integer",
    "datetime",
    "binary",
    "categorical",
    "id",
    "constant",
    "ignored",
)
NUMBER_KINDS = ("continuous", "integer", "datetime")  # one model number, scaled
EXAMPLE_DAY = np.array([18466.0])  # 2020-07-23: a date to show a format by
SCALINGS = ("quantile", "standard")  # how a number feature maps (vaekit.data.scaling)
ROLES = ("feature", "label", "condition", "ignored")
MISSING_POLICIES = ("none", "indicator")


@dataclass
class Column:
    """One column of a table and its map into model space.

    continuous/integer/datetime: one model column, (value - mean) / std (``scaling``
    "standard") or the normal score of the value's quantile among the training values
    (``scaling`` "quantile", ``quantiles`` its knots; see :mod:`vaekit.data.scaling`); integers
    are rounded and clipped to [lo, hi] on the way out (or, where a few values with gaps between
    them were seen, ``levels``, to the nearest of those), continuous values rounded to the
    ``decimals`` the training values have. datetime: text in ``format`` (see
    :mod:`vaekit.data.dates`), as days since 1970-01-01, written back in that format at its
    resolution. binary: 1 for ``categories[1]``, else 0. categorical: one-hot over
    ``categories``. id: a unique key, no model column; generated rows get new keys in
    ``patterns`` (:mod:`vaekit.data.schema.keys`), none of them a training key (``keys``, a
    filter of them). constant: ``value`` on the way out, no model column.
    ``missing="indicator"`` adds one 0/1 model column that is 1 where the value is missing (the
    value column then holds 0). ``numeric`` says whether the training file spelled the values
    as numbers, so outputs come back as numbers; ``dtype``, the pandas dtype a DataFrame held
    them in (a date column's datetime64 too), so DataFrame outputs come back in it.
    """

    name: str
    kind: str
    role: str = "feature"
    missing: str = "none"
    numeric: bool = True
    categories: list[str] | None = None
    mean: float | None = None
    std: float | None = None
    lo: float | None = None
    hi: float | None = None
    value: str | None = None
    note: str = ""
    scaling: str = "standard"
    quantiles: list[float] | None = None
    format: str | None = None
    decimals: int | None = None
    patterns: list[str] | None = None
    keys: str | None = None
    computed: bool = False  # computed from other columns by a rule, not generated
    levels: list[float] | None = None  # integer: the few values seen, when they leave gaps
    dtype: str | None = None  # the pandas dtype of a DataFrame trained on, given back so

    @property
    def in_model(self) -> bool:
        """Whether the column is part of what the model sees and generates."""
        return self.role == "feature" and self.kind != "ignored"

    @property
    def width(self) -> int:
        """Model-space columns this column takes."""
        return self.encoded_width if self.in_model else 0

    @property
    def encoded_width(self) -> int:
        """Numbers one value of this column becomes, whatever its role (a condition's too)."""
        if self.kind in ("ignored", "id") or self.computed:
            return 0
        if self.kind == "categorical":
            base = len(self.categories or [])
        else:
            base = 0 if self.kind == "constant" else 1
        return base + (self.missing == "indicator")

    def describe(self) -> str:
        """A few words for the training start line, e.g. ``colour: categorical (3)``."""
        if self.role == "condition":
            detail = f" ({len(self.categories)})" if self.categories else ""
            text = f"{self.name}: condition, {self.kind}{detail}"
        elif self.role != "feature":
            text = f"{self.name}: {self.role}"
        elif self.kind in ("categorical", "binary"):
            text = f"{self.name}: {self.kind} ({len(self.categories or [])})"
        elif self.kind == "constant":
            text = f"{self.name}: constant ({self.value})"
        elif self.kind == "datetime":
            text = f"{self.name}: datetime ({self.format})"
        elif self.kind == "id":
            text = f"{self.name}: id (new keys in generated rows)"
        else:
            text = f"{self.name}: {self.kind}"
        if self.computed:
            text += ", computed"
        if self.missing == "indicator":
            text += " +missing"
        return text + (f" [{self.note}]" if self.note else "")


def listing(values: list[str], limit: int) -> str:
    """The first ``limit`` values, comma-separated, and ", ..." where there are more."""
    return ", ".join(values[:limit]) + (", ..." if len(values) > limit else "")


def _number(text: Any) -> bool:
    """Whether ``float(text)`` reads it."""
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def not_a_number(table: Table, name: str, values: np.ndarray, why: str) -> VaekitError:
    """The error for text in a number column, naming its first cell that is not a number."""
    row = next(i for i, v in enumerate(values) if v is not None and not _number(v))
    return fail(
        table.where,
        f"{table.line(row)}, column {name!r}: {str(values[row])[:30]!r} is not a number ({why})",
    )


def category_codes(column: Column, table: Table, values: np.ndarray) -> np.ndarray:
    """Index of each value in ``column.categories``; -1 where missing; unknown ones refused."""
    index = {c: i for i, c in enumerate(column.categories or [])}
    codes = np.empty(len(values), dtype=np.int64)
    for row, spelling in enumerate(spell(values)):
        if spelling is None:
            codes[row] = -1
            continue
        code = index.get(spelling)
        if code is None:
            raise fail(
                table.where,
                f"{table.line(row)}, column {column.name!r}: {spelling[:30]!r} is not one of "
                f"the {len(index)} categories seen in training "
                f"({listing(column.categories or [], 8)})",
            )
        codes[row] = code
    return codes


def encode_columns(columns: list[Column], table: Table, role: str, too_large: str) -> np.ndarray:
    """The ``columns`` of ``table`` side by side in model space, float32 (N, width). A column
    the table lacks is refused, naming its ``role`` in the run (feature, condition); a value
    beyond float32 once mapped, by ``too_large`` (its ``{}`` becomes the column's name)."""
    parts = []
    for column in columns:
        if column.kind == "id" or column.computed:
            continue  # not modelled (a key, a column computed by a rule): need not be there
        if column.name not in table.names:
            raise fail(table.where, f"has no column {column.name!r} (a {role} of this run)")
        parts.append(encode_column(column, table))
    x = np.concatenate(parts, axis=1) if parts else np.zeros((len(table), 0), dtype=np.float32)
    if not np.isfinite(x).all():
        row, at = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
        name = [c.name for c in columns for _ in range(c.encoded_width)][at]
        raise fail(table.where, f"{table.line(row)}, {too_large.format(repr(name))}")
    return x.astype(np.float32, copy=False)


def encode_column(column: Column, table: Table) -> np.ndarray:
    """One column of ``table`` -> float32 (N, its encoded width)."""
    if column.computed:
        return np.zeros((len(table), 0), dtype=np.float32)
    values = table.column(column.name)
    missing = missing_mask(values)
    if missing.any() and column.missing != "indicator":
        row = int(np.argmax(missing))
        raise fail(
            table.where,
            f"{table.line(row)}, column {column.name!r}: missing value, but the column had "
            "none in training (fill it in, or retrain with the column's missing policy set "
            "to indicator)",
        )
    n = len(values)
    if column.kind == "datetime":
        block = _scale(column, as_days(column, table))[:, None]
    elif column.kind in ("continuous", "integer"):
        if not is_numeric(values):
            raise not_a_number(table, column.name, values, f"the column is {column.kind}")
        block = _scale(column, values)[:, None]
    elif column.kind == "binary":
        block = (category_codes(column, table, values) == 1).astype(np.float64)[:, None]
    elif column.kind == "categorical":
        codes = category_codes(column, table, values)
        block = np.zeros((n, len(column.categories or [])))
        present = codes >= 0
        block[np.flatnonzero(present), codes[present]] = 1.0
    else:  # constant: nothing but its missing indicator
        block = np.zeros((n, 0))
    if column.missing == "indicator":
        block = np.concatenate([block, missing[:, None].astype(np.float64)], axis=1)
    with np.errstate(over="ignore"):  # an overflow to inf is refused, naming the cell, by encode
        return block.astype(np.float32)


def as_days(column: Column, table: Table) -> np.ndarray:
    """A datetime column of ``table`` as days since 1970-01-01 (NaN where missing); a value not
    in the column's format is refused, naming its row and the format."""
    values, fmt = table.column(column.name), column.format or ""
    texts = spell(values)
    days = dates.parse(texts, fmt)
    bad = np.isnan(days) & ~missing_mask(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise fail(
            table.where,
            f"{table.line(row)}, column {column.name!r}: {str(texts[row])[:30]!r} is not a date "
            f"in the column's format {column.format} (e.g. {dates.write(EXAMPLE_DAY, fmt)[0]})",
        )
    return days


def as_numbers(table: Table, columns: list[Column]) -> Table:
    """``table`` with its datetime columns as days (numbers), for metrics that compare values;
    a column already numbers stays as it is."""
    by_name = {c.name: c for c in columns if c.kind == "datetime"}
    converted = [
        as_days(by_name[name], table) if name in by_name and not is_numeric(values) else values
        for name, values in zip(table.names, table.columns, strict=True)
    ]
    return Table(list(table.names), converted, table.where, table.first_line)


def _scale(column: Column, values: np.ndarray) -> np.ndarray:
    """A number column's values in model space; a missing value becomes 0 (the typical one)."""
    missing = np.isnan(values)
    if column.scaling == "quantile":
        z = to_normal(np.where(missing, column.mean, values), column.quantiles, column.std)
    else:
        z = (np.where(missing, column.mean, values) - column.mean) / column.std
    z[missing] = 0.0
    return z


def _unscale(column: Column, z: np.ndarray) -> np.ndarray:
    """Model-space numbers back in the column's units (the inverse of :func:`_scale`)."""
    if column.scaling == "quantile":
        return from_normal(z, column.quantiles)
    return z * column.std + column.mean


def decode_column(
    column: Column, block: np.ndarray, missing: np.ndarray | None = None
) -> np.ndarray:
    """A column's block of model space (N, encoded width) -> its values in the user's units;
    ``missing`` (a rule's say) overrides the column's own missing indicator."""
    n = len(block)
    if column.missing == "indicator":
        own, block = block[:, -1] > 0.5, block[:, :-1]
    else:
        own = np.zeros(n, dtype=bool)
    missing = own if missing is None else missing
    if column.kind in NUMBER_KINDS:
        values = _unscale(column, block[:, 0])
        if column.kind == "integer" and column.levels:  # 3, 6, 12: never a 5
            levels = np.asarray(column.levels)
            at = np.clip(np.searchsorted(levels, values), 1, len(levels) - 1)
            below = values - levels[at - 1] < levels[at] - values
            values = np.where(below, levels[at - 1], levels[at])
        elif column.kind == "integer":
            values = np.clip(np.round(values), column.lo, column.hi)
        elif column.kind == "datetime":
            step = dates.resolution(column.format or "")
            values = np.round(values / step) * step
        elif column.decimals is not None:
            values = np.round(values, column.decimals)
        values[missing] = np.nan
        if column.kind == "datetime":
            return np.array(dates.write(values, column.format or ""), dtype=object)
        return values
    if column.kind == "binary":
        codes = (block[:, 0] > 0.5).astype(np.int64)
    elif column.kind == "categorical":
        codes = block.argmax(axis=1)
    else:
        codes = np.zeros(n, dtype=np.int64)
    spellings = column.categories if column.kind != "constant" else [column.value]
    if column.numeric:
        numbers = np.array([float(s) for s in spellings])[codes]
        numbers[missing] = np.nan
        return numbers
    out = np.array([spellings[c] for c in codes], dtype=object)
    out[missing] = None
    return out


def decode_columns(
    columns: list[Column], x: np.ndarray, missing: dict[str, np.ndarray] | None = None
) -> Table:
    """Model space (N, width), the ``columns`` side by side -> a Table of them in their units;
    ``missing`` overrides the missing indicator of the columns it names. A computed column
    is NaN here: its rule fills it in."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    names, values, at = [], [], 0
    for column in columns:
        names.append(column.name)
        if column.kind == "id":  # keys seeded by the rows themselves: same rows, same keys
            values.append(_new_keys(column, len(x), x.tobytes()))
            continue
        if column.computed:
            values.append(np.full(len(x), np.nan))
            continue
        block = x[:, at : at + column.encoded_width]
        values.append(decode_column(column, block, (missing or {}).get(column.name)))
        at += column.encoded_width
    return Table(names, values, "model output", 0)


def _new_keys(column: Column, n: int, seed_bytes: bytes) -> np.ndarray:
    """Keys for ``n`` generated rows: unique, shaped like the training keys, none of them."""
    taken = KeyFilter.from_text(column.keys) if column.keys else KeyFilter.of([])
    keys = new_keys(
        column.patterns or [], n, taken, seed_bytes + column.name.encode(), column.numeric
    )
    if column.numeric:
        return np.array([float(k) for k in keys])
    return np.array(keys, dtype=object)


def encode_conditions(columns: list[Column], table: Table) -> np.ndarray:
    """The condition columns of ``table`` -> float32 (N, width): categories one-hot, binary
    0/1, numbers standardised by the training table's mean and std — as features map."""
    too_large = "condition column {}: the value is too large for float32 once standardised"
    return encode_columns(columns, table, "condition", too_large)


def decode_conditions(columns: list[Column], c: np.ndarray) -> Table:
    """Model-space conditions (N, width) -> a Table of the condition columns in their units."""
    return decode_columns(columns, c)


def condition_table(columns: list[Column], given: dict[str, Any], where: str) -> Table:
    """A one-row table of condition values a user gave by name (``--condition region=south``
    or ``condition={"region": "south"}``): every condition column needs a value, and a
    category must be one seen in training."""
    unknown = [name for name in given if name not in {c.name for c in columns}]
    if unknown:
        known = ", ".join(c.name for c in columns)
        raise fail(where, f"{unknown[0]!r} is not a condition of this run (it has: {known})")
    absent = [c.name for c in columns if c.name not in given]
    if absent:
        example = ",".join(f"{c.name}=VALUE" for c in columns)
        raise fail(where, f"no value for {absent[0]!r}; give every condition, e.g. {example}")
    names, values = [], []
    for column in columns:
        value = given[column.name]
        text = format_number(value) if isinstance(value, (int, float, np.number)) else str(value)
        if column.numeric and _number(text) and np.isfinite(float(text)):
            text = format_number(float(text))  # "6.0" names the category "6"
        if column.kind in ("continuous", "integer"):
            if not _number(text) or not np.isfinite(float(text)):
                raise fail(where, f"{column.name}: {text[:30]!r} is not a number")
            cell: Any = np.array([float(text)])
        else:
            if text not in (column.categories or []):
                raise fail(
                    where,
                    f"{column.name}: {text[:30]!r} is not one of the values seen in training "
                    f"({listing(column.categories or [], 12)})",
                )
            cell = np.array([text], dtype=object)
        names.append(column.name)
        values.append(cell)
    return Table(names, values, where, 0)
