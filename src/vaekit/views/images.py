"""PNG pictures of examples: image grids for image data, heat maps for tabular data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vaekit.core.files import atomic_write
from vaekit.data.splits import DataSplits
from vaekit.models.words import prior_words
from vaekit.runs.run import Run


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


def _scaled(mosaic: np.ndarray, scale: int):
    """A (H, W, C) uint8 mosaic as a PIL picture, enlarged ``scale`` times (nearest)."""
    from PIL import Image

    picture = Image.fromarray(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic)
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
        )
    return picture


def save_image_grid(
    images: np.ndarray, path: Path, columns: int | None = None, min_tile: int = 32
) -> None:
    """Save a grid of (N, C, H, W) images in [0, 1]; small images are scaled up (nearest)."""
    columns = columns or math.ceil(math.sqrt(len(images)))
    picture = _scaled(grid(images, columns), max(1, math.ceil(min_tile / images.shape[-1])))
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))


def save_table_heatmap(
    blocks: list[np.ndarray],
    titles: list[str],
    schema,
    path: Path,
    page: int = 40,
    heading: str | None = None,
) -> None:
    """Table rows as heat maps in model space (rows = examples, columns named by the schema:
    standardised numbers, one-hot categories), one panel per block, titled; wide tables are
    shown ``page`` model columns per row of panels, so every column is there and labels never
    overlap. ``heading`` (e.g. the run and seed) goes above them all."""
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
    if heading:
        fig.suptitle(heading)
    atomic_write(
        Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    )
    plt.close(fig)


def _font(size: int, bold: bool = False):
    """DejaVu Sans (the font matplotlib ships and draws the plots with) at ``size`` pixels;
    Pillow's own font where that file cannot be read."""
    from PIL import ImageFont

    try:
        import matplotlib

        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf" / name), size)
    except (ImportError, OSError):
        return ImageFont.load_default()


def labelled_grid(
    blocks: list[np.ndarray],
    titles: list[str],
    columns: int,
    heading: str | None = None,
    min_tile: int = 32,
):
    """Blocks of (N, C, H, W) images in [0, 1] stacked top to bottom as one PIL picture, each
    block a grid of ``columns`` under a line with its title, ``heading`` (if given) in bold
    above them all. Small images are scaled up (nearest) to at least ``min_tile`` pixels; the
    picture is widened (white) where a line of text is wider than the grids."""
    from PIL import Image, ImageDraw

    scale = max(1, math.ceil(min_tile / blocks[0].shape[-1]))
    pictures = [_scaled(grid(block, columns), scale) for block in blocks]
    size = max(12, min(22, pictures[0].width // 36))  # readable, and in proportion
    margin = max(4, size // 3)
    top = [(heading, _font(size + 2, bold=True))] if heading else []
    lines = [(title, _font(size)) for title in titles]

    def height(font) -> int:  # of a line of text, its margins included
        return font.getbbox("Ag")[3] + 2 * margin

    widths = [round(font.getlength(text)) + 2 * margin for text, font in top + lines]
    colour = pictures[0].mode == "RGB"
    white, black = ((255, 255, 255), (0, 0, 0)) if colour else (255, 0)
    canvas = Image.new(
        "RGB" if colour else "L",
        (
            max([p.width for p in pictures] + widths),
            sum(height(font) for _, font in top + lines) + sum(p.height for p in pictures),
        ),
        white,
    )
    draw = ImageDraw.Draw(canvas)
    y = 0
    for text, font in top:
        draw.text((margin, y + margin), text, fill=black, font=font)
        y += height(font)
    for picture, (title, font) in zip(pictures, lines, strict=True):
        draw.text((margin, y + margin), title, fill=black, font=font)
        y += height(font)
        canvas.paste(picture, (0, y))
        y += picture.height
    return canvas


def save_examples(
    rows: list[np.ndarray],
    titles: list[str],
    schema,
    path: Path,
    *,
    heading: str | None = None,
) -> None:
    """Save blocks of model-space examples (e.g. originals, then reconstructions) as one picture,
    each block under its title, ``heading`` (e.g. the run and seed) above them all.

    Image data: blocks stacked top to bottom, each a grid of up to 16 columns under a line with
    its title; table data: one heat map per block, titled, columns named.
    """
    if schema.kind != "image":
        save_table_heatmap(rows, titles, schema, path, heading=heading)
        return
    picture = labelled_grid(rows, titles, min(len(rows[0]), 16), heading)
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))


def write_run_pictures(run: Run, splits: DataSplits, n: int = 32, seed: int = 0) -> None:
    """reconstructions.png (originals above, reconstructions below), samples.png (prior) and
    samples-gmm.png (codes from the mixture fitted to training codes), each block titled and
    each picture headed with the run's folder name (and the samples' seed)."""
    shown = splits.val.take(slice(0, n))
    originals = shown.x
    recon = run.reconstruct(shown, model_space=True)
    save_examples(
        [originals.numpy(), recon],
        ["original (validation)", "reconstruction"],
        splits.schema,
        run.path / "reconstructions.png",
        heading=f"run {run.path.name}",
    )
    count = 64 if splits.kind == "image" else n
    for sampler, name, title in (
        ("prior", "samples.png", f"prior samples: z ~ {prior_words(run.config.model)}"),
        ("gmm", "samples-gmm.png", "gmm samples: z from the mixture fitted to training codes"),
    ):
        images = run.sample(count, seed=seed, sampler=sampler, warn=False, model_space=True)
        save_examples(
            [images],
            [title],
            splits.schema,
            run.path / name,
            heading=f"run {run.path.name}, seed {seed}",
        )
