"""The pictures the seed notes explain VAEs with, drawn for the user's own model.

Each ``plot_*`` function returns a matplotlib Figure; :func:`save_plot` renders one kind to PNG.
Image data is shown as images in its own shape (grey or colour). Tables get one small panel per
column, named and in the data's own units (categories by name), except the interpolation and
traversal lines, which are drawn in model space (standardised numbers, one-hot categories) so
every column shares one axis. A table with many columns is shown a page of
:data:`PAGE_SIZE` columns at a time (the ``page`` option). ``marginals`` and ``pairs`` set a
table run's real rows against as many synthetic ones, every column on one figure, with the
scores ``vaekit evaluate`` gives them. Everything runs headless (Agg backend).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from vaekit.core.errors import VaekitError  # noqa: E402
from vaekit.core.files import atomic_write  # noqa: E402
from vaekit.data.splits import Dataset  # noqa: E402
from vaekit.data.table import format_number, missing_mask, spell  # noqa: E402
from vaekit.metrics.latent import latent_statistics  # noqa: E402
from vaekit.views.images import grid  # noqa: E402
from vaekit.views.plot_kinds import KINDS  # noqa: E402

PAGE_SIZE = 24  # table columns (or model-space columns for line plots) on one figure
MAX_CATEGORIES = 15  # categories drawn as bars; the rarer ones are summed as "other"
MISSING = "(missing)"
STANDARDISED = "standardised value (one-hot for categories)"
NUMERIC = ("continuous", "integer")


# ---- shared helpers ----------------------------------------------------------------------


def _show_images(ax, images: np.ndarray, columns: int, title: str = "") -> None:
    """Draw (N, C, H, W) images in [0, 1] as one mosaic on ``ax``."""
    mosaic = grid(np.clip(images, 0, 1), columns)
    ax.imshow(
        mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic,
        cmap="gray",
        interpolation="nearest",
        vmin=0,
        vmax=255,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def _codes(run, x: torch.Tensor, conditions: torch.Tensor | None = None) -> np.ndarray:
    """Posterior means of model-space ``x`` (with its conditions for a conditional run)."""
    return run.encode(Dataset(x, None, conditions))[0]


def _decode(run, z: np.ndarray, conditions: torch.Tensor | None = None) -> np.ndarray:
    """Decoder means of codes, in model space; a conditional run decodes every code with the
    first of ``conditions`` (the first held-out example's)."""
    z = torch.as_tensor(z, dtype=torch.float32)
    fixed = None if conditions is None else conditions[:1].expand(len(z), -1)
    return run.decode(z, model_space=True, condition=fixed)


def _reconstruct(run, x: torch.Tensor, conditions: torch.Tensor | None = None) -> np.ndarray:
    """Reconstructions of model-space ``x``, in model space."""
    return run.reconstruct(Dataset(x, None, conditions), model_space=True)


def _z(d: int) -> str:
    """The name of latent dimension ``d`` in every plot: 0-based, as the codes' columns are
    numbered (z0, z1, ...)."""
    return f"z{d}"


def _latent_order(run, x: torch.Tensor, conditions: torch.Tensor | None = None) -> list[int]:
    """Latent dimensions from most to least active (variance of the posterior mean)."""
    activity = latent_statistics(run.model, x, conditions=conditions)["activity"]
    return [int(i) for i in np.argsort(activity)[::-1]]


def _condition_words(run, conditions: torch.Tensor | None) -> str:
    """ ", decoded with label=3" for a conditional run's fixed condition; "" otherwise."""
    if conditions is None:
        return ""
    return f", decoded with {run.describe_conditions(conditions[:1])[0]}"


def _first(conditions: torch.Tensor | None, n: int) -> torch.Tensor | None:
    return None if conditions is None else conditions[:n]


def _latent_scale(run, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and spread to sweep the latent space with: the prior's for models regularised
    towards N(0, I), else the codes' own (an AE's codes can live anywhere)."""
    if run.model.regularised_latent:
        return np.zeros(codes.shape[1]), np.ones(codes.shape[1])
    return codes.mean(0), codes.std(0) + 1e-8


# ---- table helpers -----------------------------------------------------------------------


def _page(count: int, page: int, what: str = "columns") -> tuple[slice, str]:
    """The slice of ``count`` columns on ``page`` (from 1) and the words that say so."""
    pages = max(1, math.ceil(count / PAGE_SIZE))
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= pages:
        raise VaekitError(f"plot: page {page} of {pages} does not exist")
    start, stop = (page - 1) * PAGE_SIZE, min(count, page * PAGE_SIZE)
    return slice(start, stop), f"{what} {start + 1}–{stop} of {count} (page {page} of {pages})"


def _panels(
    count: int,
    width: float = 3.3,
    height: float = 2.9,
    extra: float = 0.0,
    per_row: int | None = None,
):
    """A figure with ``count`` panels in a grid (unused cells hidden) and its axes, flat;
    ``per_row`` panels a row (default 4, or 6 beyond 12 panels)."""
    cols = min(count, per_row or (4 if count <= 12 else 6))
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(max(9.0, width * cols + extra), height * rows + 0.5),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def _short(text: str, limit: int = 18) -> str:
    """``text`` in at most ``limit`` characters, cut in the middle: names that share a long
    start (``city=a long name 1``, ``... 2``) stay told apart by their ends."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def _category_shares(column, groups: list[np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Category names and (len(groups), K) counts; the most common MAX_CATEGORIES categories
    (of the first group) by name, the rest summed as "other"."""
    names = list(column.categories or [])
    if column.missing == "indicator":
        names.append(MISSING)
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


def _distinct(names: list[str], limit: int = 18) -> list[str]:
    """``names`` cut to ``limit`` characters and still told apart: in the middle (by
    :func:`_short`), else at the end (``City number 1 with a long name``, ``... 2 ...``),
    else not at all."""
    for cut in (_short, lambda text: text if len(text) <= limit else text[: limit - 1] + "…"):
        labels = [cut(name) for name in names]
        if len(set(labels)) == len(set(names)):
            return labels
    return list(names)


def _bars(ax, names: list[str], heights: np.ndarray) -> None:
    """Grouped bars, one group per category, one bar per row of ``heights`` (colour C0, C1)."""
    width = 0.8 / len(heights)
    for g, row in enumerate(heights):
        offset = (g - (len(heights) - 1) / 2) * width
        ax.bar(np.arange(len(names)) + offset, row, width, color=f"C{g}", alpha=0.8)
    ax.set_xticks(np.arange(len(names)))
    labels = _distinct(names)
    long = sum(len(t) + 2 for t in labels) > 30  # would they touch when level?
    crowded = long and len(names) > 6  # slanted, neighbours would overlap: stand them upright
    ax.set_xticklabels(
        labels,
        rotation=90 if crowded else 40 if long else 0,
        ha="center" if crowded or not long else "right",
        fontsize=8,
    )


def _constant(ax, column) -> None:
    ax.text(
        0.5,
        0.5,
        f"constant:\n{_short(str(column.value), 24)}",
        ha="center",
        va="center",
        transform=ax.transAxes,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _missing_note(column, groups: list[np.ndarray], names: list[str]) -> str:
    if column.missing != "indicator":
        return ""
    shares = [f"{np.isnan(v).mean():.0%} {name}" for v, name in zip(groups, names, strict=True)]
    return "missing: " + ", ".join(shares)


def _correlation(values: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns; 0 for a column that does not vary (no NaN)."""
    centred = values - values.mean(0)
    std = centred.std(0)
    scaled = centred / np.where(std > 0, std, 1.0)
    corr = scaled.T @ scaled / max(len(values), 1)
    np.fill_diagonal(corr, (std > 0).astype(float))
    return np.clip(np.nan_to_num(corr), -1, 1)


def _line_style(i: int) -> dict:
    """Colour and dash of line ``i``: 10 colours, then the next dash pattern."""
    return {"color": f"C{i % 10}", "ls": ("-", "--", ":", "-.")[(i // 10) % 4]}


def _model_lines(run, page: int) -> tuple[list[int], list[str], str]:
    """Model-space columns on ``page``: their indices, labels and the page's words."""
    labels = [label for _, label in run.schema.model_columns()]
    shown, words = _page(len(labels), page, "model-space columns")
    return list(range(len(labels)))[shown], labels[shown], words


def _line_figure(panels: int, labels: list[str], width: float, height: float):
    """Panels for model-space lines, with room on the right for the legend of ``labels``."""
    columns = math.ceil(len(labels) / 12)  # legend columns of at most 12 entries
    legend = columns * (0.065 * max(len(_short(t, 28)) for t in labels) + 0.8)
    fig, axes = _panels(panels, width=width, height=height, extra=legend)
    handles = [plt.Line2D([], [], lw=1.5, **_line_style(i)) for i in range(len(labels))]
    fig.legend(
        handles,
        [_short(t, 28) for t in labels],
        loc="outside right center",
        fontsize=8,
        title="column",
        ncols=columns,
    )
    return fig, axes


# ---- the plots ---------------------------------------------------------------------------


def plot_curves(run, **_) -> Figure:
    rows = run.metrics
    if not rows:
        raise VaekitError(f"{run.path}: no metrics.jsonl to plot")
    epochs = [r["epoch"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    probabilistic = rows[-1].get("val_elbo") is not None
    ax = axes[0, 0]
    ax.plot(epochs, [-r["train_loss"] for r in rows], label="train (−loss)")
    if probabilistic:
        ax.plot(epochs, [r["val_elbo"] for r in rows], label="validation ELBO")
    ax.set_title("ELBO" if probabilistic else "−training loss")
    ax.set_ylabel("nats per example")
    for ax, key, title in (
        (axes[0, 1], "recon", "reconstruction −log p(x|z)"),
        (axes[1, 0], "kl", "KL(q(z|x) ‖ N(0, I))"),
    ):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], label="train")
        ax.plot(epochs, [r[f"val_{key}"] for r in rows], label="validation")
        ax.set_title(title)
        ax.set_ylabel("nats per example")
    ax = axes[1, 1]
    betas = [r.get("beta") for r in rows]
    if len({b for b in betas if b is not None}) > 1:  # a schedule: show it
        ax.plot(epochs, [b if b is not None else np.nan for b in betas], color="C3", label="β")
        ax.set_title("β in force (end of epoch)")
    else:
        ax.plot(epochs, [r["val_mse"] for r in rows], color="C2", label="validation")
        ax.set_title("reconstruction squared error")
    for ax in axes.flat:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Training curves — {run.config.model.model} on {run.config.data.source}")
    fig.tight_layout()
    return fig


def plot_recon(
    run, x: torch.Tensor, n: int | None = None, page: int = 1, conditions=None, **_
) -> Figure:
    """Originals against reconstructions: images side by side; for a table, per column, a
    scatter in the data's units or the category counts of both."""
    if run.kind == "image":
        n = n or 16
        x = x[:n]
        recon = _reconstruct(run, x, _first(conditions, n))
        fig, axes = plt.subplots(2, 1, figsize=(min(16, n), 2.6))
        _show_images(axes[0], x.numpy(), n, "originals")
        _show_images(axes[1], recon, n, "reconstructions")
        fig.tight_layout()
        return fig
    x = x[: n or 500]
    schema = run.schema
    rebuilt = schema.decode(_reconstruct(run, x, _first(conditions, len(x))))
    original = schema.decode(x.numpy())
    shown, words = _page(len(schema.outputs), page)
    columns = schema.outputs[shown]
    fig, axes = _panels(len(columns))
    for column, ax in zip(columns, axes, strict=True):
        ax.set_title(_short(column.name, 30))
        a, b = original.column(column.name), rebuilt.column(column.name)
        if column.kind in NUMERIC:
            both = ~(np.isnan(a) | np.isnan(b))
            ax.scatter(a[both], b[both], s=8, alpha=0.6)
            if both.any():
                lo, hi = a[both].min(), a[both].max()
                ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
            ax.set_xlabel("original\n" + _missing_note(column, [a, b], ["orig.", "recon."]))
            ax.set_ylabel("reconstruction")
        elif column.kind == "constant":
            _constant(ax, column)
        else:
            names, counts = _category_shares(column, [a, b])
            _bars(ax, names, counts)
            ax.set_ylabel("count")
    if any(c.kind not in NUMERIC for c in columns):
        fig.legend(*_bar_handles(["original", "reconstruction"]), loc="outside upper right")
    fig.suptitle(f"Reconstructions of {len(x)} held-out rows — {words}")
    return fig


def _bar_handles(labels: list[str]) -> tuple[list, list[str]]:
    return [Patch(color=f"C{i}", alpha=0.8) for i in range(len(labels))], labels


def plot_samples(run, x: torch.Tensor, n: int = 64, seed: int = 0, page: int = 1, **_) -> Figure:
    """Generated examples: image mosaics from the prior and the fitted mixture; for a table,
    each column's distribution in held-out data and in samples, and both correlation maps."""
    if run.kind == "image":
        prior = run.sample(n, seed=seed, sampler="prior", warn=False, model_space=True)
        gmm = run.sample(n, seed=seed, sampler="gmm", model_space=True)
        fig, axes = plt.subplots(1, 2, figsize=(12, 6.4))
        prior_name = "p(z|c), learned" if run.config.model.prior == "conditional" else "N(0, I)"
        _show_images(axes[0], prior, int(math.sqrt(n)), f"z ~ {prior_name} (prior)")
        _show_images(axes[1], gmm, int(math.sqrt(n)), "z ~ mixture fitted to training codes")
        fig.tight_layout()
        return fig
    schema = run.schema
    real_x = x.numpy()
    fake_x = run.sample(
        max(n, len(real_x)), seed=seed, sampler="prior", warn=False, model_space=True
    )
    real, fake = schema.decode(real_x), schema.decode(fake_x)
    shown, words = _page(len(schema.outputs), page)
    columns = schema.outputs[shown]
    cols = min(len(columns), 6)
    rows = math.ceil(len(columns) / cols)
    fig = plt.figure(figsize=(max(13.0, 3.0 * cols), 2.9 * rows + 6.5), layout="constrained")
    outer = fig.add_gridspec(2, 2, height_ratios=[2.9 * rows, 6.0])
    marginals = outer[0, :].subgridspec(rows, cols)
    axes = [fig.add_subplot(marginals[i // cols, i % cols]) for i in range(len(columns))]
    for column, ax in zip(columns, axes, strict=True):
        ax.set_title(_short(column.name, 30))
        a, b = real.column(column.name), fake.column(column.name)
        if column.kind in NUMERIC:
            present = np.concatenate([a[~np.isnan(a)], b[~np.isnan(b)]])
            if column.kind == "integer" and column.hi - column.lo <= 40:
                bins = np.arange(column.lo - 0.5, column.hi + 1)
            else:
                bins = np.histogram_bin_edges(present, bins=30) if len(present) else 10
            for g, values in enumerate((a, b)):
                # One filled outline per histogram, not a patch per bin: the same picture,
                # a fraction of the drawing time on a wide table.
                ax.hist(
                    values[~np.isnan(values)],
                    bins=bins,
                    alpha=0.5,
                    density=True,
                    color=f"C{g}",
                    histtype="stepfilled",
                )
            ax.set_ylabel("density")
            ax.set_xlabel(_missing_note(column, [a, b], ["data", "generated"]))
        elif column.kind == "constant":
            _constant(ax, column)
        else:
            names, counts = _category_shares(column, [a, b])
            _bars(ax, names, counts / np.maximum(counts.sum(1, keepdims=True), 1))
            ax.set_ylabel("share")
    fig.legend(*_bar_handles(["data", "generated"]), loc="outside upper right")
    fig.suptitle(f"Held-out data and {len(fake_x)} samples from N(0, I) — {words}")
    names = {c.name for c in columns}
    picked = [i for i, (c, _) in enumerate(schema.model_columns()) if c.name in names]
    labels = [_short(label, 24) for c, label in schema.model_columns() if c.name in names]
    if len(picked) < 2:
        fig.text(0.5, 0.1, "fewer than two model-space columns: no correlations", ha="center")
        return fig
    heat = [fig.add_subplot(outer[1, 0]), fig.add_subplot(outer[1, 1])]
    size = 8 if len(picked) <= 24 else 6
    for ax, values, title in ((heat[0], real_x, "data"), (heat[1], fake_x, "generated")):
        image = ax.imshow(_correlation(values[:, picked]), vmin=-1, vmax=1, cmap="coolwarm")
        ax.set_title(f"{title} correlations (model space)")
        ticks = np.arange(len(picked)) if len(picked) <= 60 else []
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=90, fontsize=size)
        ax.set_yticks(ticks, [labels[i] for i in ticks], fontsize=size)
    fig.colorbar(image, ax=heat, shrink=0.8, label="correlation")
    return fig


def _class_names(run, labels: np.ndarray) -> list[str]:
    classes = run.schema.classes
    if classes:
        return [str(c) for c in classes]
    return [str(i) for i in range(int(labels.max()) + 1 if len(labels) else 0)]


def plot_latent(
    run,
    x: torch.Tensor,
    labels: torch.Tensor | None = None,
    projection: str = "pca",
    conditions=None,
    **_,
) -> Figure:
    codes = _codes(run, x, conditions)
    title = "posterior means"
    axis_names = [_z(0), _z(1)]  # the latent dimensions themselves, when there are at most two
    if codes.shape[1] == 1:
        codes = np.concatenate([codes, np.zeros_like(codes)], 1)
        axis_names[1] = "(none: one latent dimension)"
    tsne = codes.shape[1] > 2 and projection == "tsne"
    if tsne:
        from sklearn.manifold import TSNE

        codes = TSNE(2, random_state=0, init="pca").fit_transform(codes)
        title += " (t-SNE)"
        axis_names = ["t-SNE 1", "t-SNE 2"]
    elif codes.shape[1] > 2:
        # Orthonormal principal directions, not centred: N(0, I) maps to N(0, I_2).
        _, _, vt = np.linalg.svd(codes - codes.mean(0), full_matrices=False)
        codes = codes @ vt[:2].T
        title += " (PCA projection)"
        axis_names = ["PC1", "PC2"]
    fig, ax = plt.subplots(figsize=(7, 6.2))
    named = None
    if labels is not None:
        numbers = labels.numpy()
        names = _class_names(run, numbers)
        heading = getattr(run.schema.label, "name", "class") if run.kind == "table" else "class"
        if len(names) <= 20:  # one colour per class, named in a legend
            cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
            named = []
            for k, name in enumerate(names):
                mine = numbers == k
                if mine.any():
                    named.append(ax.scatter(*codes[mine].T, s=6, color=cmap(k), label=name))
        else:
            shown = ax.scatter(codes[:, 0], codes[:, 1], c=numbers, cmap="turbo", s=6)
            fig.colorbar(shown, ax=ax, label=heading)
    else:
        ax.scatter(codes[:, 0], codes[:, 1], s=6)
    if not tsne:  # t-SNE axes have no scale the prior could be drawn on
        circles = [  # above the points (a scatter's zorder is 1), dark enough to see on them
            ax.add_patch(
                plt.Circle(
                    (0, 0),
                    radius,
                    fill=False,
                    ls=style,
                    lw=1.5,
                    color="0.15",
                    zorder=3,
                    label=f"prior {radius}σ",
                )
            )
            for radius, style in ((1, "-"), (2, "--"))
        ]
        prior = ax.legend(handles=circles, loc="upper right")
        if named:
            ax.add_artist(prior)  # kept when the class legend below becomes the axes' legend
    if named:
        ax.legend(
            handles=named,
            loc="upper left",
            bbox_to_anchor=(1.02, 1),
            title=heading,
            markerscale=2.5,
            fontsize=8,
            ncols=1 if len(named) <= 12 else 2,
        )
    ax.set_aspect("equal")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title)
    return fig


def manifold_grid(
    run, x: torch.Tensor, n: int = 15, conditions: torch.Tensor | None = None
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Latent points of the manifold plot: (n*n, Z) codes on the plane of the two most active
    dimensions, the others at the centre, at inverse-CDF spaced points (the centre of an odd
    grid is the centre of the latent space exactly). Returns codes, axis values, dims."""
    from scipy.stats import norm

    codes = _codes(run, x, conditions)
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


def _category_map(ax, column, values: np.ndarray, n: int, extent: tuple) -> None:
    """The decoded category at each point of the plane, one colour per category."""
    names = list(column.categories or []) + [MISSING] * (column.missing == "indicator")
    index = {name: i for i, name in enumerate(names)}
    codes = np.array([index[s] for s in spell(values, MISSING)]).reshape(n, n)
    base = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    colours = [base(i % base.N) for i in range(len(names))]
    if column.missing == "indicator":
        colours[-1] = (0.85, 0.85, 0.85, 1.0)
    ax.imshow(
        codes,
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=len(names) - 0.5,
        extent=extent,
        interpolation="nearest",
        aspect="auto",
    )
    present = sorted(set(codes.ravel().tolist()))
    ax.legend(
        [Patch(color=colours[i]) for i in present],
        [_short(names[i]) for i in present],
        loc="upper left",
        bbox_to_anchor=(1.02, 1),
        fontsize=8,
        title="decoded",
        title_fontsize=8,
    )


def plot_manifold(run, x: torch.Tensor, n: int = 15, page: int = 1, conditions=None, **_) -> Figure:
    """What the decoder makes of a plane through the latent space: a mosaic of images; for a
    table, each column's decoded value (or category) over the plane."""
    z, values, dims = manifold_grid(run, x, n, conditions)
    decoded = _decode(run, z, conditions)
    if run.kind == "image":
        fig, ax = plt.subplots(figsize=(8, 8))
        _show_images(ax, decoded, n)
        rows = f"{_z(dims[1])} ↑ (rows)" if len(dims) > 1 else "rows alike (one dimension)"
        ax.set_title(
            f"decoded latent plane: {_z(dims[0])} → (columns), {rows}, "
            f"others at the centre{_condition_words(run, conditions)}"
        )
        return fig
    schema = run.schema
    table = schema.decode(decoded)
    shown, words = _page(len(schema.outputs), page)
    columns = schema.outputs[shown]
    fig, axes = _panels(len(columns), width=4.2, height=3.4)
    extent = (values[0], values[-1], values[0], values[-1])
    for column, ax in zip(columns, axes, strict=True):
        ax.set_title(_short(column.name, 30))
        column_values = table.column(column.name)
        if column.kind in NUMERIC:
            cmap = plt.get_cmap("viridis").with_extremes(bad="lightgray")
            image = ax.imshow(
                column_values.reshape(n, n),
                cmap=cmap,
                extent=extent,
                interpolation="nearest",
                aspect="auto",
            )
            # An inset colorbar sits beside its panel like the category legends do.
            bar = ax.inset_axes((1.04, 0.0, 0.05, 1.0))
            colorbar = fig.colorbar(image, cax=bar, label=_short(column.name, 30))
            if column.kind == "integer":
                colorbar.locator = MaxNLocator(integer=True)
        elif column.kind == "constant":
            _constant(ax, column)
            continue
        else:
            _category_map(ax, column, column_values, n, extent)
        ax.set_xlabel(_z(dims[0]))
        ax.set_ylabel(_z(dims[1]) if len(dims) > 1 else "(none: one latent dimension)")
    plane = ", ".join(_z(d) for d in dims)
    fig.suptitle(f"Decoded latent plane ({plane}; others at the centre) — {words}")
    return fig


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
    run,
    x: torch.Tensor,
    pairs: int = 4,
    steps: int = 10,
    seed: int = 0,
    page: int = 1,
    conditions=None,
    **_,
) -> Figure:
    """Decoded straight and spherical paths between pairs of held-out examples (a conditional
    run decodes each path with its first example's condition)."""
    gen = np.random.default_rng(seed)
    idx = torch.as_tensor(gen.choice(len(x), size=2 * pairs, replace=len(x) < 2 * pairs))
    chosen = None if conditions is None else conditions[idx]
    codes = _codes(run, x[idx], chosen)
    starts = None if chosen is None else chosen[:pairs]
    a, b = codes[:pairs], codes[pairs:]
    t = np.linspace(0, 1, steps)
    linear = (1 - t)[:, None, None] * a + t[:, None, None] * b  # (T, P, Z)
    spherical = slerp(a, b, t)
    if run.kind == "image":
        fig, axes = plt.subplots(2, 1, figsize=(steps * 0.9, pairs * 1.9))
        for ax, path, title in (
            (axes[0], linear, "straight line"),
            (axes[1], spherical, "spherical (slerp)"),
        ):
            images = _decode_paths(run, path, starts)
            _show_images(ax, images, steps, f"{title}: one pair of test points per row")
        fig.tight_layout()
        return fig
    picked, labels, words = _model_lines(run, page)
    fig, axes = _line_figure(pairs, labels, width=3.6, height=3.0)
    for p, ax in enumerate(axes):
        values = _decode(run, linear[:, p], None if starts is None else starts[p : p + 1])
        for i, column in enumerate(picked):
            ax.plot(t, values[:, column], lw=1.5, **_line_style(i))
        ax.set_title(f"pair {p + 1}")
        ax.set_xlabel("t (0: first row, 1: second)")
        ax.set_ylabel(STANDARDISED, fontsize=8)
    fig.suptitle(f"Straight lines in the latent space between held-out rows\n{words}")
    return fig


def _decode_paths(run, paths: np.ndarray, starts: torch.Tensor | None) -> np.ndarray:
    """Decode (T, P, Z) paths as P rows of T, each row with its start's condition."""
    steps, pairs, _ = paths.shape
    z = paths.transpose(1, 0, 2).reshape(steps * pairs, -1)
    c = None if starts is None else starts.repeat_interleave(steps, 0)
    return run.decode(torch.as_tensor(z, dtype=torch.float32), model_space=True, condition=c)


def plot_traverse(
    run,
    x: torch.Tensor,
    steps: int = 11,
    max_dims: int = 10,
    page: int = 1,
    conditions=None,
    **_,
) -> Figure:
    codes = _codes(run, x, conditions)
    centre, spread = _latent_scale(run, codes)
    dims = _latent_order(run, x, conditions)[:max_dims]
    sweep = np.linspace(-3, 3, steps)
    base = codes[0]
    rows = []
    for d in dims:
        z = np.tile(base, (steps, 1))
        z[:, d] = centre[d] + sweep * spread[d]
        rows.append(z)
    decoded = _decode(run, np.concatenate(rows).astype(np.float32), conditions)
    if run.kind == "image":
        fig, ax = plt.subplots(figsize=(steps * 0.8, len(dims) * 0.85 + 0.6))
        _show_images(ax, decoded, steps)
        ax.set_yticks([(i + 0.5) * (decoded.shape[-2] + 1) for i in range(len(dims))])
        ax.set_yticklabels([_z(d) for d in dims])
        ax.set_title(
            "one latent dimension swept from −3σ to +3σ per row, the others fixed"
            + _condition_words(run, conditions)
        )
        return fig
    picked, labels, words = _model_lines(run, page)
    values = decoded.reshape(len(dims), steps, -1)
    fig, axes = _line_figure(len(dims), labels, width=3.4, height=2.9)
    for d, ax in enumerate(axes):
        for i, column in enumerate(picked):
            ax.plot(sweep, values[d, :, column], lw=1.5, **_line_style(i))
        ax.set_title(_z(dims[d]))
        ax.set_xlabel("σ from the centre")
        ax.set_ylabel(STANDARDISED, fontsize=8)
    fig.suptitle(f"One latent dimension swept from −3σ to +3σ per panel, the others fixed\n{words}")
    return fig


def plot_kl(run, x: torch.Tensor, conditions=None, **_) -> Figure:
    stats = latent_statistics(run.model, x, conditions=conditions)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * stats["latent_dim"] + 2), 3.6))
    active = np.asarray(stats["activity"]) > 0.01
    values = stats["kl_per_dim"] or stats["activity"]
    colours = np.where(active, "C0", "lightgray")
    ax.bar(range(len(values)), values, color=colours)
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("KL (nats)" if stats["kl_per_dim"] else "variance of the code")
    ax.set_title(
        f"{'KL per latent dimension' if stats['kl_per_dim'] else 'code activity'}: "
        f"{int(active.sum())} of {len(values)} active (blue)"
    )
    ax.set_xticks(range(len(values)), [_z(d) for d in range(len(values))], fontsize=8)
    return fig


def plot_compare(
    run, x: torch.Tensor, others: list | None = None, n: int = 12, conditions=None, **_
) -> Figure:
    runs = [run, *(others or [])]
    x = x[:n]
    conditions = _first(conditions, n)
    if run.kind != "image":
        raise VaekitError("plot compare: needs image data (use plot recon per run for tables)")
    fig, axes = plt.subplots(len(runs) + 1, 1, figsize=(n * 0.9, 1.2 * (len(runs) + 1) + 0.4))
    _show_images(axes[0], x.numpy(), n, "originals")
    for ax, other in zip(axes[1:], runs, strict=True):
        given = conditions if other.model.conditional else None
        name = f"{other.config.model.model} ({Path(other.path).name})"
        _show_images(ax, _reconstruct(other, x, given), n, name)
    fig.tight_layout()
    return fig


SCORE_NAMES = {
    "nll": "−log p(x), nats",
    "elbo": "−ELBO, nats",
    "recon": "−log p(x | z = E[z|x]), nats",
}


def plot_scores(
    run,
    x: torch.Tensor,
    scores: np.ndarray | None = None,
    by: str | None = None,
    anomalous: np.ndarray | None = None,
    threshold: float | None = None,
    n: int = 8,
    conditions=None,
    **_,
) -> Figure:
    """Anomaly scores: their histogram (normal and anomalous apart where ``anomalous`` says
    which), the threshold if one was set, and the most and least unusual examples — images
    as two rows, table rows as a table in the data's units. Without ``scores`` they are
    computed here: -log p(x) with K = 100 (the reconstruction term for the autoencoders)."""
    from vaekit.metrics.scores import anomaly_scores

    if scores is None:
        by = "nll" if run.model.probabilistic else "recon"
        scores = anomaly_scores(run.model, x, by=by, k=100, conditions=conditions)
    by = by or "nll"
    order = np.argsort(scores, kind="stable")
    n = min(n, len(scores) // 2) or 1
    unusual, usual = order[::-1][:n].copy(), order[:n].copy()
    fig = plt.figure(figsize=(9, 6.2), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1])
    ax = top.subplots()
    bins = np.histogram_bin_edges(scores, bins=40)
    if anomalous is None:
        ax.hist(scores, bins=bins, color="C0", alpha=0.8, label=f"{len(scores)} examples")
    else:
        anomalous = np.asarray(anomalous, dtype=bool)
        for flag, name, color in ((False, "normal", "C0"), (True, "anomalous", "C3")):
            part = scores[anomalous == flag]
            ax.hist(part, bins=bins, color=color, alpha=0.6, label=f"{name} ({len(part)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", ls="--", lw=1, label="threshold")
    ax.set_xlabel(f"anomaly score: {SCORE_NAMES[by]} (higher = more unusual)")
    ax.set_ylabel("examples")
    ax.legend()
    if run.kind == "image":
        axes = bottom.subplots(2, 1)
        _show_images(axes[0], x[unusual].numpy(), n, f"most unusual {n}")
        _show_images(axes[1], x[usual].numpy(), n, f"least unusual {n}")
    else:
        _score_table(bottom.subplots(), run, x, scores, unusual[: min(n, 5)], usual[: min(n, 5)])
    return fig


def _score_table(ax, run, x: torch.Tensor, scores, unusual, usual) -> None:
    """The most and least unusual rows with their scores, in the data's units."""
    rows = np.concatenate([unusual, usual])
    table = run.schema.decode(x[rows].numpy())
    names = table.names[:7]  # as many columns as stay readable
    cells = [
        [f"{'most' if i < len(unusual) else 'least'} #{r}", f"{scores[r]:.2f}"]
        + [_cell(table.column(name)[i]) for name in names]
        for i, r in enumerate(rows)
    ]
    ax.axis("off")
    shown = ax.table(cellText=cells, colLabels=["row", "score", *names], loc="center")
    shown.auto_set_font_size(False)
    shown.set_fontsize(8)
    ax.set_title(
        "most and least unusual rows" + (" (first 7 columns)" if len(table.names) > 7 else "")
    )


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    return (
        format_number(float(value))
        if isinstance(value, (int, float, np.number))
        else _short(str(value), 14)
    )


def _require_conditional(run, kind: str) -> None:
    if not run.model.conditional:
        raise VaekitError(
            f"plot {kind}: this run was trained without a condition (train with --condition)"
        )


def _condition_values(run, limit: int) -> tuple[str, list[str]]:
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
    run,
    x: torch.Tensor,
    n: int = 10,
    seed: int = 0,
    page: int = 1,
    conditions=None,
    sampler: str = "auto",
    **_,
) -> Figure:
    """Samples by condition, codes from ``sampler`` (as :meth:`Run.sample`): for images one
    row of ``n`` samples per class; for a table each feature column's distribution in held-out
    rows (solid) and generated rows (dashed) per condition value."""
    _require_conditional(run, "conditional")
    sampler = run.resolve_sampler(sampler)
    where = "the prior" if sampler == "prior" else "the class's code mixture"
    if run.kind == "image":
        name, values = _condition_values(run, 20)
        asked = [v for v in values for _ in range(n)]
        images = run.sample(
            len(asked), seed=seed, sampler=sampler, warn=False, model_space=True, condition=asked
        )
        fig, ax = plt.subplots(figsize=(n * 0.8 + 0.8, len(values) * 0.82 + 0.8))
        _show_images(ax, images, n)
        ax.set_yticks([(i + 0.5) * (images.shape[-2] + 1) for i in range(len(values))])
        ax.set_yticklabels([f"{name}={_short(v, 12)}" for v in values])
        ax.set_title(f"{n} samples per {name}, z from {where} (seed {seed}): one row per value")
        return fig
    name, values = _condition_values(run, 6)
    real = run.to_table(x.numpy(), conditions)
    fake_x = run.sample(
        len(x), seed=seed, sampler=sampler, warn=False, model_space=True, condition=conditions
    )
    fake = run.to_table(fake_x, conditions)
    spelled = np.array(spell(real.column(name), MISSING), dtype=object)
    shown, words = _page(len(run.schema.outputs), page)
    columns = run.schema.outputs[shown]
    fig, axes = _panels(len(columns))
    for column, ax in zip(columns, axes, strict=True):
        ax.set_title(_short(column.name, 30))
        for i, value in enumerate(values):
            mine = spelled == value
            if not mine.any():
                continue
            a, b = real.column(column.name)[mine], fake.column(column.name)[mine]
            if column.kind in NUMERIC:
                for values_, style in ((a, "-"), (b, "--")):
                    present = np.sort(values_[~np.isnan(values_)])
                    steps = np.arange(1, len(present) + 1) / max(1, len(present))
                    ax.step(present, steps, where="post", ls=style, color=f"C{i}", lw=1.2)
                ax.set_ylabel("share of rows ≤ value")
            elif column.kind != "constant":
                names, counts = _category_shares(column, [a, b])
                shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
                where = np.arange(len(names)) + (i - len(values) / 2) * 0.8 / len(values)
                width = 0.8 / len(values)
                ax.bar(where, shares[0], width, color=f"C{i}", alpha=0.9)
                ax.bar(where, shares[1], width, fill=False, edgecolor="black", ls="--")
                ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
                ax.set_ylabel("share")
    handles = [Patch(color=f"C{i}") for i in range(len(values))]
    fig.legend(
        handles, [f"{name}={v}" for v in values], loc="outside lower center", ncols=len(values)
    )
    fig.suptitle(
        "Held-out rows (solid lines, filled bars) and rows generated for their conditions "
        f"(dashed)\nby {name} — {words}"
    )
    return fig


def plot_restyle(run, x: torch.Tensor, n: int = 8, conditions=None, **_) -> Figure:
    """Same style, another label: each held-out image (left) encoded with its own class and
    decoded with every class in turn."""
    _require_conditional(run, "restyle")
    if run.kind != "image":
        raise VaekitError(
            "plot restyle: draws images; for a table use Run.restyle(rows, condition) in Python"
        )
    name, values = _condition_values(run, 20)
    shown = Dataset(x[:n], None, _first(conditions, n))
    columns = [shown.x.numpy()] + [run.restyle(shown, value, model_space=True) for value in values]
    images = np.stack(columns, axis=1).reshape(-1, *shown.x.shape[1:])  # row by row
    fig, ax = plt.subplots(figsize=((len(values) + 1) * 0.8 + 0.6, len(shown) * 0.8 + 1.0))
    _show_images(ax, images, len(values) + 1)
    size = images.shape[-1] + 1
    ax.set_xticks([(i + 0.5) * size for i in range(len(values) + 1)])
    ax.set_xticklabels(["original"] + [_short(v, 8) for v in values], fontsize=8)
    ax.set_xlabel(f"decoded with {name} =")
    ax.set_title("same style, another label: z from q(z | x, own label), decoded with each label")
    return fig


# ---- synthetic tables: real rows against generated ones, as vaekit evaluate scores them ----

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


def _require_table(run, kind: str, page: int) -> None:
    """Refuse an image run, or a page: these kinds draw every column of a table at once."""
    if run.kind != "table":
        raise VaekitError(
            f"plot {kind}: is for table runs (real against synthetic rows); this run was "
            "trained on images"
        )
    if page != 1:
        raise VaekitError(f"plot {kind}: draws every column on one figure; --page is not for it")


def synthetic_comparison(run, seed: int = 0, source: str | None = None):
    """What the ``marginals`` and ``pairs`` plots compare, as ``vaekit evaluate`` scores it:
    the real rows of ``source`` (None: the held-out split) in the data's units, synthetic rows
    drawn with ``seed`` (:func:`vaekit.metrics.synthetic.real_and_synthetic`), the scored columns
    both tables have (a label column the model does not generate is left out) and their
    :class:`~vaekit.metrics.fidelity.QualityScore`.
    Returns (real, fake, columns, score, words naming the real rows)."""
    from vaekit.metrics.fidelity import quality, scored_columns
    from vaekit.metrics.synthetic import real_and_synthetic

    _, real, fake = real_and_synthetic(run, source, seed)
    columns = [
        c
        for c in scored_columns(run.schema.columns)
        if c.name in real.names and c.name in fake.names
    ]
    if not columns:
        raise VaekitError("plot: the run generates no column to compare with real rows")
    words = "held-out" if source is None else run.split_label(source)
    return real, fake, columns, quality(real, fake, columns), words


def _figure_of(value: float) -> str:
    return "–" if value is None or np.isnan(value) else f"{value:.2f}"


def _share(value: float) -> str:
    """A share as a whole percentage, "<1%" rather than a misleading "0%" for a few rows."""
    return "<1%" if 0 < value < 0.005 else f"{value:.0%}"


def _number_bins(column, present: np.ndarray) -> tuple[np.ndarray, bool, bool]:
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


def _number_marginal(ax, column, a: np.ndarray, b: np.ndarray) -> bool:
    """Overlaid histograms of present real (C0) and synthetic (C1) values on shared bins:
    densities, or shares of rows per bin on a log axis (where a density would mislead).
    Returns whether the bins leave out the outer 1 % (then the end bins hold it)."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    present = np.concatenate([a, b])
    ax.set_xlabel(_short(column.name, 30))
    if not len(present):
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return False
    edges, clipped, log = _number_bins(column, present)
    for g, values in enumerate((a, b)):
        if len(values):
            values = np.clip(values, edges[0], edges[-1]) if clipped else values
            weights = np.full(len(values), 1 / len(values)) if log else None
            for histtype, alpha in (("stepfilled", 0.3), ("step", 1.0)):
                ax.hist(
                    values,
                    bins=edges,
                    weights=weights,
                    density=not log,
                    histtype=histtype,
                    color=f"C{g}",
                    alpha=alpha,
                    lw=1.3,
                )
    if log:
        ax.set_xscale("log")
        ax.set_xlabel(f"{_short(column.name, 30)} (log scale)")
        ax.set_ylabel("share of rows")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(5))  # long numbers stay apart
        ax.set_ylabel("density")
    return clipped


def _category_marginal(ax, column, a: np.ndarray, b: np.ndarray) -> None:
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
    _bars(ax, names, counts / np.maximum(counts.sum(1, keepdims=True), 1))
    ax.set_xlabel(_short(column.name, 30))
    ax.set_ylabel("share of rows")


def plot_marginals(run, seed: int = 0, page: int = 1, source: str | None = None, **_) -> Figure:
    """Each scored column's distribution in real rows (``source``, default the held-out split,
    in the data's units as read) and in as many synthetic rows (``run.sample``, ``seed``):
    density histograms on shared bins for numbers, category shares side by side otherwise.
    Each panel is titled with the column's shape score, the figure with the overall quality,
    as :func:`vaekit.metrics.fidelity.quality` (and ``vaekit evaluate``) scores them."""
    from vaekit.metrics.fidelity import is_number_column

    _require_table(run, "marginals", page)
    real, fake, columns, score, words = synthetic_comparison(run, seed, source)
    fig, axes = _panels(len(columns), width=3.4, height=2.9, per_row=4)
    clipped = False
    for column, ax in zip(columns, axes, strict=True):
        a, b = real.column(column.name), fake.column(column.name)
        shape = score.column_scores.get(column.name)
        title = f"{_short(column.name, 26)}  (shape {_figure_of(shape)})"
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
    fig.legend(*_bar_handles([f"real ({words})", SYNTHETIC]), loc="outside right upper")
    fig.suptitle(
        f"Real ({words}) and synthetic rows, column by column — {run.path.name}\n"
        f"quality {_figure_of(score.overall)} (column shapes {_figure_of(score.column_shapes)}, "
        f"pair trends {_figure_of(score.column_pair_trends)}; 1 = alike); "
        f"{len(real)} real and {len(fake)} synthetic rows, seed {seed}"
        + ("\nnumbers binned over their middle 99 %: the end bins hold the rest" if clipped else "")
    )
    return fig


def plot_pairs(run, seed: int = 0, page: int = 1, source: str | None = None, **_) -> Figure:
    """How each pair of columns goes together in real rows and in as many synthetic rows
    (:func:`vaekit.metrics.fidelity.association_matrix`: Pearson's r for two numbers, Cramér's
    V where a category is involved), side by side on one colour scale, and their absolute
    difference; dots mark the pairs the column-pair-trends score counts. Beyond PAIRS_IN_A_ROW
    columns the difference goes below the two maps, so each stays large enough to name every
    column."""
    from vaekit.metrics.fidelity import association_matrix

    _require_table(run, "pairs", page)
    real, fake, columns, score, words = synthetic_comparison(run, seed, source)
    names, real_matrix = association_matrix(real, columns)
    _, fake_matrix = association_matrix(fake, columns)
    count = len(names)
    size = 9 if count <= 12 else 7 if count <= 25 else 6.5
    labels = [_short(name, 16) for name in names]
    label = size / 72 * 0.65 * max(len(t) for t in labels)  # inches the rotated names take
    side = float(np.clip(0.2 * count + 0.4, 3.0, 9.0)) + label  # inches per heat map
    if count <= PAIRS_IN_A_ROW:
        fig, axes = plt.subplots(1, 3, figsize=(3 * side + 2.0, side + 1.2), layout="compressed")
    else:
        fig, grid_ = plt.subplots(
            2, 2, figsize=(2 * side + 1.5, 2 * side + 1.4), layout="compressed"
        )
        axes, reading = [grid_[0, 0], grid_[0, 1], grid_[1, 1]], grid_[1, 0]
        # The cell beside the difference map would stay empty: say there how to read the maps.
        reading.axis("off")
        reading.text(0.0, 0.95, HOW_TO_READ_PAIRS, va="top", fontsize=10, wrap=True)
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
            for (i, j), value in np.ndenumerate(matrix):
                if not np.isnan(value):
                    ink = "white" if (abs(value) > 0.6 if low < 0 else value < 0.5) else "black"
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=ink)
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


PLOTTERS: dict[str, Callable[..., Figure]] = {
    "curves": plot_curves,
    "recon": plot_recon,
    "samples": plot_samples,
    "latent": plot_latent,
    "manifold": plot_manifold,
    "interpolate": plot_interpolate,
    "traverse": plot_traverse,
    "kl": plot_kl,
    "compare": plot_compare,
    "scores": plot_scores,
    "conditional": plot_conditional,
    "restyle": plot_restyle,
    "marginals": plot_marginals,
    "pairs": plot_pairs,
}


def render(run, kind: str, data=None, **options) -> bytes:
    """One plot kind as PNG bytes; ``data`` is the held-out Dataset to draw from. ``options``
    go to the plotter, e.g. ``page=2`` for a table's second page of columns."""
    if kind not in PLOTTERS:
        raise VaekitError(f"plot: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    data = data if data is not None else run.data()
    fig = PLOTTERS[kind](run, x=data.x, labels=data.labels, conditions=data.conditions, **options)
    buffer = io.BytesIO()
    try:
        # A figure with a layout engine already fits its labels: "tight" would only draw it
        # a second time to measure (half the render time of the report's figures).
        tight = None if fig.get_layout_engine() is not None else "tight"
        fig.savefig(buffer, format="png", dpi=100, bbox_inches=tight)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def save_plot(run, kind: str, path: Path, data=None, **options) -> None:
    png = render(run, kind, data, **options)
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(png))
