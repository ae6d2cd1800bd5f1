"""A table run's synthetic rows set against real ones, as ``vaekit evaluate`` scores them:
each column's distribution (``marginals``) and how each pair of columns goes together
(``pairs``), every column on one figure."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from vaekit.core.errors import VaekitError
from vaekit.data.schema import Column
from vaekit.data.table import Table, missing_mask, spell
from vaekit.evaluation.synthetic import real_and_synthetic
from vaekit.metrics.fidelity import QualityScore, association_matrix, quality, scored_columns
from vaekit.runs.run import Run
from vaekit.views.plots.columns import as_shares, bar_handles, grouped_bars, label_dates, panel_grid
from vaekit.views.plots.common import shorten

MARGINAL_BARS = 12  # category bars on a marginals panel; the rarer categories are one "other"
SYNTHETIC = "synthetic"
PAIRS_IN_A_ROW = 16  # columns up to which the pairs plot's three maps share one row
HOW_TO_READ_PAIRS = """How to read these maps

Each cell says how strongly two columns go together:
Pearson's r (−1 to 1) for two numbers, Cramér's V
(0 to 1) when a category is involved (the number
then cut into 10 bins). Grey: undefined (a column
with a single value).

Alike maps above: the synthetic rows keep the real
rows' relationships. Here, their absolute difference:
bright cells are relationships the model lost or
made up.

