"""What the data becomes in model space: :class:`Dataset` (examples, labels, conditions) and
:class:`DataSplits` (train, validation, test and the schema), with the rules every way of
splitting obeys, in memory or streamed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vaekit.core.errors import fail
from vaekit.data.schema.table import Schema
from vaekit.data.table import Table, take_rows


@dataclass
class Dataset:
    """Examples in model space: ``x`` is (N, *shape) float32, ``labels`` (N,) int64 or None,
    ``conditions`` (N, condition width) float32 for a conditional run, else None; ``factors``
    (N, K) int64 the factors of variation's value indices, where the data has them."""

    x: torch.Tensor
    labels: torch.Tensor | None
    conditions: torch.Tensor | None = None
    factors: torch.Tensor | None = None

    def take(self, rows: slice | torch.Tensor) -> Dataset:
        """The examples at ``rows`` (a slice or indices), with their labels, conditions and
        factors."""

        def rows_of(values: torch.Tensor | None) -> torch.Tensor | None:
            return None if values is None else values[rows]

        return Dataset(
            self.x[rows], rows_of(self.labels), rows_of(self.conditions), rows_of(self.factors)
        )

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass
class DataSplits:
    """A source's splits in model space and the schema that maps them; ``train`` is a
    :class:`vaekit.data.stream.StreamingDataset` for a streamed file."""

    train: Dataset
    val: Dataset
    test: Dataset | None
    schema: Schema
    source: str
    # A table's rows as read (the user's units, before any mapping), and each split's row
    # indices into it: train, val[, test]. Empty for images and streamed files.
    table: Table | None = None
    rows: list[np.ndarray] | None = None

    def table_of(self, name: str) -> Table | None:
        """The rows of split ``name`` (train, val, test) as read from the file (None where the
        data is not an in-memory table)."""
        if self.table is None or self.rows is None:
            return None
        index = {"train": 0, "val": 1, "test": 2}[name]
        return take_rows(self.table, self.rows[index]) if index < len(self.rows) else None

    @property
    def shape(self) -> tuple[int, ...]:
        """One example in model space: (C, H, W) for images, (width,) for tables."""
        return tuple(self.schema.shape)

    @property
    def kind(self) -> str:
        """ "image" or "table"."""
        return self.schema.kind

    @property
    def class_names(self) -> list[str] | None:
        """The names of the label values, where the source gives them."""
        return self.schema.classes

    @property
    def eval_split(self) -> Dataset:
        """The held-out data evaluation uses by default: test when the source has one."""
        return self.test if self.test is not None else self.val

    @property
    def eval_split_name(self) -> str:
        """ "test" or "val": the name of :attr:`eval_split`."""
        return "test" if self.test is not None else "val"


def check_kind(holds_table: bool, schema: Schema, where: object) -> None:
    """Refuse images for a run trained on a table, and a table for one trained on images."""
    if holds_table != (schema.kind == "table"):
        what, trained = ("a table", "images") if holds_table else ("images", "a table")
        raise fail(where, f"holds {what}, but this run was trained on {trained}")


def validation_count(n: int, val_fraction: float, where: object, cap: int | None = None) -> int:
    """Examples held out for validation: ``val_fraction`` of ``n`` (at most ``cap``), refusing a
    split that leaves either side empty."""
    n_val = int(round(n * val_fraction))
    if cap is not None:
        n_val = min(cap, n_val)
    if val_fraction >= 1 or n_val < 1 or n - n_val < 1:
        raise fail(
            where,
            f"{n} examples cannot be split with val_fraction={val_fraction}: "
            "need at least one training and one validation example",
        )
    return n_val


def check_unit_range(
    x: np.ndarray | torch.Tensor,
    where: str,
    why: str,
    fix: str = "use --likelihood gaussian (or rescale the data)",
) -> None:
    """Bernoulli decoders and binarisation need every value in [0, 1]."""
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise fail(
            where, f"values lie in [{lo:.4g}, {hi:.4g}], outside [0, 1], which {why} needs; {fix}"
        )
