"""Anomaly scores: how they spread over held-out examples, and the most and least unusual
examples themselves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from vaekit.data.table import format_number
from vaekit.runs.run import Run
from vaekit.views.images import grid
from vaekit.views.plots.common import MISSING, shorten, show_images

SCORE_NAMES = {
    "nll": "−log p(x), nats",
    "elbo": "−ELBO, nats",
    "recon": "−log p(x | z = E[z|x]), nats",
}


def plot_scores(
    run: Run,
    x: Tensor,
    scores: np.ndarray | None = None,
    by: str | None = None,
    anomalous: np.ndarray | None = None,
    threshold: float | None = None,
    n: int = 8,
    conditions: Tensor | None = None,
    explained: np.ndarray | None = None,
    **_,
) -> plt.Figure:
    """Anomaly scores: their histogram (normal and anomalous apart where ``anomalous`` says
    which), the threshold if one was set, and the most and least unusual examples — images
    as two rows, table rows as a table in the data's units. ``explained`` (images: each
    example's nats per pixel, :meth:`vaekit.Run.explain`) adds a row: where the most unusual
    images are unusual. Without ``scores`` they are computed here: -log p(x) with K = 100
    (the reconstruction term for the autoencoders)."""
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
    ax.set(xlabel=f"anomaly score: {SCORE_NAMES[by]} (higher = more unusual)", ylabel="examples")
    ax.legend()
    if run.kind == "image":
        axes = bottom.subplots(3 if explained is not None else 2, 1)
        show_images(axes[0], x[unusual].numpy(), n, f"most unusual {n}")
        show_images(axes[-1], x[usual].numpy(), n, f"least unusual {n}")
        if explained is not None:
            _show_nats(axes[1], np.asarray(explained)[unusual], n)
    else:
        _score_table(bottom.subplots(), run, x, scores, unusual[: min(n, 5)], usual[: min(n, 5)])
    return fig


def _show_nats(ax: plt.Axes, maps: np.ndarray, columns: int) -> None:
    """Per-pixel nats of -log p(x|z) of the images above, summed over channels, on one colour
    scale from 0 to the largest (a pixel more likely than a density of 1 shows as 0)."""
    heat = np.clip(maps.sum(axis=1, keepdims=True), 0, None)
    top = float(heat.max()) or 1.0
    mosaic = grid(heat / top, columns)[..., 0].astype(np.float64)
    padding = grid(np.zeros_like(heat), columns)[..., 0] > 0  # the frames between tiles
    mosaic[padding] = np.nan  # drawn blank, not as the hottest colour
    shown = ax.imshow(mosaic, cmap="inferno", interpolation="nearest", vmin=0, vmax=255)
    ax.set(xticks=[], yticks=[], title="where they are unusual: −log p(x|z) per pixel")
    bar = ax.figure.colorbar(shown, ax=ax, fraction=0.03, pad=0.01)
    bar.set_ticks([0, 255], labels=["0", f"{top:.2f} nats"])


def _score_table(
    ax: plt.Axes, run: Run, x: Tensor, scores: np.ndarray, unusual: np.ndarray, usual: np.ndarray
) -> None:
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
    more = " (first 7 columns)" if len(table.names) > 7 else ""
    ax.set_title("most and least unusual rows" + more)


def _cell(value: object) -> str:
    """One value of a table row as the score table prints it."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    if isinstance(value, (int, float, np.number)):  # 6 digits: no float32 noise (11.55999997)
        return format_number(float(f"{float(value):.6g}"))
    return shorten(str(value), 14)
