"""A conditional run's pictures: samples for each value of its condition, and held-out
images decoded with every label in turn (same style, another label)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from torch import Tensor

from vaekit.core.errors import VaekitError
from vaekit.data.schema import Column
from vaekit.data.schema.columns import as_numbers
from vaekit.data.splits import Dataset
from vaekit.data.table import spell
from vaekit.runs.run import Run
from vaekit.views.plots.columns import NUMERIC, as_shares, category_counts, column_panels
from vaekit.views.plots.common import MISSING, first_conditions, shorten, show_images


def _require_conditional(run: Run, kind: str) -> None:
    """Refuse a run trained without a condition: these kinds draw what a condition changes."""
    if not run.model.conditional:
        raise VaekitError(
            f"plot {kind}: this run was trained without a condition (train with --condition)"
        )


def _condition_values(run: Run, limit: int) -> tuple[str, list[str]]:
    """The first categorical condition column's name and up to ``limit`` of its values."""
    column = next((c for c in run.schema.conditions if c.kind in ("categorical", "binary")), None)
    if column is None:
        raise VaekitError(
            "plot conditional: needs a categorical condition (this run's are numbers); "
            "sample with --condition NAME=VALUE instead"
        )
    if len(run.schema.conditions) > 1:
        raise VaekitError(
            "plot conditional: the run has several conditions; sample with --condition "
            "NAME=VALUE,... instead"
        )
    return column.name, list(column.categories or [])[:limit]


def plot_conditional(
    run: Run,
    x: Tensor,
    n: int = 10,
    seed: int = 0,
    page: int = 1,
    conditions: Tensor | None = None,
    sampler: str = "auto",
    **_,
) -> plt.Figure:
    """Samples by condition, codes from ``sampler`` (as :meth:`Run.sample`): for images one
    row of ``n`` samples per class; for a table each feature column's distribution in held-out
    rows (solid) and generated rows (dashed) per condition value."""
    _require_conditional(run, "conditional")
    sampler = run.resolve_sampler(sampler)
    if run.kind == "image":
        return _samples_by_class(run, n, seed, sampler)
    name, values = _condition_values(run, 6)
    real = as_numbers(run.to_table(x.numpy(), conditions), run.schema.columns)
    fake_x = run.sample(
        len(x), seed=seed, sampler=sampler, warn=False, model_space=True, condition=conditions
    )
    fake = as_numbers(run.to_table(fake_x, conditions), run.schema.columns)
    spelled = np.array(spell(real.column(name), MISSING), dtype=object)
    fig, columns, axes, words = column_panels(run, page)
    for column, ax in zip(columns, axes, strict=True):
        for i, value in enumerate(values):
            mine = spelled == value
            if mine.any():
                a, b = real.column(column.name)[mine], fake.column(column.name)[mine]
                _one_value(ax, column, a, b, i, len(values))
    handles = [Patch(color=f"C{i}") for i in range(len(values))]
    labels = [f"{name}={v}" for v in values]
    fig.legend(handles, labels, loc="outside lower center", ncols=len(values))
    fig.suptitle(
        "Held-out rows (solid lines, filled bars) and rows generated for their conditions "
        f"(dashed)\nby {name} — {words}"
    )
    return fig


def _samples_by_class(run: Run, n: int, seed: int, sampler: str) -> plt.Figure:
    """A row of ``n`` sampled images for each value of the condition (up to 20)."""
    name, values = _condition_values(run, 20)
    asked = [v for v in values for _ in range(n)]
    images = run.sample(
        len(asked), seed=seed, sampler=sampler, warn=False, model_space=True, condition=asked
    )
    where = "the prior" if sampler == "prior" else "the class's code mixture"
    title = f"{n} samples per {name}, z from {where} (seed {seed}): one row per value"
    rows = [f"{name}={shorten(v, 12)}" for v in values]
    fig, ax = plt.subplots(figsize=(n * 0.8 + 0.8, len(values) * 0.82 + 0.8))
    show_images(ax, images, n, title, rows)
    return fig


def _one_value(
    ax: plt.Axes, column: Column, a: np.ndarray, b: np.ndarray, i: int, count: int
) -> None:
    """Condition value ``i`` of ``count`` on a column's panel, in colour C``i``: the share
    of held-out (solid) and generated (dashed) rows up to each value of a number; each
    category's share as a filled bar (held-out) and a dashed outline (generated)."""
    if column.kind in NUMERIC:
        for values, style in ((a, "-"), (b, "--")):
            present = np.sort(values[~np.isnan(values)])
            steps = np.arange(1, len(present) + 1) / max(1, len(present))
            ax.step(present, steps, where="post", ls=style, color=f"C{i}", lw=1.2)
        ax.set_ylabel("share of rows ≤ value")
    elif column.kind != "constant":
        names, counts = category_counts(column, [a, b])
        shares = as_shares(counts)
        spots = np.arange(len(names)) + (i - count / 2) * 0.8 / count
        width = 0.8 / count
        ax.bar(spots, shares[0], width, color=f"C{i}", alpha=0.9)
        ax.bar(spots, shares[1], width, fill=False, edgecolor="black", ls="--")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("share")


def plot_restyle(
    run: Run, x: Tensor, n: int = 8, conditions: Tensor | None = None, **_
) -> plt.Figure:
    """Same style, another label: each held-out image (left) encoded with its own class and
    decoded with every class in turn."""
    _require_conditional(run, "restyle")
    if run.kind != "image":
        raise VaekitError(
            "plot restyle: draws images; for a table use Run.restyle(rows, condition) in Python"
        )
    name, values = _condition_values(run, 20)
    shown = Dataset(x[:n], None, first_conditions(conditions, n))
    columns = [shown.x.numpy()] + [run.restyle(shown, value, model_space=True) for value in values]
    images = np.stack(columns, axis=1).reshape(-1, *shown.x.shape[1:])  # row by row
    fig, ax = plt.subplots(figsize=((len(values) + 1) * 0.8 + 0.6, len(shown) * 0.8 + 1.0))
    show_images(ax, images, len(values) + 1)
    size = images.shape[-1] + 1
    ax.set_xticks([(i + 0.5) * size for i in range(len(values) + 1)])
    ax.set_xticklabels(["original"] + [shorten(v, 8) for v in values], fontsize=8)
    ax.set_xlabel(f"decoded with {name} =")
    ax.set_title("same style, another label: z from q(z | x, own label), decoded with each label")
    return fig
