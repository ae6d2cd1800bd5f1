"""Which code dimension carries which factor of variation: the mutual information between
each dimension of the held-out codes and each factor, as a share of the factor's entropy
(data with factors only: sprites, or images with a ``--factors`` table)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from vaekit.core.errors import VaekitError
from vaekit.metrics.disentanglement import information_shares, mutual_information_matrix
from vaekit.runs.run import Run
from vaekit.views.plots.common import encode, latent_name

NO_FACTORS = (
    "plot {kind}: needs data with factors of variation (--data sprites, or images trained "
    "with --factors FILE.csv)"
)


def factor_shares(codes: np.ndarray, factors: Tensor) -> np.ndarray:
    """(dimensions, factors): the share of each factor's entropy each code dimension holds."""
    values = factors.numpy()
    return information_shares(mutual_information_matrix(codes, values), values)


def plot_factors(
    run: Run,
    x: Tensor,
    factors: Tensor | None = None,
    conditions: Tensor | None = None,
    **_,
) -> plt.Figure:
    """The dimension x factor mutual-information matrix as a heat map, each cell written out."""
    if factors is None or not run.schema.factors:
        raise VaekitError(NO_FACTORS.format(kind="factors"))
    shares = factor_shares(encode(run, x, conditions), factors)
    names = list(run.schema.factors)
    dims = shares.shape[0]
    fig, ax = plt.subplots(figsize=(1.1 * len(names) + 2.2, 0.42 * dims + 1.6))
    image = ax.imshow(shares, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for d in range(dims):
        for k in range(len(names)):
            colour = "black" if shares[d, k] > 0.6 else "white"
            ax.text(k, d, f"{shares[d, k]:.2f}", ha="center", va="center", color=colour, fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(dims), [latent_name(d) for d in range(dims)])
    ax.set(xlabel="factor of variation", ylabel="code dimension (posterior mean)")
    ax.set_title(f"I(dimension; factor) / H(factor), {len(x):,} held-out examples", fontsize=10)
    fig.colorbar(image, ax=ax, label="share of the factor's entropy")
    fig.tight_layout()
    return fig
