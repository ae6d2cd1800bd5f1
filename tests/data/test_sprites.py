"""The sprites renderer: every factor combination once, deterministic bits, and images whose
geometry follows their factors."""

import hashlib

import numpy as np
import pytest

from vaekit.data import sprites


def test_every_combination_has_one_index_and_back():
    assert sprites.COUNT == 737_280 == 3 * 6 * 40 * 32 * 32
    index = np.arange(0, sprites.COUNT, 4099)
    factors = sprites.factors_of(index)
    assert np.array_equal(sprites.index_of(factors), index)
    assert np.array_equal(sprites.factors_of([1]), [[0, 0, 0, 0, 1]])  # y is fastest
    with pytest.raises(ValueError, match="from 0 to 737279"):
        sprites.factors_of([sprites.COUNT])


def test_the_same_index_gives_the_same_bits():
    """Pinned: a change to the renderer changes every number measured on sprites."""
    images = sprites.render(sprites.factors_of(np.arange(0, sprites.COUNT, 7919)))
    assert images.dtype == np.uint8 and set(np.unique(images)) == {0, 1}
    digest = hashlib.sha256(np.packbits(images).tobytes()).hexdigest()
    assert digest == "a38ad1c354670ef0c34f3e7ba5fc0e4651f8aecd97d41486774cce81dd701dcb"


def _moments(image: np.ndarray) -> tuple[float, float, float]:
    rows, cols = np.nonzero(image[0])
    return float(len(rows)), float(cols.mean()), float(rows.mean())


def test_geometry_follows_the_factors():
    """A square's area goes with scale squared; x and y move the centre over pixels 12-52."""
    small, large = sprites.render(np.array([[0, 0, 0, 16, 16], [0, 5, 0, 16, 16]]))
    area_small, _, _ = _moments(small)
    area_large, _, _ = _moments(large)
    assert area_small == pytest.approx(21**2 / 4, rel=0.25)  # half-side 5 px: 10 x 10 to 11 x 11
    assert area_large / area_small == pytest.approx(4, rel=0.15)
    corners = sprites.render(np.array([[0, 5, 0, 0, 0], [0, 5, 0, 31, 31], [0, 5, 0, 31, 0]]))
    centres = [_moments(image)[1:] for image in corners]
    np.testing.assert_allclose(centres, [(12, 12), (51, 51), (51, 12)], atol=0.6)
    shapes = sprites.render(np.array([[k, 5, 0, 16, 16] for k in range(3)]))
    areas = [_moments(image)[0] for image in shapes]
    assert areas[0] > areas[2] > areas[1]  # square > heart > ellipse of semi-axes 1, 0.5
    turned = sprites.render(np.array([[1, 5, 0, 16, 16], [1, 5, 10, 16, 16]]))
    assert not np.array_equal(turned[0], turned[1])
    assert abs(_moments(turned[0])[0] - _moments(turned[1])[0]) < 0.05 * areas[1]
