"""A user's table of factors of variation beside their images (``--factors FILE.csv``): one row
per image in file order, one column per factor, each factor's distinct values (numbers or text)
numbered in sorted order, for the disentanglement metrics (:mod:`vaekit.metrics.disentanglement`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaekit.core.errors import fail
from vaekit.data.table import format_number, is_numeric, read_csv

MAX_VALUES = 1000  # a factor with more distinct values is a measurement, not a factor


def read_factor_table(path: Path, count: int) -> tuple[np.ndarray, dict[str, list[str]]]:
    """(N, K) value indices and each factor's values (as text, in index order) of the factor
    table at ``path``, which must have one row for each of the ``count`` images."""
    table = read_csv(path)
    if len(table) != count:
        raise fail(path, f"has {len(table):,} rows of factors for {count:,} images")
    indices, values = [], {}
    for name, column in zip(table.names, table.columns, strict=True):
        where = f"{path}: column {name!r}"
        if is_numeric(column):
            if np.isnan(column).any():
                row = int(np.argmax(np.isnan(column)))
                raise fail(where, f"a missing factor value ({table.line(row)})")
            distinct, index = np.unique(column, return_inverse=True)
            names = [format_number(float(v)) for v in distinct]
        else:
            missing = [i for i, v in enumerate(column) if v is None or v == ""]
            if missing:
                raise fail(where, f"a missing factor value ({table.line(missing[0])})")
            distinct, index = np.unique(column.astype(str), return_inverse=True)
            names = [str(v) for v in distinct]
        if len(names) > MAX_VALUES:
            raise fail(
                where,
                f"{len(names):,} distinct values: a factor is a label of at most "
                f"{MAX_VALUES} values (bin a continuous one first)",
            )
        indices.append(index.astype(np.int64))
        values[name] = names
    return np.stack(indices, axis=1), values


def factors_by_name(
    factors: np.ndarray, values: dict[str, list[str]], recorded: dict[str, list[str]], where: str
) -> np.ndarray:
    """Factor indices read from another file, renumbered into the run's recorded values, so a
    file that lacks some values still lines up."""
    if list(values) != list(recorded):
        raise fail(where, f"factors {list(values)} are not the run's ({list(recorded)})")
    out = np.empty_like(factors)
    for k, (name, names) in enumerate(values.items()):
        index = {value: i for i, value in enumerate(recorded[name])}
        unknown = [value for value in names if value not in index]
        if unknown:
            raise fail(where, f"factor {name!r}: value {unknown[0]!r} was not seen in training")
        out[:, k] = np.asarray([index[value] for value in names])[factors[:, k]]
    return out