Dots: the pairs the pair-trends score counts (real
|r| above 0.5, or Cramér's V above 0.3)."""


def _require_table(run: Run, kind: str, page: int) -> None:
    """Refuse an image run, or a page: these kinds draw every column of a table at once."""
    if run.kind != "table":
        raise VaekitError(
            f"plot {kind}: is for table runs (real against synthetic rows); this run was "
            "trained on images"
        )
    if page != 1:
        raise VaekitError(f"plot {kind}: draws every column on one figure; --page is not for it")


def synthetic_comparison(
    run: Run, seed: int = 0, source: str | None = None
) -> tuple[Table, Table, list[Column], QualityScore, str]:
    """What the ``marginals`` and ``pairs`` plots compare, as ``vaekit evaluate`` scores it:
    the real rows of ``source`` (None: the held-out split) in the data's units, synthetic rows
    drawn with ``seed`` (:func:`vaekit.evaluation.synthetic.real_and_synthetic`), the scored columns
    both tables have (a label column the model does not generate is left out) and their
    :class:`~vaekit.metrics.fidelity.QualityScore`.
    Returns (real, fake, columns, score, words naming the real rows)."""
    _, real, fake = real_and_synthetic(run, source, seed)
    both = set(real.names) & set(fake.names)
    columns = [c for c in scored_columns(run.schema.columns) if c.name in both]
    if not columns:
        raise VaekitError("plot: the run generates no column to compare with real rows")
    words = "held-out" if source is None else run.split_label(source)
    return real, fake, columns, quality(real, fake, columns), words


def _figure_of(value: float | None) -> str:
    """A score with two decimals, "–" where there is none."""
    return "–" if value is None or np.isnan(value) else f"{value:.2f}"


def _share(value: float) -> str:
    """A share as a whole percentage, "<1%" rather than a misleading "0%" for a few rows."""
    return "<1%" if 0 < value < 0.005 else f"{value:.0%}"


def _number_bins(column: Column, present: np.ndarray) -> tuple[np.ndarray, bool, bool]:
    """Shared histogram edges for a number column's real and synthetic values, whether the
    values must be clipped into them and whether the axis is logarithmic. The bins span the
    middle 99 % (a few huge values would squash everything into one bar); a positive column
    whose right tail is over ten times longer than its left gets log-spaced bins; whole numbers
    get bins of whole, equal widths (uneven ones would draw a false zigzag)."""
    lo, hi = float(present.min()), float(present.max())
    inner_lo, middle, inner_hi = np.percentile(present, [0.5, 50, 99.5])
    clipped = bool(inner_hi > inner_lo and (inner_lo > lo or inner_hi < hi))
    if clipped:
        lo, hi = float(inner_lo), float(inner_hi)
    few = column.kind == "integer" and hi - lo <= 40  # a bar for each value reads best
    if not few and lo > 0 and hi - middle > 10 * (middle - lo):
        return np.geomspace(lo, hi, 31), clipped, True
    if column.kind == "integer":
        lo, hi = math.floor(lo), math.ceil(hi)
        width = max(1, math.ceil((hi - lo + 1) / 40))
        return np.arange(lo - 0.5, hi + width, width), clipped, False
    if hi == lo:
        return np.histogram_bin_edges(present, bins=1), False, False
    return np.linspace(lo, hi, 31), clipped, False


def _number_marginal(ax: plt.Axes, column: Column, a: np.ndarray, b: np.ndarray) -> bool:
    """Overlaid histograms of present real (C0) and synthetic (C1) values on shared bins:
    densities, or shares of rows per bin on a log axis (where a density would mislead).
    Returns whether the bins leave out the outer 1 % (then the end bins hold it)."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    present = np.concatenate([a, b])
    ax.set_xlabel(shorten(column.name, 30))
    if not len(present):
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return False
    edges, clipped, log = _number_bins(column, present)
    for g, values in enumerate((a, b)):
        if len(values):
            values = np.clip(values, edges[0], edges[-1]) if clipped else values
            weights = np.full(len(values), 1 / len(values)) if log else None
            style = {"bins": edges, "weights": weights, "density": not log, "lw": 1.3}
            for histtype, alpha in (("stepfilled", 0.3), ("step", 1.0)):
                ax.hist(values, histtype=histtype, color=f"C{g}", alpha=alpha, **style)
    if log:
        ax.set(
            xscale="log", xlabel=f"{shorten(column.name, 30)} (log scale)", ylabel="share of rows"
        )
    else:
        ax.xaxis.set_major_locator(plt.MaxNLocator(4 if column.kind == "datetime" else 5))
        ax.set_ylabel("density")
        label_dates(ax, column)
    return clipped


def _category_marginal(ax: plt.Axes, column: Column, a: np.ndarray, b: np.ndarray) -> None:
    """Side-by-side bars of each category's share of the present real (C0) and synthetic
    (C1) values; beyond MARGINAL_BARS categories the rarest (in the real rows) are one bar."""
    spelled = [[v for v in spell(values) if v is not None] for values in (a, b)]
    known = list(column.categories or [])
    names = known + sorted(set(spelled[0] + spelled[1]) - set(known))
    index = {name: i for i, name in enumerate(names)}
    counts = np.zeros((2, len(names)))
    for g, values in enumerate(spelled):
        np.add.at(counts[g], [index[v] for v in values], 1)
    if len(names) > MARGINAL_BARS:
        order = np.lexsort((-counts[1], -counts[0]))  # most common in the real rows first
        keep, rest = order[: MARGINAL_BARS - 1], order[MARGINAL_BARS - 1 :]
        names = [names[i] for i in keep] + [f"other ({len(rest)})"]
        counts = np.concatenate([counts[:, keep], counts[:, rest].sum(1, keepdims=True)], 1)
    grouped_bars(ax, names, as_shares(counts))
    ax.set(xlabel=shorten(column.name, 30), ylabel="share of rows")


def plot_marginals(
    run: Run, seed: int = 0, page: int = 1, source: str | None = None, **_
) -> plt.Figure:
    """Each scored column's distribution in real rows (``source``, default the held-out split,
    in the data's units as read) and in as many synthetic rows (``run.sample``, ``seed``):
    density histograms on shared bins for numbers, category shares side by side otherwise.
    Each panel is titled with the column's shape score, the figure with the overall quality,
    as :func:`vaekit.metrics.fidelity.quality` (and ``vaekit evaluate``) scores them."""
    from vaekit.metrics.fidelity import is_number_column

    _require_table(run, "marginals", page)
    real, fake, columns, score, words = synthetic_comparison(run, seed, source)
    fig, axes = panel_grid(len(columns), width=3.4, height=2.9, per_row=4)
    clipped = False
    for column, ax in zip(columns, axes, strict=True):
        a, b = real.column(column.name), fake.column(column.name)
        shape = score.column_scores.get(column.name)
        title = f"{shorten(column.name, 26)}  (shape {_figure_of(shape)})"
        gaps = [float(missing_mask(v).mean()) if len(v) else 0.0 for v in (a, b)]
        if any(gaps):  # the shape score leaves missing values out: say how many there were
            title += f"\nmissing {_share(gaps[0])} real, {_share(gaps[1])} synthetic"
        ax.set_title(title, fontsize=9)
        if is_number_column(column, real, fake):
            clipped |= _number_marginal(ax, column, a, b)
        else:
            _category_marginal(ax, column, a, b)
        ax.tick_params(labelsize=8)
    # Beside the first row of panels: an outside upper legend would sit on the suptitle.
    fig.legend(*bar_handles([f"real ({words})", SYNTHETIC]), loc="outside right upper")
    fig.suptitle(
        f"Real ({words}) and synthetic rows, column by column — {run.path.name}\n"
        f"quality {_figure_of(score.overall)} (column shapes {_figure_of(score.column_shapes)}, "
        f"pair trends {_figure_of(score.column_pair_trends)}; 1 = alike); "
        f"{len(real)} real and {len(fake)} synthetic rows, seed {seed}"
        + ("\nnumbers binned over their middle 99 %: the end bins hold the rest" if clipped else "")
    )
    return fig


def plot_pairs(
    run: Run, seed: int = 0, page: int = 1, source: str | None = None, **_
) -> plt.Figure:
    """How each pair of columns goes together in real rows and in as many synthetic rows
    (:func:`vaekit.metrics.fidelity.association_matrix`: Pearson's r for two numbers, Cramér's
    V where a category is involved), side by side on one colour scale, and their absolute
    difference; dots mark the pairs the column-pair-trends score counts. Beyond PAIRS_IN_A_ROW
    columns the difference goes below the two maps, so each stays large enough to name every
    column."""
    _require_table(run, "pairs", page)
    real, fake, columns, score, words = synthetic_comparison(run, seed, source)
    names, real_matrix = association_matrix(real, columns)
    _, fake_matrix = association_matrix(fake, columns)
    count = len(names)
    size = 9 if count <= 12 else 7 if count <= 25 else 6.5
    labels = [shorten(name, 16) for name in names]
    label = size / 72 * 0.65 * max(len(t) for t in labels)  # inches the rotated names take
    side = float(np.clip(0.2 * count + 0.4, 3.0, 9.0)) + label  # inches per heat map
    fig, axes = _pair_maps(count, side)
    diverging = plt.get_cmap("RdBu_r").with_extremes(bad="lightgray")
    sequential = plt.get_cmap("viridis").with_extremes(bad="lightgray")
    panels = (
        (axes[0], real_matrix, f"real ({words})", diverging, -1),
        (axes[1], fake_matrix, SYNTHETIC, diverging, -1),
        (axes[2], np.abs(real_matrix - fake_matrix), "|real − synthetic|", sequential, 0),
    )
    images = []
    for ax, matrix, title, cmap, low in panels:
        images.append(ax.imshow(matrix, vmin=low, vmax=1, cmap=cmap, interpolation="nearest"))
        ax.set_title(title)
        ax.set_xticks(range(count), labels, rotation=90, fontsize=size)
        ax.set_yticks(range(count), labels, fontsize=size)
        if count <= 10:  # few enough cells to print their values
            _print_values(ax, matrix, diverging=low < 0)
    position = {name: i for i, name in enumerate(names)}
    scored = np.array([(position[a], position[b]) for a, b in score.pair_scores], dtype=float)
    if len(scored):
        # Mark both halves of the symmetric matrix, off-centre so a printed value stays legible.
        both = np.concatenate([scored, scored[:, ::-1]])
        axes[2].scatter(both[:, 1] + 0.3, both[:, 0] - 0.3, s=9, c="white", edgecolors="black")
    fig.colorbar(images[0], ax=axes[:2], shrink=0.8, label="Pearson r (two numbers) / Cramér's V")
    fig.colorbar(images[2], ax=axes[2], shrink=0.8, label="absolute difference")
    fig.suptitle(
        f"Column pairs: real ({words}) and synthetic rows — {run.path.name}\n"
        f"pair-trends score {_figure_of(score.column_pair_trends)} over the "
        f"{len(score.pair_scores)} pairs marked with dots (1 = alike); {len(real)} real and "
        f"{len(fake)} synthetic rows, seed {seed}"
    )
    return fig


def _pair_maps(count: int, side: float) -> tuple[plt.Figure, list[plt.Axes]]:
    """The pairs figure and the axes of its three maps, ``side`` inches each: in one row up
    to PAIRS_IN_A_ROW columns, else the difference below the other two, beside a note on
    how to read them."""
    if count <= PAIRS_IN_A_ROW:
        fig, axes = plt.subplots(1, 3, figsize=(3 * side + 2.0, side + 1.2), layout="compressed")
        return fig, list(axes)
    size = (2 * side + 1.5, 2 * side + 1.4)
    fig, cells = plt.subplots(2, 2, figsize=size, layout="compressed")
    # The cell beside the difference map would stay empty: say there how to read the maps.
    cells[1, 0].axis("off")
    cells[1, 0].text(0.0, 0.95, HOW_TO_READ_PAIRS, va="top", fontsize=10, wrap=True)
    return fig, [cells[0, 0], cells[0, 1], cells[1, 1]]


def _print_values(ax: plt.Axes, matrix: np.ndarray, diverging: bool) -> None:
    """Each defined cell's value on a heat map, in an ink that reads on its colour (white on
    the dark ends of a diverging map, on the dark low end of a sequential one)."""
    for (i, j), value in np.ndenumerate(matrix):
        if not np.isnan(value):
            ink = "white" if (abs(value) > 0.6 if diverging else value < 0.5) else "black"
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=ink)
