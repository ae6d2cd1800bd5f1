"""What every plot module shares: the headless backend (importing this module selects
matplotlib's Agg), image mosaics, reconstructions, and the names plots give things."""

from __future__ import annotations

import matplotlib

# Headless: every figure becomes a PNG. Switching still works where another plot module
# imported pyplot first, as no figure exists at import time.
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch import Tensor  # noqa: E402

from vaekit.data.splits import Dataset  # noqa: E402
from vaekit.runs.run import Run  # noqa: E402
from vaekit.views.images import grid  # noqa: E402

MISSING = "(missing)"  # how a missing value is named: in category bars, maps and tables


def show_images(
    ax: plt.Axes, images: np.ndarray, columns: int, title: str = "", rows: list[str] | None = None
) -> None:
    """Draw (N, C, H, W) images in [0, 1] as one mosaic on ``ax``, titled, its rows named by
    ``rows`` (one name per row of tiles)."""
    mosaic = grid(np.clip(images, 0, 1), columns)
    picture = mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic
    ax.imshow(picture, cmap="gray", interpolation="nearest", vmin=0, vmax=255)
    ax.set_xticks([])
    tile = images.shape[-2] + 1  # a tile's height with the padding below it
    ax.set_yticks([(i + 0.5) * tile for i in range(len(rows or []))], rows or [])
    ax.set_title(title)


def encode(run: Run, x: Tensor, conditions: Tensor | None = None) -> np.ndarray:
    """Posterior means of model-space ``x`` (with its conditions for a conditional run)."""
    return run.encode(Dataset(x, None, conditions))[0]


def reconstruct(run: Run, x: Tensor, conditions: Tensor | None = None) -> np.ndarray:
    """Reconstructions of model-space ``x``, in model space."""
    return run.reconstruct(Dataset(x, None, conditions), model_space=True)


def first_conditions(conditions: Tensor | None, n: int) -> Tensor | None:
    """The conditions of the first ``n`` examples (None for an unconditional run)."""
    return None if conditions is None else conditions[:n]


def latent_name(d: int) -> str:
    """The name of latent dimension ``d`` in every plot: 0-based, as the codes' columns are
    numbered (z0, z1, ...)."""
    return f"z{d}"


def shorten(text: str, limit: int = 18) -> str:
    """``text`` in at most ``limit`` characters, cut in the middle: names that share a long
    start (``city=a long name 1``, ``... 2``) stay told apart by their ends."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]
