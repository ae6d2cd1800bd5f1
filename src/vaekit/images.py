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


def save_table_heatmap(
    blocks: list[np.ndarray], titles: list[str], schema, path: Path, page: int = 40
) -> None:
    """Table rows as heat maps in model space (rows = examples, columns named by the schema:
    standardised numbers, one-hot categories), one panel per block; wide tables are shown
    ``page`` model columns per row of panels, so every column is there and labels never
    overlap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [label for _, label in schema.model_columns()]
    pages = [range(s, min(s + page, len(names))) for s in range(0, len(names), page)] or [range(0)]
    lo = min(float(b.min()) for b in blocks)
    hi = max(float(b.max()) for b in blocks)
    fig, axes = plt.subplots(
        len(pages),
        len(blocks),
        figsize=(max(4, 0.28 * min(page, len(names)) + 1.5) * len(blocks), 4.2 * len(pages)),
        squeeze=False,
    )
    for row, cols in enumerate(pages):
        for ax, block, title in zip(axes[row], blocks, titles, strict=True):
            shown = ax.imshow(
                block.reshape(len(block), -1)[:, cols.start : cols.stop],
                aspect="auto",
                cmap="viridis",
                vmin=lo,
                vmax=hi,
                interpolation="nearest",
            )
            ax.set_title(
                title
                if len(pages) == 1
                else f"{title} (columns {cols.start + 1}–{cols.stop} of {len(names)})"
            )
            ax.set_xticks(range(len(cols)))
            ax.set_xticklabels([names[i] for i in cols], rotation=90, fontsize=7)
            ax.set_ylabel("row")
    fig.colorbar(
        shown,
        ax=axes.ravel().tolist(),
        shrink=0.8,
        label="model space (standardised numbers, one-hot categories)",
    )
    atomic_write(
        Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    )
    plt.close(fig)


def save_examples(rows: list[np.ndarray], titles: list[str], schema, path: Path) -> None:
    """Save blocks of model-space examples (e.g. originals, then reconstructions) as one picture.

    Image data: blocks stacked top to bottom in one grid, each block starting a new grid row;
    table data: one heat map per block, columns named.
    """
    if schema.kind != "image":
        save_table_heatmap(rows, titles, schema, path)
        return
    columns = min(len(rows[0]), 16)
    blocks = []
    for block in rows:
        short = -len(block) % columns  # blank tiles so the next block starts a new row
        blocks += [block, np.ones((short, *block.shape[1:]), dtype=block.dtype)]
    save_image_grid(np.concatenate(blocks), path, columns=columns)
