"""The schema of a run's data: what one example is in the user's units, and how it maps to the
numbers the model sees ("model space") and back.

It is inferred once from the training data, recorded in ``config.json`` (``data.schema``) and
used by every later command and by the Python API, so a file means the same thing it meant in
training — or the user is told, in one line naming the file and the column, why it cannot.

- :class:`ImageSchema`: shape, the value type and range of the training files, the divisor that
  brings their integer units into [0, 1], and the class names of the labels.
- :class:`TableSchema`: one :class:`Column` per column of the training table — name, kind
  (continuous, integer, binary, categorical, constant, ignored), role (feature, label,
  condition, ignored), missing-value policy and the numbers of its map into model space.

``encode`` (data -> model space) and ``decode`` (model space -> data) are the only two ways
between the user's units and the model's. A conditional run's condition columns (a table's
columns with role "condition", or an image dataset's class label) map the same way, into a
separate block of numbers the model is given alongside each example (``encode_conditions``,
``decode_conditions``): one-hot categories, standardised numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vaekit.core.errors import VaekitError, fail
from vaekit.core.progress import log
from vaekit.data.scaling import fit_quantiles, from_normal, to_normal
from vaekit.data.table import Table, format_number, is_numeric, missing_mask, spell

KINDS = ("continuous", "integer", "binary", "categorical", "constant", "ignored")
SCALINGS = ("quantile", "standard")  # how a number feature maps (vaekit.data.scaling)
ROLES = ("feature", "label", "condition", "ignored")
MISSING_POLICIES = ("none", "indicator")
LABEL_LIKE_NAMES = frozenset({"label", "labels", "class", "target", "y"})
# A text column with more distinct values than this share of its rows names things (an id).
IDENTIFIER_SHARE = 0.5


@dataclass
class Column:
    """One column of a table and its map into model space.

    continuous/integer: one model column, (value - mean) / std (``scaling`` "standard") or the
    normal score of the value's quantile among the training values (``scaling`` "quantile",
    ``quantiles`` its knots; see :mod:`vaekit.data.scaling`); integers are rounded and clipped
    to [lo, hi] on the way out. binary: 1 for ``categories[1]``, else 0. categorical: one-hot over
    ``categories``. constant: ``value`` on the way out, no model column. ``missing="indicator"``
    adds one 0/1 model column that is 1 where the value is missing (the value column then holds
    0). ``numeric`` says whether the training file spelled the values as numbers, so outputs
    come back as numbers.
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
        if self.kind == "ignored":
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
        else:
            text = f"{self.name}: {self.kind}"
        if self.missing == "indicator":
            text += " +missing"
        return text + (f" [{self.note}]" if self.note else "")


