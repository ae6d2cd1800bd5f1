"""Grey-level image cases for the anomaly benchmark, built from MNIST by the benchmark itself.

In the manner of Larochelle et al. (2007)'s MNIST variants, each digit is laid over a
background drawn per image from a seeded generator (the digit's stroke wins where it is the
brighter: max(digit, background)):

- ``mnist``: MNIST itself on its 256 grey levels (no background, not binarised);
- ``mnist-bg-random``: uniform noise of a random contrast (0.2-1) under every pixel
  (background-random, with varied contrast);
- ``mnist-bg-texture``: a smooth random texture — low-pass filtered noise plus a grating of
  random angle and frequency — at a random offset and contrast (0.2-0.8) (standing in for
  background-image: no natural photographs ship in the registry packages this project uses).

The images stay 8-bit (uint8, 28 x 28), so vaekit's schema records 256 levels.

    python benchmarks/grey_images.py --show 16 --out grey.png   # a picture of each case
"""

from __future__ import annotations

import argparse

import numpy as np

CASES = ("mnist", "mnist-bg-random", "mnist-bg-texture")


def with_background(digits: np.ndarray, case: str, seed: int) -> np.ndarray:
    """``digits`` (N, 28, 28) uint8 over the ``case``'s backgrounds, one per image, drawn from
    ``seed``; uint8 again."""
    if case == "mnist":
        return digits.copy()
    rng = np.random.default_rng(seed)
    n, h, w = digits.shape
    if case == "mnist-bg-random":
        contrast = rng.uniform(0.2, 1.0, (n, 1, 1))
        background = rng.random((n, h, w)) * contrast
    elif case == "mnist-bg-texture":
        background = _textures(rng, n, h, w)
    else:
        raise ValueError(f"unknown case {case!r}: one of {', '.join(CASES)}")
    pixels = np.maximum(digits / 255.0, background)
    return np.round(pixels * 255).astype(np.uint8)


def _textures(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Smooth textures in [0, 1]: low-pass noise (a random cut-off) plus a grating, scaled to
    a random contrast at a random offset."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    radius = np.sqrt(fy**2 + fx**2)
    cutoff = rng.uniform(0.04, 0.15, (n, 1, 1))
    spectrum = np.fft.rfft2(rng.standard_normal((n, h, w))) * np.exp(-((radius / cutoff) ** 2))
    noise = np.fft.irfft2(spectrum, s=(h, w))
    angle = rng.uniform(0, np.pi, (n, 1, 1))
    frequency = rng.uniform(0.05, 0.25, (n, 1, 1))
    yy, xx = np.mgrid[0:h, 0:w]
    grating = np.sin(2 * np.pi * frequency * (xx * np.cos(angle) + yy * np.sin(angle)))
    texture = (
        noise / noise.std(axis=(1, 2), keepdims=True) + rng.uniform(0, 1.5, (n, 1, 1)) * grating
    )
    low = texture.min(axis=(1, 2), keepdims=True)
    high = texture.max(axis=(1, 2), keepdims=True)
    unit = (texture - low) / (high - low)
    contrast = rng.uniform(0.2, 0.8, (n, 1, 1))
    offset = rng.uniform(0, 1, (n, 1, 1)) * (1 - contrast)
    return offset + contrast * unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", type=int, default=12, help="images per case")
    parser.add_argument("--out", default="grey-images.png")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vaekit.data.builtin import read_mnist

    digits = read_mnist().values[: args.show, 0]
    fig, axes = plt.subplots(len(CASES), args.show, figsize=(args.show * 0.8, len(CASES) * 0.95))
    for row, case in zip(axes, CASES, strict=True):
        images = with_background(digits, case, seed=0)
        for ax, image in zip(row, images, strict=True):
            ax.imshow(image, cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(case, rotation=0, ha="right", va="center", fontsize=8)
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
