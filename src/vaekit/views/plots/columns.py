"""A table's columns on figures: a page of them on a grid of panels, each column of two
tables compared on its panel, category counts as grouped bars and their legend."""

from __future__ import annotations

import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from vaekit.core.errors import VaekitError
from vaekit.data import dates
from vaekit.data.schema import Column, TableSchema
from vaekit.data.schema.columns import as_numbers
from vaekit.data.table import Table, spell
from vaekit.runs.run import Run
from vaekit.views.plots.common import MISSING, shorten

PAGE_SIZE = 24  # table columns (or model-space columns for line plots) on one figure
MAX_CATEGORIES = 15  # categories drawn as bars; the rarer ones are summed as "other"
NUMERIC = ("continuous", "integer", "datetime")  # drawn as numbers (dates as days)


def label_dates(ax: plt.Axes, column: Column, axis: str = "x") -> None:
    """A date column's axis (its values are days) labelled with dates in the column's format."""
    if column.kind != "datetime":
        return
    fmt = column.format or "%Y-%m-%d"
    label = FuncFormatter(lambda v, _: dates.write(np.array([float(v)]), fmt)[0] or "")
    getattr(ax, f"{axis}axis").set_major_formatter(label)


def decoded(schema: TableSchema, x: np.ndarray) -> Table:
    """Model-space rows as a table to draw: in the data's units, dates as days."""
    return as_numbers(schema.decode(x), schema.columns)


def paged(count: int, page: int, what: str = "columns") -> tuple[slice, str]:
    """The slice of ``count`` columns on ``page`` (from 1) and the words that say so."""
    pages = max(1, math.ceil(count / PAGE_SIZE))
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= pages:
        raise VaekitError(f"plot: page {page} of {pages} does not exist")
    start, stop = (page - 1) * PAGE_SIZE, min(count, page * PAGE_SIZE)
    return slice(start, stop), f"{what} {start + 1}–{stop} of {count} (page {page} of {pages})"


def panel_grid(
    count: int, width: float = 3.3, height: float = 2.9, extra: float = 0, per_row: int = 0
) -> tuple[plt.Figure, list[plt.Axes]]:
    """A figure with ``count`` panels in a grid (unused cells hidden) and its axes, flat;
    ``per_row`` panels a row (0: 4, or 6 beyond 12 panels), ``extra`` inches wider."""
    cols = min(count, per_row or (4 if count <= 12 else 6))
    rows = math.ceil(count / cols)
    size = (max(9.0, width * cols + extra), height * rows + 0.5)
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def column_panels(
    run: Run, page: int, width: float = 3.3, height: float = 2.9
) -> tuple[plt.Figure, list[Column], list[plt.Axes], str]:
    """One panel per output column of a table run on ``page``, titled with its name: the
    figure, the columns, their axes and the words naming the page."""
    shown, words = paged(len(run.schema.modelled), page)
    columns = run.schema.modelled[shown]
    fig, axes = panel_grid(len(columns), width=width, height=height)
    for column, ax in zip(columns, axes, strict=True):
        ax.set_title(shorten(column.name, 30))
    return fig, columns, axes, words


def compare_columns(
    columns: list[Column],
    axes: list[plt.Axes],
    tables: tuple[Table, Table],
    numbers: Callable[[plt.Axes, Column, np.ndarray, np.ndarray], None],
    shares: bool,
) -> None:
    """Each column of two tables on its panel: ``numbers(ax, column, a, b)`` draws a number
    column's two sets of values; a category column gets grouped bars of each category's
    count (or share, with ``shares``) in both; a constant column its value."""
    for column, ax in zip(columns, axes, strict=True):
        a, b = (table.column(column.name) for table in tables)
        if column.kind in NUMERIC:
            numbers(ax, column, a, b)
        elif column.kind == "constant":
            mark_constant(ax, column)
        else:
            names, counts = category_counts(column, [a, b])
            grouped_bars(ax, names, as_shares(counts) if shares else counts)
            ax.set_ylabel("share" if shares else "count")


def category_counts(column: Column, groups: list[np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Category names and (len(groups), K) counts; the most common MAX_CATEGORIES categories
    (of the first group) by name, the rest summed as "other"."""
    names = list(column.categories or []) + [MISSING] * (column.missing == "indicator")
    index = {name: i for i, name in enumerate(names)}
    counts = np.zeros((len(groups), len(names)))
    for g, values in enumerate(groups):
        for spelling in spell(values, MISSING):
            counts[g, index[spelling]] += 1
    if len(names) > MAX_CATEGORIES:
        keep = np.sort(np.argsort(-counts[0], kind="stable")[: MAX_CATEGORIES - 1])
        rest = np.setdiff1d(np.arange(len(names)), keep)
        names = [names[i] for i in keep] + [f"other ({len(rest)})"]
        counts = np.concatenate([counts[:, keep], counts[:, rest].sum(1, keepdims=True)], 1)
    return names, counts


def as_shares(counts: np.ndarray) -> np.ndarray:
    """Each row of ``counts`` as shares of its total (a row of zeros stays zeros)."""
    return counts / np.maximum(counts.sum(1, keepdims=True), 1)


def _distinct(names: list[str], limit: int = 18) -> list[str]:
    """``names`` cut to ``limit`` characters and still told apart: in the middle (by
    :func:`shorten`), else at the end (``City number 1 with a long name``, ``... 2 ...``),
    else not at all."""
    for cut in (shorten, lambda text: text if len(text) <= limit else text[: limit - 1] + "…"):
        labels = [cut(name) for name in names]
        if len(set(labels)) == len(set(names)):
            return labels
    return list(names)


def grouped_bars(ax: plt.Axes, names: list[str], heights: np.ndarray) -> None:
    """Grouped bars, one group per category, one bar per row of ``heights`` (colour C0, C1)."""
    width = 0.8 / len(heights)
    for g, row in enumerate(heights):
        offset = (g - (len(heights) - 1) / 2) * width
        ax.bar(np.arange(len(names)) + offset, row, width, color=f"C{g}", alpha=0.8)
    labels = _distinct(names)
    long = sum(len(t) + 2 for t in labels) > 30  # would they touch when level?
    crowded = long and len(names) > 6  # slanted, neighbours would overlap: stand them upright
    rotation, ha = (90, "center") if crowded else (40, "right") if long else (0, "center")
    ax.set_xticks(np.arange(len(names)), labels, rotation=rotation, ha=ha, fontsize=8)


def bar_handles(labels: list[str]) -> tuple[list[Patch], list[str]]:
    """Legend handles for bars in colours C0, C1, ... and their ``labels``."""
    return [Patch(color=f"C{i}", alpha=0.8) for i in range(len(labels))], labels


def mark_constant(ax: plt.Axes, column: Column) -> None:
    """A constant column's panel: its one value, written in the middle."""
    words = f"constant:\n{shorten(str(column.value), 24)}"
    ax.text(0.5, 0.5, words, ha="center", va="center", transform=ax.transAxes)
    ax.set(xticks=[], yticks=[])