@dataclass
class ImageSchema:
    """Images of ``shape`` (C, H, W). The training files held ``dtype`` values in [lo, hi]; model
    space is value / ``divide_by`` (1: the files were already in model units). ``intensity`` is
    the 1st and 99th percentile of an example's mean value in model space, for the warning when
    a file looks scaled differently."""

    shape: list[int]
    dtype: str
    lo: float
    hi: float
    divide_by: float = 1.0
    intensity: list[float] | None = None
    classes: list[str] | None = None
    condition: Column | None = None  # the class label, when the run is conditioned on it
    kind: str = field(default="image", init=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def conditions(self) -> list[Column]:
        """What the model is conditioned on: the class label, or nothing."""
        return [self.condition] if self.condition is not None else []

    def condition_table(self, labels: np.ndarray | None, where: str) -> Table:
        """The class labels (indices into the run's classes) as a one-column table of class
        names, which ``encode_conditions`` maps like a table's categorical column."""
        column = self.condition
        assert column is not None and column.categories
        if labels is None:
            raise fail(
                where,
                "has no labels, and this run is conditioned on the class label (pass the "
                "labels with the images, e.g. an .npz with a 'labels' array)",
            )
        labels = np.asarray(labels)
        if len(labels) and int(labels.max()) >= len(column.categories):
            raise fail(
                where,
                f"label {int(labels.max())} is not a class of this run (it has "
                f"{len(column.categories)}: {', '.join(column.categories[:10])})",
            )
        names = np.empty(len(labels), dtype=object)
        names[:] = [column.categories[i] for i in labels]
        return Table([column.name], [names], where, 0)

    def describe(self, limit: int | None = None) -> str:
        """One line for people: the image shape and how the files' values map."""
        units = (
            f"{self.dtype} values {format_number(self.lo)}–{format_number(self.hi)}, divided by "
            f"{format_number(self.divide_by)}"
            if self.divide_by != 1
            else f"{self.dtype} values in model units"
        )
        text = f"images {' x '.join(map(str, self.shape))} ({units})"
        if self.condition is not None:
            classes = len(self.condition.categories or [])
            text += f", conditioned on the class label ({classes} classes)"
        return text

    def encode(
        self, values: np.ndarray, where: str, value_range: tuple[float, float] | None = None
    ) -> np.ndarray:
        """Images in the file's own units -> float32 (N, C, H, W) in model space. How they map
        is decided by the values' type and range: ``value_range`` is the whole file's when
        ``values`` is one block of it (a streamed file), so every block maps alike."""
        values = self._shaped(np.asarray(values), where)
        if values.dtype == np.bool_:
            return values.astype(np.float32)
        if value_range is not None:
            lo, hi = value_range
        else:
            lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if np.issubdtype(values.dtype, np.integer):
            x = values.astype(np.float32) / np.float32(self._divisor(values.dtype, lo, hi, where))
        else:
            x = self._float_values(values, lo, hi, where)
        self._warn_if_unlike_training(x, where)
        return x

    def _divisor(self, dtype: np.dtype, lo: float, hi: float, where: str) -> float:
        """What integer values are divided by: the training files' divisor; binary {0, 1}
        files and files already in [0, 1] are not divided; 8/16-bit files of a run trained on
        [0, 1] floats are divided by their type's maximum."""
        if lo >= 0 and hi <= 1:
            if self.divide_by != 1 and self.hi > 1:
                log(f"{where}: integer values in {{0, 1}} read as binary images (not divided)")
            return 1.0
        if self.divide_by != 1:
            if hi > self.divide_by or lo < 0:
                raise fail(
                    where,
                    f"integer values {format_number(lo)}–{format_number(hi)} lie outside the "
                    f"training files' range {format_number(self.lo)}–"
                    f"{format_number(self.divide_by)} ({self.dtype})",
                )
            return self.divide_by
        if np.issubdtype(dtype, np.unsignedinteger):
            divisor = float(np.iinfo(dtype).max)
            log(f"{where}: {dtype} values divided by {format_number(divisor)} into [0, 1]")
            return divisor
        raise fail(
            where,
            f"integer values {format_number(lo)}–{format_number(hi)}: this run was trained on "
            "images in [0, 1]; pass values in [0, 1] or unsigned 8/16-bit pixels",
        )

    def _float_values(self, values: np.ndarray, lo: float, hi: float, where: str) -> np.ndarray:
        x = values.astype(np.float32)
        if not np.isfinite(x).all():
            raise fail(where, "contains NaN, infinite or too large (beyond float32) values")
        if self.divide_by == 1 or (lo >= 0 and hi <= 1):
            return x  # already in model units (the training files' own, or [0, 1])
        if lo >= self.lo and hi <= self.hi and np.array_equal(x, np.round(x)):
            log(
                f"{where}: whole-number values {format_number(lo)}–{format_number(hi)} read as "
                f"the training files' units ({self.dtype}, divided by "
                f"{format_number(self.divide_by)})"
            )
            return x / np.float32(self.divide_by)
        raise fail(
            where,
            f"values lie in [{lo:.4g}, {hi:.4g}]: images must be in [0, 1] or in the training "
            f"files' units ({self.dtype} {format_number(self.lo)}–{format_number(self.hi)})",
        )

    def _shaped(self, values: np.ndarray, where: str) -> np.ndarray:
        shape = tuple(self.shape)
        if values.ndim >= 2 and tuple(values.shape[1:]) == shape:
            return values
        if values.ndim == 4 and tuple(values.shape[1:]) == (*shape[1:], shape[0]):
            return values.transpose(0, 3, 1, 2)  # channels last, as image libraries write
        flat_or_grey = values.ndim == 2 or (values.ndim == 3 and shape[0] == 1)
        if flat_or_grey and int(np.prod(values.shape[1:])) == int(np.prod(shape)):
            return values.reshape(len(values), *shape)
        raise fail(
            where,
            f"examples have shape {tuple(values.shape[1:])} but this run's model takes "
            f"{' x '.join(map(str, shape))} images",
        )

    def _warn_if_unlike_training(self, x: np.ndarray, where: str) -> None:
        if self.intensity is None or not len(x):
            return
        means = x.reshape(len(x), -1).mean(axis=1)
        low, high = self.intensity
        outside = float(np.mean((means < low) | (means > high)))
        if outside > 0.5:
            log(
                f"warning: {where}: {outside:.0%} of examples have a mean value outside the "
                f"training data's 1–99 % range [{low:.3g}, {high:.3g}] (this file: "
                f"{float(means.mean()):.3g}); check how it is scaled"
            )

    def decode(self, x: np.ndarray) -> np.ndarray:
        """Model-space images -> images as floats in [0, 1] (which ``encode`` reads back as is)."""
        return np.asarray(x, dtype=np.float32)


@dataclass
class TableSchema:
    """The columns of a table, in file order, with their kinds, roles and maps."""

    columns: list[Column]
    kind: str = field(default="table", init=False)

    @property
    def width(self) -> int:
        return sum(c.width for c in self.columns)

    @property
    def shape(self) -> list[int]:
        return [self.width]

    @property
    def label(self) -> Column | None:
        return next((c for c in self.columns if c.role == "label"), None)

    @property
    def conditions(self) -> list[Column]:
        """The columns the model is conditioned on (role "condition"), in file order."""
        return [c for c in self.columns if c.role == "condition"]

    @property
    def classes(self) -> list[str] | None:
        return None if self.label is None else self.label.categories

    @property
    def outputs(self) -> list[Column]:
        """Columns that come out of the model: features, constants included."""
        return [c for c in self.columns if c.in_model]

    def model_columns(self) -> list[tuple[Column, str]]:
        """Every model-space column in order: (its table column, what it holds)."""
        out = []
        for c in self.outputs:
            if c.kind == "categorical":
                out += [(c, f"{c.name}={cat}") for cat in c.categories or []]
            elif c.kind != "constant":
                out.append((c, c.name))
            if c.missing == "indicator":
                out.append((c, f"{c.name} missing"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "table", "columns": [asdict(c) for c in self.columns]}

    def describe(self, limit: int | None = 30) -> str:
        """The columns in one line (the first ``limit`` of them, then a count)."""
        shown = self.columns if limit is None else self.columns[:limit]
        more = len(self.columns) - len(shown)
        return (
            f"table of {len(self.columns)} columns — "
            + ", ".join(c.describe() for c in shown)
            + (f", and {more} more (vaekit info lists them all)" if more else "")
        )

    def encode(self, table: Table) -> tuple[np.ndarray, np.ndarray | None]:
        """A table in its own units -> (float32 (N, width) model space, labels or None).

        Columns are matched by name; a missing feature column, an extra column, an unknown
        category or a missing value where training had none is one error naming the column."""
        known = {c.name for c in self.columns}
        extra = [n for n in table.names if n not in known]
        if extra:
            raise fail(
                table.where,
                f"has column {extra[0]!r}, which the run was not trained on (its columns: "
                f"{', '.join(c.name for c in self.columns)})",
            )
        n = len(table)
        parts = []
        for column in self.outputs:
            if column.name not in table.names:
                raise fail(table.where, f"has no column {column.name!r} (a feature of this run)")
            parts.append(_encode_column(column, table))
        x = np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), dtype=np.float32)
        if not np.isfinite(x).all():
            column, row = self._first_non_finite(x)
            raise fail(
                table.where,
                f"{table.line(row)}, column {column!r}: the value is infinite or too large for "
                "float32 once standardised; rescale the data",
            )
        labels = None
        label = self.label
        if label is not None and label.name in table.names:
            labels = _category_codes(label, table, table.column(label.name)).astype(np.int64)
            if (labels < 0).any():
                row = int(np.argmax(labels < 0))
                raise fail(
                    table.where,
                    f"{table.line(row)}, label column {label.name!r}: the value is missing",
                )
        self._warn_if_unlike_training(table)
        return x.astype(np.float32, copy=False), labels

    def _first_non_finite(self, x: np.ndarray) -> tuple[str, int]:
        """The table column and row of the first non-finite model-space value."""
        row, at = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
        names = [column.name for column, _ in self.model_columns()]
        return names[at], row

    def decode(self, x: np.ndarray) -> Table:
        """Model-space rows -> a Table of the feature columns in the user's units."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        names, columns, at = [], [], 0
        for column in self.outputs:
            width = column.width
            block = x[:, at : at + width]
            at += width
            names.append(column.name)
            columns.append(_decode_column(column, block))
        return Table(names, columns, "model output", 0)

    def _warn_if_unlike_training(self, table: Table) -> None:
        for column in self.outputs:
            values = table.column(column.name)
            if column.kind not in ("continuous", "integer") or column.lo is None:
                continue
            if not is_numeric(values):
                continue
            present = values[~np.isnan(values)]
            span = max(column.hi - column.lo, abs(column.std or 0), 1e-12)
            far = (present < column.lo - span) | (present > column.hi + span)
            if far.any():
                worst = present[far][np.argmax(np.abs(present[far] - column.mean))]
                log(
                    f"warning: {table.where}: column {column.name!r} has {int(far.sum())} "
                    f"values far outside the training range [{format_number(column.lo)}, "
                    f"{format_number(column.hi)}] (e.g. {format_number(worst)})"
                )


Schema = ImageSchema | TableSchema


def likelihood_layout(schema: TableSchema) -> list[str]:
    """The per-column likelihood's blocks for a table's model columns, in order (see
    :class:`vaekit.models.distributions.ColumnLayout`): a number column ``gaussian``, a binary one
    ``bernoulli``, a category column ``categorical:K``, each followed by ``missing`` where
    the column has a missing-value indicator."""
    blocks = []
    for column in schema.outputs:
        if column.kind in ("continuous", "integer"):
            blocks.append("gaussian")
        elif column.kind == "binary":
            blocks.append("bernoulli")
        elif column.kind == "categorical":
            blocks.append(f"categorical:{len(column.categories or [])}")
        if column.missing == "indicator":  # a constant's indicator has no value to mask
            blocks.append("bernoulli" if column.kind == "constant" else "missing")
    return blocks


def condition_width(schema: Schema) -> int:
    """Numbers the model is given per example as its condition (0: not conditional)."""
    return sum(c.encoded_width for c in schema.conditions)


def encode_conditions(columns: list[Column], table: Table) -> np.ndarray:
    """The condition columns of ``table`` -> float32 (N, width): categories one-hot, binary
    0/1, numbers standardised by the training table's mean and std — as features map."""
    parts = []
    for column in columns:
        if column.name not in table.names:
            raise fail(table.where, f"has no column {column.name!r} (a condition of this run)")
        parts.append(_encode_column(column, table))
    c = np.concatenate(parts, axis=1) if parts else np.zeros((len(table), 0), dtype=np.float32)
    if not np.isfinite(c).all():
        row, at = (int(i) for i in np.argwhere(~np.isfinite(c))[0])
        name = [col.name for col in columns for _ in range(col.encoded_width)][at]
        raise fail(
            table.where,
            f"{table.line(row)}, condition column {name!r}: the value is too large for float32 "
            "once standardised",
        )
    return c.astype(np.float32, copy=False)


