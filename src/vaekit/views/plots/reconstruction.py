"""What the model gives back and makes up: reconstructions of held-out examples (by one run,
or several side by side), and new samples set against held-out data (for a table, column by
column and as correlation maps)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from vaekit.core.errors import VaekitError
from vaekit.data.schema import Column
from vaekit.runs.run import Run
from vaekit.views.plots.columns import (
    NUMERIC,
    bar_handles,
    column_panels,
    compare_columns,
    decoded,
    paged,
)
from vaekit.views.plots.common import first_conditions, reconstruct, shorten, show_images


def plot_recon(
    run: Run, x: Tensor, n: int | None = None, page: int = 1, conditions: Tensor | None = None, **_
) -> plt.Figure:
    """Originals against reconstructions: images side by side; for a table, per column, a
    scatter in the data's units or the category counts of both."""
    if run.kind == "image":
        n = n or 16
        rows = [("reconstructions", run)]
        return _reconstructions(x[:n], n, rows, first_conditions(conditions, n), (min(16, n), 2.6))
    x = x[: n or 500]
    rebuilt = reconstruct(run, x, first_conditions(conditions, len(x)))
    tables = (decoded(run.schema, x.numpy()), decoded(run.schema, rebuilt))
    fig, columns, axes, words = column_panels(run, page)
    compare_columns(columns, axes, tables, _scatter_against, shares=False)
    if any(c.kind not in NUMERIC for c in columns):
        fig.legend(*bar_handles(["original", "reconstruction"]), loc="outside upper right")
    fig.suptitle(f"Reconstructions of {len(x)} held-out rows — {words}")
    return fig


def _scatter_against(ax: plt.Axes, column: Column, a: np.ndarray, b: np.ndarray) -> None:
    """A number column's reconstructions ``b`` against its originals ``a``, with the diagonal
    they would lie on if reconstructed exactly."""
    both = ~(np.isnan(a) | np.isnan(b))
    ax.scatter(a[both], b[both], s=8, alpha=0.6)
    if both.any():
        lo, hi = a[both].min(), a[both].max()
        ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
    ax.set_xlabel("original\n" + _missing_note(column, [a, b], ["orig.", "recon."]))
    ax.set_ylabel("reconstruction")


def plot_compare(
    run: Run,
    x: Tensor,
    others: list[Run] | None = None,
    n: int = 12,
    conditions: Tensor | None = None,
    **_,
) -> plt.Figure:
    """The first ``n`` held-out images, then one row of reconstructions per run: ``run``
    and each of ``others`` (each named by its model and folder)."""
    if run.kind != "image":
        raise VaekitError("plot compare: needs image data (use plot recon per run for tables)")
    rows = [(f"{r.config.model.model} ({Path(r.path).name})", r) for r in [run, *(others or [])]]
    size = (n * 0.9, 1.2 * (len(rows) + 1) + 0.4)
    return _reconstructions(x[:n], n, rows, first_conditions(conditions, n), size)


def _reconstructions(
    x: Tensor, n: int, runs: list[tuple[str, Run]], conditions: Tensor | None, size: tuple
) -> plt.Figure:
    """Images ``x`` above one row of reconstructions per named run, ``n`` a row, on a figure
    of ``size`` inches (a conditional run reconstructs with ``conditions``)."""
    fig, axes = plt.subplots(len(runs) + 1, 1, figsize=size)
    show_images(axes[0], x.numpy(), n, "originals")
    for ax, (name, other) in zip(axes[1:], runs, strict=True):
        given = conditions if other.model.conditional else None
        show_images(ax, reconstruct(other, x, given), n, name)
    fig.tight_layout()
    return fig


