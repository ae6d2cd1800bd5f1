"""The latent space and what the decoder makes of it: held-out codes on a plane (with the
prior's circles), the decoded plane of the two most active dimensions (manifold), paths
between held-out examples (interpolate) and one dimension swept at a time (traverse).

Images are shown as mosaics; a table's manifold gets a panel per column in the data's units,
its interpolation and traversal lines are drawn in model space (standardised numbers, one-hot
categories) so every column shares one axis.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from torch import Tensor

from vaekit.data.schema import Column
from vaekit.data.table import spell
from vaekit.metrics.disentanglement import dimension_factors
from vaekit.metrics.latent import latent_statistics
from vaekit.runs.run import Run
from vaekit.views.plots.columns import (
    NUMERIC,
    column_panels,
    decoded,
    mark_constant,
    paged,
    panel_grid,
)
from vaekit.views.plots.common import MISSING, encode, latent_name, shorten, show_images
from vaekit.views.plots.factors import factor_shares

STANDARDISED = "standardised value (one-hot for categories)"
ONE_DIMENSION = "(none: one latent dimension)"
BESIDE = {"loc": "upper left", "bbox_to_anchor": (1.02, 1), "fontsize": 8}  # a legend's place


def _decode(run: Run, z: np.ndarray, conditions: Tensor | None = None) -> np.ndarray:
    """Decoder means of codes, in model space; a conditional run decodes every code with the
    first of ``conditions`` (the first held-out example's)."""
    fixed = None if conditions is None else conditions[:1].expand(len(z), -1)
    return run.decode(z, model_space=True, condition=fixed)


def _latent_order(run: Run, x: Tensor, conditions: Tensor | None = None) -> list[int]:
    """Latent dimensions from most to least active (variance of the posterior mean)."""
    activity = latent_statistics(run.model, x, conditions=conditions)["activity"]
    return [int(i) for i in np.argsort(activity)[::-1]]


def _condition_words(run: Run, conditions: Tensor | None) -> str:
    """ ", decoded with label=3" for a conditional run's fixed condition; "" otherwise."""
    if conditions is None:
        return ""
    return f", decoded with {run.describe_conditions(conditions[:1])[0]}"


def _latent_scale(run: Run, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and spread to sweep the latent space with: the prior's for models regularised
    towards N(0, I), else the codes' own (an AE's codes can live anywhere)."""
    if run.model.regularised_latent:
        return np.zeros(codes.shape[1]), np.ones(codes.shape[1])
    return codes.mean(0), codes.std(0) + 1e-8


# ---- held-out codes ----------------------------------------------------------------------


def plot_latent(
    run: Run,
    x: Tensor,
    labels: Tensor | None = None,
    projection: str = "pca",
    conditions: Tensor | None = None,
    **_,
) -> plt.Figure:
    """Posterior means of held-out ``x`` on a plane (the latent dimensions themselves up to
    two, else a PCA or t-SNE ``projection``), coloured by class, with the prior's 1σ and 2σ
    circles where the plane has the latent space's scale."""
    codes = encode(run, x, conditions)
    tsne = codes.shape[1] > 2 and projection == "tsne"
    points, title, axis_names = _project(codes, tsne)
    fig, ax = plt.subplots(figsize=(7, 6.2))
    named, heading = _class_points(fig, ax, run, points, labels)
    if not tsne:  # t-SNE axes have no scale the prior could be drawn on
        prior = _prior_circles(ax)
        if named:
            ax.add_artist(prior)  # kept when the class legend below becomes the axes' legend
    if named:
        ncols = 1 if len(named) <= 12 else 2
        ax.legend(handles=named, title=heading, markerscale=2.5, ncols=ncols, **BESIDE)
    ax.set_aspect("equal")
    ax.set(xlabel=axis_names[0], ylabel=axis_names[1], title=title)
    return fig


def _project(codes: np.ndarray, tsne: bool) -> tuple[np.ndarray, str, list[str]]:
    """Codes as points on a plane, the plot's title and its axes' names: one or two latent
    dimensions as they are, more by t-SNE (``tsne``) or onto two principal directions."""
    title = "posterior means"
    if codes.shape[1] == 1:  # on a line: the second axis has nothing to show
        return np.hstack([codes, np.zeros_like(codes)]), title, [latent_name(0), ONE_DIMENSION]
    if codes.shape[1] == 2:
        return codes, title, [latent_name(0), latent_name(1)]
    if tsne:
        from sklearn.manifold import TSNE

        points = TSNE(2, random_state=0, init="pca").fit_transform(codes)
        return points, f"{title} (t-SNE)", ["t-SNE 1", "t-SNE 2"]
    # Orthonormal principal directions, not centred: N(0, I) maps to N(0, I_2).
    _, _, vt = np.linalg.svd(codes - codes.mean(0), full_matrices=False)
    return codes @ vt[:2].T, f"{title} (PCA projection)", ["PC1", "PC2"]


def _class_names(run: Run, labels: np.ndarray) -> list[str]:
    """The classes' names: the run's own, else the label numbers up to the largest seen."""
    classes = run.schema.classes or range(int(labels.max()) + 1 if len(labels) else 0)
    return [str(c) for c in classes]


def _class_points(
    fig: plt.Figure, ax: plt.Axes, run: Run, points: np.ndarray, labels: Tensor | None
) -> tuple[list[plt.Artist], str]:
    """Scatter ``points`` coloured by class: up to 20 classes one colour each, returned as
    legend handles with the legend's heading; more on a colour bar (no handles)."""
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=6)
        return [], ""
    numbers = labels.numpy()
    names = _class_names(run, numbers)
    heading = getattr(run.schema.label, "name", "class") if run.kind == "table" else "class"
    if len(names) > 20:
        shown = ax.scatter(points[:, 0], points[:, 1], c=numbers, cmap="turbo", s=6)
        fig.colorbar(shown, ax=ax, label=heading)
        return [], heading
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    named = [
        ax.scatter(*points[numbers == k].T, s=6, color=cmap(k), label=name)
        for k, name in enumerate(names)
        if (numbers == k).any()
    ]
    return named, heading