def decode_conditions(columns: list[Column], c: np.ndarray) -> Table:
    """Model-space conditions (N, width) -> a Table of the condition columns in their units."""
    c = np.asarray(c, dtype=np.float64).reshape(len(c), -1)
    names, values, at = [], [], 0
    for column in columns:
        names.append(column.name)
        values.append(_decode_column(column, c[:, at : at + column.encoded_width]))
        at += column.encoded_width
    return Table(names, values, "model output", 0)


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
                shown = ", ".join((column.categories or [])[:12])
                more = ", ..." if len(column.categories or []) > 12 else ""
                raise fail(
                    where,
                    f"{column.name}: {text[:30]!r} is not one of the values seen in training "
                    f"({shown}{more})",
                )
            cell = np.array([text], dtype=object)
        names.append(column.name)
        values.append(cell)
    return Table(names, values, where, 0)


def _category_codes(column: Column, table: Table, values: np.ndarray) -> np.ndarray:
    """Index of each value in ``column.categories``; -1 where missing; unknown ones refused."""
    index = {c: i for i, c in enumerate(column.categories or [])}
    codes = np.empty(len(values), dtype=np.int64)
    for row, spelling in enumerate(spell(values)):
        if spelling is None:
            codes[row] = -1
            continue
        code = index.get(spelling)
        if code is None:
            shown = ", ".join((column.categories or [])[:8])
            more = "" if len(column.categories or []) <= 8 else ", ..."
            raise fail(
                table.where,
                f"{table.line(row)}, column {column.name!r}: {spelling[:30]!r} is not one of "
                f"the {len(index)} categories seen in training ({shown}{more})",
            )
        codes[row] = code
    return codes


