"""PNG pictures of examples: image grids for image data, heat maps for tabular data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vaekit.files import atomic_write


def grid(images: np.ndarray, columns: int, pad: int = 1) -> np.ndarray:
    """(N, C, H, W) values in [0, 1] -> one (rows*H', columns*W', C) uint8 mosaic."""
    n, c, h, w = images.shape
    rows = math.ceil(n / columns)
    canvas = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c), dtype=np.float32)
    for i, img in enumerate(np.clip(images, 0, 1)):
        r, col = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        canvas[y : y + h, x : x + w] = img.transpose(1, 2, 0)
    return (canvas * 255 + 0.5).astype(np.uint8)


def save_image_grid(
    images: np.ndarray, path: Path, columns: int | None = None, min_tile: int = 32
) -> None:
    """Save a grid of (N, C, H, W) images in [0, 1]; small images are scaled up (nearest)."""
    from PIL import Image

    columns = columns or math.ceil(math.sqrt(len(images)))
    mosaic = grid(images, columns)
    scale = max(1, math.ceil(min_tile / images.shape[-1]))
    picture = Image.fromarray(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic)
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
        )
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))


def save_table_heatmap(blocks: list[np.ndarray], titles: list[str], path: Path) -> None:
    """Tabular examples as heat maps (rows = examples, columns = features), one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo = min(float(b.min()) for b in blocks)
    hi = max(float(b.max()) for b in blocks)
    fig, axes = plt.subplots(1, len(blocks), figsize=(4 * len(blocks), 4), squeeze=False)
    for ax, block, title in zip(axes[0], blocks, titles, strict=True):
        shown = ax.imshow(
            block.reshape(len(block), -1),
            aspect="auto",
            cmap="viridis",
            vmin=lo,
            vmax=hi,
            interpolation="nearest",
        )
        ax.set_title(title)
        ax.set_xlabel("feature")
        ax.set_ylabel("example")
    fig.colorbar(shown, ax=axes[0].tolist(), shrink=0.8, label="standardised value")
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def save_examples(rows: list[np.ndarray], titles: list[str], kind: str, path: Path) -> None:
    """Save blocks of examples (e.g. originals, then reconstructions) as one picture.

    Image data: blocks stacked top to bottom in one grid, each block starting a new grid row;
    tabular data: one heat map per block.
    """
    if kind != "image":
        save_table_heatmap(rows, titles, path)
        return
    columns = min(len(rows[0]), 16)
    blocks = []
    for block in rows:
        short = -len(block) % columns  # blank tiles so the next block starts a new row
        blocks += [block, np.ones((short, *block.shape[1:]), dtype=block.dtype)]
    save_image_grid(np.concatenate(blocks), path, columns=columns)
