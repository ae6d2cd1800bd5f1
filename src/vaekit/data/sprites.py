"""Sprites with known factors of variation: vaekit's own renderer of dSprites' design
(Matthey et al. 2017), for measuring disentanglement without a download.

Five factors, every combination once: 3 shapes (square, ellipse, heart) x 6 scales (0.5 to 1)
x 40 orientations (0 to 2 pi, both ends included as in dSprites) x 32 x-positions x 32
y-positions = 737,280 binary 64 x 64 images. Image ``i`` is the combination whose factor
indices, read in that order as a mixed-radix number, are ``i`` (the last factor fastest, as
dSprites orders its file). Rendering is deterministic — the same index gives the same bits on
every machine — and done on the fly, so no file is stored and memory holds only what is asked
for (737,280 images would be 3 GB as bytes).

How it differs from dSprites: the shapes are drawn from their equations at pixel centres (a
square of half-side 1, an ellipse of semi-axes 1 and 0.5, the heart curve
(x^2 + y^2 - 1)^3 <= x^2 y^3 shrunk to the same size), with no anti-aliasing; the sprite at
scale 1 spans 20 pixels and its centre moves over pixels 12 to 52 on each axis; the heart's
and the ellipse's symmetries make some orientations look alike, as in dSprites.
"""

from __future__ import annotations

import numpy as np

FACTORS = ("shape", "scale", "orientation", "x", "y")
SIZES = (3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
SIDE = 64
COUNT = int(np.prod(SIZES))  # 737,280
HALF_SPAN = 10.0  # pixels from the centre to the edge of a scale-1 sprite
EDGE = 12.0  # the first and last positions of the centre: pixels 12 and 52
WINDOW = 34  # pixels rendered around a centre: 2 x sqrt(2) x HALF_SPAN (28.3), and a margin


def factor_values() -> dict[str, np.ndarray]:
    """Each factor's values, in index order: shape index, scale, angle (radians), x and y
    of the centre in [0, 1]."""
    return {
        "shape": np.arange(3, dtype=np.float64),
        "scale": np.linspace(0.5, 1.0, 6),
        "orientation": np.linspace(0.0, 2 * np.pi, 40),
        "x": np.linspace(0.0, 1.0, 32),
        "y": np.linspace(0.0, 1.0, 32),
    }


def factor_names() -> dict[str, list[str]]:
    """Each factor's values as people read them, in index order (a run's schema records
    these): shape names, scales, angles in degrees, and x, y of the centre in [0, 1]."""
    values = factor_values()
    return {
        "shape": list(SHAPES),
        "scale": [f"{v:.1f}" for v in values["scale"]],
        "orientation": [f"{np.degrees(v):.0f}°" for v in values["orientation"]],
        "x": [f"{v:.2f}" for v in values["x"]],
        "y": [f"{v:.2f}" for v in values["y"]],
    }


def subset(count: int, seed: int = 0) -> np.ndarray:
    """``count`` image indices drawn without replacement by a seeded generator, sorted: the
    same subset on every machine."""
    if not 1 <= count <= COUNT:
        raise ValueError(f"a subset of 1 to {COUNT:,} sprites")
    return np.sort(np.random.default_rng(seed).choice(COUNT, count, replace=False))


def render_indices(index: np.ndarray, block: int = 2048) -> np.ndarray:
    """Images (N, 1, 64, 64) uint8 0/1 of image indices, rendered a block at a time (the
    renderer's float grids are 64 x 64 doubles per image)."""
    out = np.empty((len(index), 1, SIDE, SIDE), dtype=np.uint8)
    for start in range(0, len(index), block):
        out[start : start + block] = render(factors_of(index[start : start + block]))
    return out


def factors_of(index: np.ndarray) -> np.ndarray:
    """Factor indices (N, 5) of images ``index`` (N,)."""
    index = np.asarray(index, dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= COUNT):
        raise ValueError(f"sprite indices run from 0 to {COUNT - 1}")
    return np.stack(np.unravel_index(index, SIZES), axis=1)


def index_of(factors: np.ndarray) -> np.ndarray:
    """Image indices (N,) of factor indices (N, 5): the inverse of :func:`factors_of`."""
    factors = np.asarray(factors, dtype=np.int64)
    return np.ravel_multi_index(tuple(factors.T), SIZES)


def render(factors: np.ndarray) -> np.ndarray:
    """Binary images (N, 1, 64, 64) as uint8 0/1 for factor indices (N, 5). Only a window
    of ``WINDOW`` pixels around each centre is tested (every shape lies within sqrt(2) sprite
    half-spans of it); the pixels outside stay 0."""
    factors = np.asarray(factors, dtype=np.int64)
    values = factor_values()
    scale = values["scale"][factors[:, 1]][:, None, None]
    angle = values["orientation"][factors[:, 2]][:, None, None]
    span = SIDE - 1 - 2 * EDGE
    cx = (EDGE + values["x"][factors[:, 3]] * span)[:, None, None]
    cy = (EDGE + values["y"][factors[:, 4]] * span)[:, None, None]
    # each image's window: rows and columns top..top + WINDOW, clipped into the image
    top = np.clip(np.floor(cy) - WINDOW // 2, 0, SIDE - WINDOW).astype(np.int64)
    left = np.clip(np.floor(cx) - WINDOW // 2, 0, SIDE - WINDOW).astype(np.int64)
    rows = top + np.arange(WINDOW)[None, :, None]  # (N, W, 1) pixel indices
    cols = left + np.arange(WINDOW)[None, None, :]  # (N, 1, W)
    # pixel centres in the sprite's own frame: undo the translation, rotation and scale
    dx, dy = cols - cx, rows - cy
    cos, sin = np.cos(angle), np.sin(angle)
    u = (cos * dx + sin * dy) / (HALF_SPAN * scale)
    v = (-sin * dx + cos * dy) / (HALF_SPAN * scale)
    inside = np.zeros(u.shape, dtype=bool)
    shape = factors[:, 0]
    for k, test in enumerate((_square, _ellipse, _heart)):
        chosen = shape == k
        if chosen.any():
            inside[chosen] = test(u[chosen], v[chosen])
    out = np.zeros((len(factors), 1, SIDE, SIDE), dtype=np.uint8)
    out[np.arange(len(factors))[:, None, None], 0, rows, cols] = inside
    return out


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (np.abs(u) <= 1) & (np.abs(v) <= 1)


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u**2 + (v / 0.5) ** 2 <= 1


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # the curve spans x in [-1.14, 1.14] and y in [-1, 1.25]: shrink it into the unit box,
    # point up (image rows grow downwards)
    x, y = u * 1.14, -v * 1.14 + 0.125
    return (x**2 + y**2 - 1) ** 3 <= x**2 * y**3
