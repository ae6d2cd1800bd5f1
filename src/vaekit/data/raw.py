"""The common result of every data reader, and the checks every reader's output must pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vaekit.core.errors import fail
from vaekit.data.table import Table


@dataclass
class RawData:
    """Untouched data as read from a source: images or a table.

    Images: ``values`` is (N, C, H, W); ``scale`` is set when the source knows its own range
    (e.g. 8-bit pixels: 255). Tables: ``table`` holds the named columns and ``values`` is None.
    ``splits`` holds index ranges when the source ships fixed train/validation/test splits
    (MNIST); ``class_names`` names the label values when the source does (folder names).
    ``factors`` (N, K) are each example's factors of variation as value indices, where the
    source knows them (sprites, a user's factor table); ``factor_values`` names each factor's
    values in index order.
    """

    values: np.ndarray | None
    labels: np.ndarray | None
    where: str  # what to name in error messages: the file, folder or built-in name
    scale: float | None = None
    splits: list[slice] | None = None
    class_names: list[str] | None = None
    table: Table | None = None
    factors: np.ndarray | None = None
    factor_values: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        if self.table is None:
            check_values(self.values, self.where)
        if self.labels is not None:
            self.labels = check_labels(self.labels, len(self), self.where)
        if self.factors is not None:
            check_factor_indices(self.factors, self.factor_values or {}, len(self), self.where)

    def __len__(self) -> int:
        return len(self.table) if self.table is not None else len(self.values)


def check_values(values: np.ndarray, where: str) -> None:
    if values.ndim not in (2, 4):
        raise fail(
            where,
            f"expected arrays of shape (N, D), (N, H, W) or (N, C, H, W), got shape {values.shape}",
        )
    if values.shape[0] == 0 or values[0].size == 0:
        raise fail(where, f"contains no data (shape {values.shape})")
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
        raise fail(where, f"has non-numeric dtype {values.dtype}")
    if np.issubdtype(values.dtype, np.complexfloating):
        raise fail(where, f"has complex dtype {values.dtype}; vaekit needs real numbers")
    if np.issubdtype(values.dtype, np.floating):
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argwhere(bad.reshape(len(values), -1).any(axis=1))[0, 0])
            kind = "NaN" if np.isnan(values).any() else "infinite"
            raise fail(
                where, f"contains {kind} values ({int(bad.sum())} in all; first in example {row})"
            )


def check_labels(labels: np.ndarray, n: int, where: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim > 1 and labels.size == n:  # (N, 1) column vectors are fine
        labels = labels.reshape(-1)
    if labels.ndim != 1:
        raise fail(where, f"labels must be one value per example, got shape {labels.shape}")
    if len(labels) != n:
        raise fail(where, f"has {n} examples but {len(labels)} labels")
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise fail(where, "labels must be whole numbers (class indices)")
        labels = labels.astype(np.int64)
    if not np.issubdtype(labels.dtype, np.integer):
        raise fail(where, f"labels must be integers, got dtype {labels.dtype}")
    if labels.min() < 0:
        raise fail(where, "labels must be non-negative class indices")
    return labels.astype(np.int64)


def in_unit_range(values: np.ndarray) -> bool:
    """Every value in [0, 1] (and at least one value)."""
    return bool(values.size) and float(values.min()) >= 0 and float(values.max()) <= 1


def check_factor_indices(
    factors: np.ndarray, values: dict[str, list[str]], n: int, where: str
) -> None:
    """Factors must be (N, K) value indices, one row per example, within each factor's values."""
    if factors.ndim != 2 or len(factors) != n or factors.shape[1] != len(values):
        raise fail(
            where,
            f"factors: expected {n} rows of {len(values)} factors, got shape {factors.shape}",
        )
    for k, (name, names) in enumerate(values.items()):
        if factors[:, k].min() < 0 or factors[:, k].max() >= len(names):
            raise fail(where, f"factor {name!r}: value indices outside 0..{len(names) - 1}")
