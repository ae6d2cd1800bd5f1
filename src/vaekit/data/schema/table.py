"""The schema of table data: one :class:`Column` per column of the training table, in file order.

``TableSchema.encode`` (data -> model space) and ``TableSchema.decode`` (model space -> data) are
the only two ways between a table's units and the model's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vaekit.core.errors import fail
from vaekit.core.progress import log
from vaekit.data.schema.columns import (
    NUMBER_KINDS,
    Column,
    category_codes,
    decode_columns,
    decode_conditions,
    encode_columns,
    encode_conditions,
)
from vaekit.data.schema.image import ImageSchema
from vaekit.data.schema.rules import Rule, computed_values, missing_draw, missing_where
from vaekit.data.table import (
    Table,
    format_number,
    from_array,
    from_dataframe,
    is_dataframe,
    is_numeric,
    to_dataframe,
)


@dataclass
class TableSchema:
    """The columns of a table, in file order, with their kinds, roles and maps."""

    columns: list[Column]
    rules: list[Rule] = field(default_factory=list)
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

    def column(self, name: str) -> Column:
        """The column named ``name``."""
        return next(c for c in self.columns if c.name == name)

    @property
    def modelled(self) -> list[Column]:
        """The output columns that come from the model (keys left out: they are made up)."""
        return [c for c in self.outputs if c.kind != "id"]

    def model_columns(self) -> list[tuple[Column, str]]:
        """Every model-space column in order: (its table column, what it holds)."""
        out = []
        for c in self.outputs:
            if c.kind == "categorical":
                out += [(c, f"{c.name}={cat}") for cat in c.categories or []]
            elif c.encoded_width > (c.missing == "indicator"):
                out.append((c, c.name))
            if c.missing == "indicator":
                out.append((c, f"{c.name} missing"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "table",
            "columns": [asdict(c) for c in self.columns],
            "rules": [r.to_dict() for r in self.rules],
        }

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
        too_large = (
            "column {}: the value is infinite or too large for float32 once standardised; "
            "rescale the data"
        )
        x = encode_columns(self.outputs, table, "feature", too_large)
        labels = None
        label = self.label
        if label is not None and label.name in table.names:
            labels = category_codes(label, table, table.column(label.name)).astype(np.int64)
            if (labels < 0).any():
                row = int(np.argmax(labels < 0))
                raise fail(
                    table.where,
                    f"{table.line(row)}, label column {label.name!r}: the value is missing",
                )
        self._warn_if_unlike_training(table)
        return x, labels

    def decode(self, x: np.ndarray) -> Table:
        """Model-space rows -> a Table of the feature columns in the user's units, every rule
        kept by construction applied: missing-together groups missing where their rule says,
        computed columns computed."""
        table = decode_columns(self.outputs, x)
        missing: dict[str, np.ndarray] = {}
        for rule in self.rules:  # in order: a group's flag may be settled by an earlier group
            if rule.kind == "missing":
                if rule.only and rule.share is not None:
                    should = missing_draw(rule, table, x.tobytes())
                else:
                    should = missing_where(rule, table)
                missing.update((name, should) for name in rule.columns)
                group = [c for c in self.outputs if c.name in rule.columns]
                again = decode_columns(group, x[:, self._positions(group)], missing)
                for name, values in zip(again.names, again.columns, strict=True):
                    table.columns[table.names.index(name)] = values
        for rule in self.rules:
            if rule.kind == "computed" and rule.target in table.names:
                column = self.column(rule.target)
                at = table.names.index(column.name)
                table.columns[at] = computed_values(rule, column, table, self.columns)
        return table

    def _positions(self, columns: list[Column]) -> list[int]:
        """The model-space positions of ``columns`` (outputs), in order."""
        starts, at = {}, 0
        for column in self.outputs:
            starts[column.name] = at
            at += column.width
        return [starts[c.name] + i for c in columns for i in range(c.width)]

    def per_column(self, values: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Model-space terms (N, width) summed per table column (one-hot groups and missing
        indicators with their column): the generated columns' names and (N, columns)."""
        names = list(dict.fromkeys(c.name for c, _ in self.model_columns()))
        at = {name: i for i, name in enumerate(names)}
        sums = np.zeros((len(values), len(names)))
        for position, (column, _) in enumerate(self.model_columns()):
            sums[:, at[column.name]] += values[:, position]
        return names, sums

    def keep_keys(self, out: Table, given: Table) -> Table:
        """``out`` (rows decoded from ``given``'s, in order) with ``given``'s own keys in its id
        columns: a reconstructed row keeps the key of the row it reconstructs."""
        for column in self.columns:
            if column.kind == "id" and column.name in given.names and column.name in out.names:
                out.columns[out.names.index(column.name)] = given.column(column.name)[: len(out)]
        return out

    @property
    def resampled_rules(self) -> list[Rule]:
        """The rules generated rows are drawn again for (the rest hold by construction)."""
        return [r for r in self.rules if not r.by_construction]

    def from_user(self, data: Any, where: str) -> tuple[np.ndarray, Any, Any]:
        """Rows given in memory (a DataFrame, or a 2-D array in column order) -> (model space,
        labels, conditions), the conditions where the condition columns are there."""
        if is_dataframe(data):
            table = from_dataframe(data, where)
        else:
            values = np.asarray(data)
            if values.ndim != 2:
                raise fail(where, f"a table needs a 2-D array, got shape {values.shape}")
            table = from_array(values, where)
            table.names = self._columns_in_array(values.shape[1], where)
        x, labels = self.encode(table)
        given = self.conditions and all(c.name in table.names for c in self.conditions)
        return x, labels, encode_conditions(self.conditions, table) if given else None

    def _columns_in_array(self, width: int, where: str) -> list[str]:
        """The column names of a bare 2-D array: the table's columns in file order, with or
        without its label column (ignored columns never)."""
        kept = [c.name for c in self.columns if c.role != "ignored"]
        features = [c.name for c in self.columns if c.role == "feature"]
        for names in (kept, features):
            if width == len(names):
                return names
        raise fail(
            where,
            f"has {width} columns; this run's table has {len(kept)} ({', '.join(kept)}); pass a "
            "DataFrame to match columns by name",
        )

    def to_table(self, x: np.ndarray, conditions: np.ndarray | None = None) -> Table:
        """Model-space rows (and their conditions) -> a Table in the data's units, the
        condition columns in their place among the features."""
        table = self.decode(x)
        if conditions is None or not self.conditions:
            return table
        given = decode_conditions(self.conditions, conditions)
        order = [c.name for c in self.columns if c.name in table.names + given.names]
        columns = dict(zip(table.names + given.names, table.columns + given.columns, strict=True))
        table.names, table.columns = order, [columns[name] for name in order]
        return table

    def to_user(
        self, x: np.ndarray, conditions: np.ndarray | None = None, given: Table | None = None
    ) -> Any:
        """Model space -> a pandas DataFrame with the training file's names, kinds and
        categories (a conditional run's condition columns too); dates as text in their
        format; a run trained on a DataFrame gives each column back in its dtype there. Rows
        decoded from ``given``'s keep its keys (:meth:`keep_keys`)."""
        table = self.to_table(x, conditions)
        if given is not None:
            table = self.keep_keys(table, given)
        dtypes = {c.name: c.dtype for c in self.columns if c.dtype}
        return to_dataframe(table, {c.name: c.kind for c in self.columns}, dtypes)

    def _warn_if_unlike_training(self, table: Table) -> None:
        for column in self.outputs:
            if column.kind not in ("continuous", "integer") or column.lo is None:
                continue
            if column.name not in table.names:  # a computed column: need not be given
                continue
            values = table.column(column.name)
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
        if column.width == 0:
            continue  # a key, a computed column, a constant with nothing missing
        if column.kind in NUMBER_KINDS:
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