def _encode_column(column: Column, table: Table) -> np.ndarray:
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
    if column.kind in ("continuous", "integer"):
        if not is_numeric(values):
            row = next(i for i, v in enumerate(values) if v is not None and not _number(v))
            raise fail(
                table.where,
                f"{table.line(row)}, column {column.name!r}: {str(values[row])[:30]!r} is not a "
                f"number (the column is {column.kind})",
            )
        block = _scale(column, values)[:, None]
    elif column.kind == "binary":
        block = (_category_codes(column, table, values) == 1).astype(np.float64)[:, None]
    elif column.kind == "categorical":
        codes = _category_codes(column, table, values)
        block = np.zeros((n, len(column.categories or [])))
        present = codes >= 0
        block[np.flatnonzero(present), codes[present]] = 1.0
    else:  # constant: nothing but its missing indicator
        block = np.zeros((n, 0))
    if column.missing == "indicator":
        block = np.concatenate([block, missing[:, None].astype(np.float64)], axis=1)
    with np.errstate(over="ignore"):  # an overflow to inf is refused, naming the cell, by encode
        return block.astype(np.float32)


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


def _number(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _decode_column(column: Column, block: np.ndarray) -> np.ndarray:
    n = len(block)
    if column.missing == "indicator":
        missing, block = block[:, -1] > 0.5, block[:, :-1]
    else:
        missing = np.zeros(n, dtype=bool)
    if column.kind in ("continuous", "integer"):
        values = _unscale(column, block[:, 0])
        if column.kind == "integer":
            values = np.clip(np.round(values), column.lo, column.hi)
        values[missing] = np.nan
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


# ---- inference ---------------------------------------------------------------------------


def infer_table_schema(
    table: Table,
    spec: dict[str, Any] | None = None,
    label: str | None = None,
    condition: list[str] | None = None,
    scaling: str = "quantile",
) -> TableSchema:
    """Infer every column's kind from the training table, then apply the user's ``spec``
    (``{name: "kind" | "role" | {kind, role, missing}}``), ``label`` (a column name) and
    ``condition`` (the columns the model is conditioned on). Number features map by
    ``scaling`` (one of :data:`SCALINGS`); conditions are standardised."""
    spec = dict(spec or {})
    for name, role in [(label, "label")] + [(name, "condition") for name in condition or []]:
        if name is None:
            continue
        if name not in table.names:
            raise fail(table.where, f"no column named {name!r} (columns: {', '.join(table.names)})")
        entry = _spec_entry(spec.get(name), name)
        if entry.get("role", role) != role:
            raise fail(
                table.where,
                f"column {name!r} cannot be both a {entry['role']} and a {role}; a condition "
                "is given to the model, a label only names each row's class",
            )
        spec[name] = {**entry, "role": role}
    unknown = [name for name in spec if name not in table.names]
    if unknown:
        raise fail(
            table.where,
            f"the column spec names {unknown[0]!r}, which is not a column "
            f"(columns: {', '.join(table.names)})",
        )
    columns = []
    for name, values in zip(table.names, table.columns, strict=True):
        wanted = _spec_entry(spec.get(name), name)
        columns.append(_infer_column(table, name, values, wanted, scaling))
    schema = TableSchema(columns)
    if schema.width == 0:
        raise fail(
            table.where,
            "has no column left to model (every column is a label, ignored or constant)",
        )
    _hint_label_columns(schema, table, label)
    return schema


def _spec_entry(entry: Any, name: str) -> dict[str, Any]:
    """A column's spec as a mapping; a word (kind or role) is shorthand."""
    where = f"column spec for {name!r}"
    if entry is None:
        return {}
    if isinstance(entry, str):
        entry = {word: True for word in entry.split(",") if word}
        out: dict[str, Any] = {}
        for word in entry:
            if word in ROLES and word != "ignored":
                out["role"] = word
            elif word in KINDS:
                out["kind"] = word
            elif word.startswith("missing=") and word[8:] in MISSING_POLICIES:
                out["missing"] = word[8:]
            else:
                raise VaekitError(
                    f"{where}: {word!r} is not a kind ({', '.join(KINDS)}), a role "
                    f"(feature, label) or missing=none|indicator"
                )
        return out
    if not isinstance(entry, dict):
        raise VaekitError(f"{where}: expected a word or a mapping of kind/role/missing")
    allowed = {"kind": KINDS, "role": ROLES, "missing": MISSING_POLICIES}
    for key, value in entry.items():
        if key not in allowed:
            raise VaekitError(f"{where}: unknown key {key!r} (known: kind, role, missing)")
        if value not in allowed[key]:
            raise VaekitError(f"{where}: {key} {value!r} is not one of {', '.join(allowed[key])}")
    return dict(entry)


def _infer_column(
    table: Table, name: str, values: np.ndarray, wanted: dict[str, Any], scaling: str
) -> Column:
    missing = missing_mask(values)
    numeric = is_numeric(values)
    present = values[~missing]
    role = wanted.get("role", "feature")
    policy = wanted.get("missing", "indicator" if missing.any() else "none")
    if wanted.get("kind") == "ignored" or role == "ignored":
        return Column(name, "ignored", role="ignored", numeric=numeric, note="as asked")
    if role == "condition":
        return _condition_column(table, name, values, wanted)
    if role == "label":
        if missing.any():
            row = int(np.argmax(missing))
            raise fail(table.where, f"{table.line(row)}, label column {name!r}: missing value")
        if numeric and not np.array_equal(present, np.round(present)):
            raise fail(table.where, f"label column {name!r} holds fractions; labels are classes")
        return Column(
            name,
            "categorical",
            role="label",
            numeric=numeric,
            categories=_categories(present, numeric),
        )
    if not len(present):
        return Column(name, "ignored", role="ignored", numeric=numeric, note="every value missing")
    categories = _categories(present, numeric)
    kind = wanted.get("kind") or _guess_kind(present, numeric, categories)
    column = Column(name, kind, missing=policy, numeric=numeric)
    if kind == "ignored":
        column.role = "ignored"
        column.note = f"{len(categories)} distinct texts in {len(values)} rows: an identifier?"
    elif kind in ("continuous", "integer"):
        if not numeric:
            row = next(i for i, v in enumerate(values) if v is not None and not _number(v))
            raise fail(
                table.where,
                f"{table.line(row)}, column {name!r}: {str(values[row])[:30]!r} is not a number "
                f"(the spec makes the column {kind})",
            )
        _set_moments(column, present, table)
        if scaling == "quantile":
            column.scaling, column.quantiles = "quantile", fit_quantiles(present)
    elif kind == "binary":
        if len(categories) > 2:
            raise fail(
                table.where, f"column {name!r} has {len(categories)} values, so it cannot be binary"
            )
        column.categories = _binary_order(categories)
    elif kind == "categorical":
        column.categories = categories
    else:  # constant
        column.value = categories[0] if len(categories) == 1 else None
        if column.value is None:
            raise fail(
                table.where, f"column {name!r} has {len(categories)} values, so it is not constant"
            )
    return column


def _condition_column(table: Table, name: str, values: np.ndarray, wanted: dict) -> Column:
    """A column the model is conditioned on: every value present, and more than one of them
    (a constant condition tells the model nothing)."""
    missing = missing_mask(values)
    if missing.any():
        row = int(np.argmax(missing))
        raise fail(
            table.where,
            f"{table.line(row)}, condition column {name!r}: missing value (a condition needs a "
            "value in every row)",
        )
    numeric = is_numeric(values)
    categories = _categories(values, numeric)
    if len(categories) < 2:
        raise fail(table.where, f"condition column {name!r} has one value: nothing to condition on")
    kind = wanted.get("kind") or _guess_kind(values, numeric, categories)
    if kind in ("ignored", "constant"):
        kind = "categorical"  # a text with many values: still one category per value
    column = Column(name, kind, role="condition", numeric=numeric)
    if kind in ("continuous", "integer"):
        if not numeric:
            raise fail(table.where, f"condition column {name!r} holds text, so it cannot be {kind}")
        _set_moments(column, values, table)
    elif kind == "binary" and len(categories) > 2:
        raise fail(
            table.where, f"column {name!r} has {len(categories)} values, so it cannot be binary"
        )
    else:
        column.categories = _binary_order(categories) if kind == "binary" else categories
    return column


def _set_moments(column: Column, present: np.ndarray, table: Table) -> None:
    """The mean, std, lo and hi a number column is standardised and clipped by; refused in one
    line when they overflow float64 (values near 1e154 and beyond)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(present.mean()), float(present.std())
    if not (np.isfinite(mean) and np.isfinite(std)):
        raise fail(
            table.where,
            f"column {column.name!r}: values up to {format_number(float(np.abs(present).max()))} "
            "are too large to standardise; rescale the column",
        )
    column.mean, column.std = mean, std if std > 0 else 1.0
    column.lo, column.hi = float(present.min()), float(present.max())


def _categories(present: np.ndarray, numeric: bool) -> list[str]:
    if numeric:
        return [format_number(v) for v in np.unique(present)]  # numeric order
    return sorted(set(present.tolist()))


def _guess_kind(present: np.ndarray, numeric: bool, categories: list[str]) -> str:
    if len(categories) == 1:
        return "constant"
    if len(categories) == 2:
        return "binary"
    if numeric:
        return "integer" if np.array_equal(present, np.round(present)) else "continuous"
    if len(categories) > max(20, IDENTIFIER_SHARE * len(present)):
        return "ignored"
    return "categorical"


def _binary_order(categories: list[str]) -> list[str]:
    """The two values with the "true" one second: 0/1, no/yes, false/true keep that order."""
    falsy = {"0", "no", "false", "n", "f"}
    if len(categories) == 2 and categories[1].lower() in falsy:
        return [categories[1], categories[0]]
    return categories


def _hint_label_columns(schema: TableSchema, table: Table, label: str | None) -> None:
    if label is not None or schema.label is not None:
        return
    for column in schema.columns:
        named = column.name.strip().lower() in LABEL_LIKE_NAMES
        few = column.kind == "integer" and column.hi - column.lo < 10 and len(table) >= 50
        if column.in_model and (named or few):
            log(
                f"hint: column {column.name!r} looks like a class label; it is modelled as a "
                f"feature. If it is a label, pass --labels {column.name}"
            )
            return


def infer_image_schema(
    values: np.ndarray,
    divide_by: float | None,
    classes: list[str] | None,
    labels: np.ndarray | None = None,
    condition: list[str] | None = None,
) -> ImageSchema:
    """The schema of training images: integer files are divided by ``divide_by`` (the source's
    own scale, else 255 for 8-bit values); float files are taken as they are. ``condition``
    ["label"] conditions the model on the class ``labels``."""
    lo, hi = float(values.min()), float(values.max())
    if divide_by is None:
        divide_by = 255.0 if np.issubdtype(values.dtype, np.integer) and hi > 1 else 1.0
    means = values.reshape(len(values), -1).mean(axis=1, dtype=np.float64) / divide_by
    intensity = [float(np.percentile(means, 1)), float(np.percentile(means, 99))]
    return ImageSchema(
        shape=list(values.shape[1:]),
        dtype=str(values.dtype),
        lo=lo,
        hi=hi,
        divide_by=float(divide_by),
        intensity=intensity,
        classes=classes,
        condition=_image_condition(labels, classes, condition or []),
    )


IMAGE_CONDITION = "label"  # what an image run can be conditioned on: its class label


def _image_condition(
    labels: np.ndarray | None, classes: list[str] | None, condition: list[str]
) -> Column | None:
    if not condition:
        return None
    if condition != [IMAGE_CONDITION]:
        raise VaekitError(
            f"--condition: images can be conditioned on their class label only: "
            f"--condition {IMAGE_CONDITION} (not {','.join(condition)})"
        )
    if labels is None:
        raise VaekitError(
            "--condition label: these images have no labels (give them with --labels FILE, "
            "or in the .npz)"
        )
    names = classes or [str(i) for i in range(int(labels.max()) + 1)]
    return Column(IMAGE_CONDITION, "categorical", role="condition", numeric=False, categories=names)


def schema_from_dict(raw: Any, where: object) -> Schema:
    """A recorded schema, checked field by field (a hand-edited config fails in one line)."""
    if not isinstance(raw, dict) or raw.get("kind") not in ("image", "table"):
        raise fail(where, "data.schema: expected a mapping with kind image or table")
    try:
        if raw["kind"] == "image":
            body = {k: v for k, v in raw.items() if k != "kind"}
            if body.get("condition") is not None:
                body["condition"] = Column(**body["condition"])
                _check_column(body["condition"])
            schema = ImageSchema(**body)
            if len(schema.shape) != 3 or not all(
                isinstance(s, int) and s > 0 for s in schema.shape
            ):
                raise ValueError(f"shape {schema.shape!r} is not three positive sizes")
            if not schema.divide_by > 0:
                raise ValueError(f"divide_by must be positive, got {schema.divide_by!r}")
            return schema
        columns = [Column(**c) for c in raw["columns"]]
        for c in columns:
            _check_column(c)
        if not columns:
            raise ValueError("no columns")
        return TableSchema(columns)
    except (TypeError, KeyError, ValueError) as err:
        raise fail(where, f"data.schema is damaged ({err})") from None


def _check_column(c: Column) -> None:
    if not isinstance(c.name, str) or c.kind not in KINDS or c.role not in ROLES:
        raise ValueError(f"column {c.name!r}: bad name, kind or role")
    if c.missing not in MISSING_POLICIES:
        raise ValueError(f"column {c.name!r}: bad missing policy {c.missing!r}")
    if c.in_model and c.kind in ("continuous", "integer"):
        # lo and hi are unknown (None) only for continuous columns of runs from before schemas.
        numbers = (c.mean, c.std) + (
            (c.lo, c.hi) if c.kind == "integer" or c.lo is not None else ()
        )
        if not all(_finite(v) for v in numbers) or c.std <= 0:
            raise ValueError(f"column {c.name!r}: mean, std, lo and hi must be finite numbers")
    if c.scaling not in SCALINGS:
        raise ValueError(f"column {c.name!r}: scaling {c.scaling!r} is not one of {SCALINGS}")
    if c.scaling == "quantile" and not _knots(c.quantiles):
        raise ValueError(f"column {c.name!r}: quantiles must be two or more increasing numbers")
    numeric_condition = c.role == "condition" and c.kind in ("continuous", "integer")
    if numeric_condition and (not all(_finite(v) for v in (c.mean, c.std)) or c.std <= 0):
        raise ValueError(f"condition column {c.name!r}: mean and std must be finite numbers")
    if (c.kind in ("binary", "categorical") or c.role == "label") and not (
        isinstance(c.categories, list) and c.categories
    ):
        raise ValueError(f"column {c.name!r}: categories missing")


def _knots(values: Any) -> bool:
    """Whether ``values`` are a quantile map's knots: two or more finite, non-decreasing."""
    if not isinstance(values, list) or len(values) < 2 or not all(_finite(v) for v in values):
        return False
    return bool(np.all(np.diff(values) >= 0))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def legacy_schema(transform: dict[str, Any], input_shape: list[int], where: object) -> Schema:
    """The schema of a run written before schemas were recorded (``data.transform``)."""
    kind = transform.get("kind")
    if len(input_shape) == 3 and kind in ("divide", "identity"):
        by = float(transform.get("by", 1.0)) if kind == "divide" else 1.0
        dtype = "uint8" if by > 1 else "float32"
        return ImageSchema(list(input_shape), dtype, 0.0, by if by > 1 else 1.0, by)
    if len(input_shape) == 1 and kind in ("standardize", "identity"):
        width = input_shape[0]
        mean = transform.get("mean", [0.0] * width)
        std = transform.get("std", [1.0] * width)
        return TableSchema(
            [
                Column(str(i), "continuous", mean=float(m), std=float(s))
                for i, (m, s) in enumerate(zip(mean, std, strict=True))
            ]
        )
    raise fail(
        where,
        "this run was written by an older vaekit and its data scaling cannot be read; "
        "retrain it with `vaekit train` (same options)",
    )