def _prior_circles(ax: plt.Axes) -> plt.Artist:
    """The prior's 1σ and 2σ circles and their legend; above the points (a scatter's zorder
    is 1) and dark enough to see on them."""
    style = {"fill": False, "lw": 1.5, "color": "0.15", "zorder": 3}
    circles = [
        ax.add_patch(plt.Circle((0, 0), radius, ls=ls, label=f"prior {radius}σ", **style))
        for radius, ls in ((1, "-"), (2, "--"))
    ]
    return ax.legend(handles=circles, loc="upper right")


# ---- the decoded plane -------------------------------------------------------------------


def manifold_grid(
    run: Run, x: Tensor, n: int = 15, conditions: Tensor | None = None
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Latent points of the manifold plot: (n*n, Z) codes on the plane of the two most active
    dimensions, the others at the centre, at inverse-CDF spaced points (the centre of an odd
    grid is the centre of the latent space exactly). Returns codes, axis values, dims."""
    from scipy.stats import norm

    codes = encode(run, x, conditions)
    centre, spread = _latent_scale(run, codes)
    dims = _latent_order(run, x, conditions)[:2] if codes.shape[1] > 1 else [0]
    values = norm.ppf(np.linspace(0.05, 0.95, n))
    values[n // 2] = 0.0 if n % 2 else values[n // 2]
    z = np.tile(centre, (n * n, 1))
    rows, cols = np.meshgrid(values[::-1], values, indexing="ij")  # top row = high z_b
    z[:, dims[0]] = centre[dims[0]] + cols.ravel() * spread[dims[0]]
    if len(dims) > 1:
        z[:, dims[1]] = centre[dims[1]] + rows.ravel() * spread[dims[1]]
    return z.astype(np.float32), values, dims


def plot_manifold(
    run: Run, x: Tensor, n: int = 15, page: int = 1, conditions: Tensor | None = None, **_
) -> plt.Figure:
    """What the decoder makes of a plane through the latent space: a mosaic of images; for a
    table, each column's decoded value (or category) over the plane."""
    z, values, dims = manifold_grid(run, x, n, conditions)
    outputs = _decode(run, z, conditions)
    if run.kind == "image":
        rows = f"{latent_name(dims[1])} ↑ (rows)" if len(dims) > 1 else "rows alike (one dimension)"
        title = (
            f"decoded latent plane: {latent_name(dims[0])} → (columns), {rows}, "
            f"others at the centre{_condition_words(run, conditions)}"
        )
        fig, ax = plt.subplots(figsize=(8, 8))
        show_images(ax, outputs, n, title)
        return fig
    table = decoded(run.schema, outputs)
    fig, columns, axes, words = column_panels(run, page, width=4.2, height=3.4)
    plane = {"extent": (values[0], values[-1]) * 2, "interpolation": "nearest", "aspect": "auto"}
    for column, ax in zip(columns, axes, strict=True):
        column_values = table.column(column.name)
        if column.kind in NUMERIC:
            cmap = plt.get_cmap("viridis").with_extremes(bad="lightgray")
            image = ax.imshow(column_values.reshape(n, n), cmap=cmap, **plane)
            # An inset colorbar sits beside its panel like the category legends do.
            bar = ax.inset_axes((1.04, 0.0, 0.05, 1.0))
            colorbar = fig.colorbar(image, cax=bar, label=shorten(column.name, 30))
            if column.kind == "integer":
                colorbar.locator = plt.MaxNLocator(integer=True)
        elif column.kind == "constant":
            mark_constant(ax, column)
            continue
        else:
            _category_map(ax, column, column_values.reshape(n, n), plane)
        ax.set_xlabel(latent_name(dims[0]))
        ax.set_ylabel(latent_name(dims[1]) if len(dims) > 1 else ONE_DIMENSION)
    names = ", ".join(latent_name(d) for d in dims)
    fig.suptitle(f"Decoded latent plane ({names}; others at the centre) — {words}")
    return fig


def _category_map(ax: plt.Axes, column: Column, values: np.ndarray, plane: dict) -> None:
    """The decoded category at each point of the plane, one colour per category."""
    names = list(column.categories or []) + [MISSING] * (column.missing == "indicator")
    index = {name: i for i, name in enumerate(names)}
    codes = np.array([index[s] for s in spell(values.ravel(), MISSING)]).reshape(values.shape)
    base = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    colours = [base(i % base.N) for i in range(len(names))]
    if column.missing == "indicator":
        colours[-1] = (0.85, 0.85, 0.85, 1.0)
    ax.imshow(codes, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(names) - 0.5, **plane)
    present = sorted(set(codes.ravel().tolist()))
    patches = [Patch(color=colours[i]) for i in present]
    words = [shorten(names[i]) for i in present]
    ax.legend(patches, words, title="decoded", title_fontsize=8, **BESIDE)


# ---- paths through the latent space ------------------------------------------------------


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between rows of a and b at fractions t (T,) -> (T, P, Z)."""
    cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)
    omega = np.arccos(np.clip(cos, -1, 1))[None, :, None]
    t = t[:, None, None]
    sin = np.sin(omega)
    safe = np.where(sin < 1e-6, 1.0, sin)
    curved = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / safe
    straight = (1 - t) * a + t * b
    return np.where(sin < 1e-6, straight, curved)


def plot_interpolate(
    run: Run,
    x: Tensor,
    pairs: int = 4,
    steps: int = 10,
    seed: int = 0,
    page: int = 1,
    conditions: Tensor | None = None,
    **_,
) -> plt.Figure:
    """Decoded straight and spherical paths between pairs of held-out examples (a conditional
    run decodes each path with its first example's condition)."""
    gen = np.random.default_rng(seed)
    idx = gen.choice(len(x), size=2 * pairs, replace=len(x) < 2 * pairs)
    chosen = None if conditions is None else conditions[idx]
    codes = encode(run, x[idx], chosen)
    starts = None if chosen is None else chosen[:pairs]
    a, b = codes[:pairs], codes[pairs:]
    t = np.linspace(0, 1, steps)
    linear = (1 - t)[:, None, None] * a + t[:, None, None] * b  # (T, P, Z)
    if run.kind == "image":
        fig, axes = plt.subplots(2, 1, figsize=(steps * 0.9, pairs * 1.9))
        paths = {"straight line": linear, "spherical (slerp)": slerp(a, b, t)}
        for ax, (title, path) in zip(axes, paths.items(), strict=True):
            images = _decode_paths(run, path, starts)
            show_images(ax, images, steps, f"{title}: one pair of test points per row")
        fig.tight_layout()
        return fig
    fig, axes, picked, words = _line_panels(run, page, pairs, width=3.6, height=3.0)
    for p, ax in enumerate(axes):
        values = _decode(run, linear[:, p], None if starts is None else starts[p : p + 1])
        _draw_lines(ax, t, values, picked)
        ax.set(title=f"pair {p + 1}", xlabel="t (0: first row, 1: second)")
    fig.suptitle(f"Straight lines in the latent space between held-out rows\n{words}")
    return fig


def _decode_paths(run: Run, paths: np.ndarray, starts: Tensor | None) -> np.ndarray:
    """Decode (T, P, Z) paths as P rows of T, each row with its start's condition."""
    steps, pairs, _ = paths.shape
    z = paths.transpose(1, 0, 2).reshape(steps * pairs, -1)
    c = None if starts is None else starts.repeat_interleave(steps, 0)
    return run.decode(z, model_space=True, condition=c)


def plot_traverse(
    run: Run,
    x: Tensor,
    steps: int = 11,
    max_dims: int = 10,
    page: int = 1,
    conditions: Tensor | None = None,
    factors: Tensor | None = None,
    **_,
) -> plt.Figure:
    """The decoder along each of the ``max_dims`` most active latent dimensions, swept from
    −3σ to +3σ about the first held-out example's code, the other dimensions fixed: a row
    of images per dimension, or for a table a panel of model-space lines per dimension. With
    ``factors``, each row is named by the factor its dimension carries most of."""
    codes = encode(run, x, conditions)
    centre, spread = _latent_scale(run, codes)
    dims = _latent_order(run, x, conditions)[:max_dims]
    sweep = np.linspace(-3, 3, steps)
    z = np.tile(codes[0], (len(dims), steps, 1))
    for row, d in enumerate(dims):
        z[row, :, d] = centre[d] + sweep * spread[d]
    decoded = _decode(run, z.reshape(len(dims) * steps, -1).astype(np.float32), conditions)
    if run.kind == "image":
        words = _condition_words(run, conditions)
        title = f"one latent dimension swept from −3σ to +3σ per row, the others fixed{words}"
        fig, ax = plt.subplots(figsize=(steps * 0.8, len(dims) * 0.85 + 0.6))
        show_images(ax, decoded, steps, title, _row_names(run, codes, dims, factors))
        return fig
    values = decoded.reshape(len(dims), steps, -1)
    fig, axes, picked, words = _line_panels(run, page, len(dims), width=3.4, height=2.9)
    for d, ax in enumerate(axes):
        _draw_lines(ax, sweep, values[d], picked)
        ax.set(title=latent_name(dims[d]), xlabel="σ from the centre")
    fig.suptitle(f"One latent dimension swept from −3σ to +3σ per panel, the others fixed\n{words}")
    return fig


def _row_names(run: Run, codes: np.ndarray, dims: list[int], factors: Tensor | None) -> list[str]:
    """z3, or with factors "z3: x (0.71)": the factor with the largest share of its entropy
    held by the dimension (in the held-out ``codes``), or "no factor" below 5%."""
    if factors is None or not run.schema.factors:
        return [latent_name(d) for d in dims]
    shares = factor_shares(codes, factors)
    names = dimension_factors(shares, list(run.schema.factors))
    return [
        f"{latent_name(d)}: {names[d]} ({shares[d].max():.2f})"
        if names[d]
        else f"{latent_name(d)}: no factor"
        for d in dims
    ]


# ---- a table's model-space lines ---------------------------------------------------------


def _line_style(i: int) -> dict:
    """Colour and dash of line ``i``: 10 colours, then the next dash pattern."""
    return {"color": f"C{i % 10}", "ls": ("-", "--", ":", "-.")[(i // 10) % 4]}


def _line_panels(
    run: Run, page: int, panels: int, width: float, height: float
) -> tuple[plt.Figure, list[plt.Axes], list[int], str]:
    """``panels`` panels for lines of the model-space columns on ``page``, with room on the
    right for their legend: the figure, its axes, the columns' indices and the page's words."""
    labels = [label for _, label in run.schema.model_columns()]
    shown, words = paged(len(labels), page, "model-space columns")
    names = [shorten(t, 28) for t in labels[shown]]
    columns = math.ceil(len(names) / 12)  # legend columns of at most 12 entries
    legend = columns * (0.065 * max(len(t) for t in names) + 0.8)
    fig, axes = panel_grid(panels, width=width, height=height, extra=legend)
    handles = [plt.Line2D([], [], lw=1.5, **_line_style(i)) for i in range(len(names))]
    fig.legend(
        handles, names, loc="outside right center", fontsize=8, title="column", ncols=columns
    )
    return fig, axes, list(range(len(labels)))[shown], words


def _draw_lines(ax: plt.Axes, along: np.ndarray, values: np.ndarray, picked: list[int]) -> None:
    """One line per model-space column in ``picked`` of ``values`` (model space) ``along``
    the path, styled as the figure's legend says."""
    for i, column in enumerate(picked):
        ax.plot(along, values[:, column], lw=1.5, **_line_style(i))
    ax.set_ylabel(STANDARDISED, fontsize=8)