def plot_samples(run: Run, x: Tensor, n: int = 64, seed: int = 0, page: int = 1, **_) -> plt.Figure:
    """Generated examples: image mosaics from the prior and the fitted mixture; for a table,
    each column's distribution in held-out data and in samples, and both correlation maps."""
    if run.kind == "image":
        return _sample_mosaics(run, n, seed)
    schema = run.schema
    real_x = x.numpy()
    fake_x = run.sample(
        max(n, len(real_x)), seed=seed, sampler="prior", warn=False, model_space=True
    )
    shown, words = paged(len(schema.modelled), page)
    columns = schema.modelled[shown]
    cols = min(len(columns), 6)
    rows = math.ceil(len(columns) / cols)
    fig = plt.figure(figsize=(max(13.0, 3.0 * cols), 2.9 * rows + 6.5), layout="constrained")
    outer = fig.add_gridspec(2, 2, height_ratios=[2.9 * rows, 6.0])
    marginals = outer[0, :].subgridspec(rows, cols)
    axes = [fig.add_subplot(marginals[i // cols, i % cols]) for i in range(len(columns))]
    for column, ax in zip(columns, axes, strict=True):
        ax.set_title(shorten(column.name, 30))
    tables = (decoded(schema, real_x), decoded(schema, fake_x))
    compare_columns(columns, axes, tables, _histograms, shares=True)
    fig.legend(*bar_handles(["data", "generated"]), loc="outside upper right")
    fig.suptitle(f"Held-out data and {len(fake_x)} samples from N(0, I) — {words}")
    names = {c.name for c in columns}
    picked = [i for i, (c, _) in enumerate(schema.model_columns()) if c.name in names]
    labels = [shorten(label, 24) for c, label in schema.model_columns() if c.name in names]
    if len(picked) < 2:
        fig.text(0.5, 0.1, "fewer than two model-space columns: no correlations", ha="center")
    else:
        _correlation_maps(fig, outer, labels, [real_x[:, picked], fake_x[:, picked]])
    return fig


def _sample_mosaics(run: Run, n: int, seed: int) -> plt.Figure:
    """``n`` images decoded from prior codes beside ``n`` from the mixture fitted to the
    training codes."""
    prior = run.sample(n, seed=seed, sampler="prior", warn=False, model_space=True)
    gmm = run.sample(n, seed=seed, sampler="gmm", model_space=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.4))
    prior_name = "p(z|c), learned" if run.config.model.prior == "conditional" else "N(0, I)"
    show_images(axes[0], prior, int(math.sqrt(n)), f"z ~ {prior_name} (prior)")
    show_images(axes[1], gmm, int(math.sqrt(n)), "z ~ mixture fitted to training codes")
    fig.tight_layout()
    return fig


def _histograms(ax: plt.Axes, column: Column, a: np.ndarray, b: np.ndarray) -> None:
    """Density histograms of a number column's held-out (C0) and generated (C1) values on
    shared bins (one bin per value for a narrow integer range)."""
    present = np.concatenate([a[~np.isnan(a)], b[~np.isnan(b)]])
    if column.kind == "integer" and column.hi - column.lo <= 40:
        bins = np.arange(column.lo - 0.5, column.hi + 1)
    else:
        bins = np.histogram_bin_edges(present, bins=30) if len(present) else 10
    for g, values in enumerate((a, b)):
        # One filled outline per histogram, not a patch per bin: the same picture, a
        # fraction of the drawing time on a wide table.
        kept = values[~np.isnan(values)]
        ax.hist(kept, bins=bins, alpha=0.5, density=True, color=f"C{g}", histtype="stepfilled")
    ax.set(ylabel="density", xlabel=_missing_note(column, [a, b], ["data", "generated"]))


def _correlation_maps(
    fig: plt.Figure, outer: plt.GridSpec, labels: list[str], values: list[np.ndarray]
) -> None:
    """Correlation maps of model-space columns (named by ``labels``) in held-out data and in
    samples (``values``), side by side in the bottom row of ``outer``."""
    heat = [fig.add_subplot(outer[1, 0]), fig.add_subplot(outer[1, 1])]
    size = 8 if len(labels) <= 24 else 6
    ticks = np.arange(len(labels)) if len(labels) <= 60 else []
    for ax, data, title in zip(heat, values, ("data", "generated"), strict=True):
        image = ax.imshow(_correlation(data), vmin=-1, vmax=1, cmap="coolwarm")
        ax.set_title(f"{title} correlations (model space)")
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=90, fontsize=size)
        ax.set_yticks(ticks, [labels[i] for i in ticks], fontsize=size)
    fig.colorbar(image, ax=heat, shrink=0.8, label="correlation")


def _correlation(values: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns; 0 for a column that does not vary (no NaN)."""
    centred = values - values.mean(0)
    std = centred.std(0)
    scaled = centred / np.where(std > 0, std, 1.0)
    corr = scaled.T @ scaled / max(len(values), 1)
    np.fill_diagonal(corr, (std > 0).astype(float))
    return np.clip(np.nan_to_num(corr), -1, 1)


def _missing_note(column: Column, groups: list[np.ndarray], names: list[str]) -> str:
    """ "missing: 10% data, 12% generated" for a column with missing values; "" otherwise."""
    if column.missing != "indicator":
        return ""
    shares = [f"{np.isnan(v).mean():.0%} {name}" for v, name in zip(groups, names, strict=True)]
    return "missing: " + ", ".join(shares)
