"""Every plot kind by name (:data:`PLOTTERS`), and one kind drawn to PNG bytes or a file."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt

from vaekit.core.errors import VaekitError
from vaekit.core.files import atomic_write
from vaekit.data.splits import Dataset
from vaekit.runs.run import Run
from vaekit.views.plot_kinds import KINDS
from vaekit.views.plots.anomaly import plot_scores
from vaekit.views.plots.conditional import plot_conditional, plot_restyle
from vaekit.views.plots.factors import plot_factors
from vaekit.views.plots.latent import plot_interpolate, plot_latent, plot_manifold, plot_traverse
from vaekit.views.plots.reconstruction import plot_compare, plot_recon, plot_samples
from vaekit.views.plots.synthetic import plot_marginals, plot_pairs
from vaekit.views.plots.training import plot_curves, plot_kl

PLOTTERS: dict[str, Callable[..., plt.Figure]] = {
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
    "factors": plot_factors,
}


def render(run: Run, kind: str, data: Dataset | None = None, **options) -> bytes:
    """One plot kind as PNG bytes; ``data`` is the held-out Dataset to draw from. ``options``
    go to the plotter, e.g. ``page=2`` for a table's second page of columns."""
    if kind not in PLOTTERS:
        raise VaekitError(f"plot: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    data = data if data is not None else run.data()
    fig = PLOTTERS[kind](
        run,
        x=data.x,
        labels=data.labels,
        conditions=data.conditions,
        factors=data.factors,
        **options,
    )
    buffer = io.BytesIO()
    try:
        # A figure with a layout engine already fits its labels: "tight" would only draw it
        # a second time to measure (half the render time of the report's figures).
        tight = None if fig.get_layout_engine() is not None else "tight"
        fig.savefig(buffer, format="png", dpi=100, bbox_inches=tight)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def save_plot(run: Run, kind: str, path: Path, data: Dataset | None = None, **options) -> None:
    """One plot kind written to ``path`` as PNG (atomically: never half a file)."""
    png = render(run, kind, data, **options)
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(png))
