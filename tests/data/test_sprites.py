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


def _full_grid(factors: np.ndarray) -> np.ndarray:
    """The renderer's equations tested at every pixel of the image, without its window."""
    values = sprites.factor_values()
    f = np.asarray(factors)
    scale = values["scale"][f[:, 1]][:, None, None]
    angle = values["orientation"][f[:, 2]][:, None, None]
    span = sprites.SIDE - 1 - 2 * sprites.EDGE
    cx = (sprites.EDGE + values["x"][f[:, 3]] * span)[:, None, None]
    cy = (sprites.EDGE + values["y"][f[:, 4]] * span)[:, None, None]
    rows, cols = np.mgrid[0 : sprites.SIDE, 0 : sprites.SIDE].astype(np.float64)
    dx, dy = cols[None] - cx, rows[None] - cy
    u = (np.cos(angle) * dx + np.sin(angle) * dy) / (sprites.HALF_SPAN * scale)
    v = (-np.sin(angle) * dx + np.cos(angle) * dy) / (sprites.HALF_SPAN * scale)
    tests = (sprites._square, sprites._ellipse, sprites._heart)
    inside = np.stack([tests[k](u[i], v[i]) for i, k in enumerate(f[:, 0])])
    return inside[:, None].astype(np.uint8)


def test_the_window_misses_no_pixel_of_the_largest_sprites_at_the_edges():
    corners = [(x, y) for x in (0, 1, 16, 30, 31) for y in (0, 1, 16, 30, 31)]
    factors = np.array(
        [[k, 5, o, x, y] for k in range(3) for o in (0, 5, 10, 25) for x, y in corners]
    )
    assert np.array_equal(sprites.render(factors), _full_grid(factors))


def test_sprites_as_data_carry_their_factors_and_a_subset_stays_in_memory():
    from vaekit.core.errors import VaekitError
    from vaekit.data.builtin import read

    raw = read("sprites", subset=50)
    assert raw.values.shape == (50, 1, 64, 64) and raw.factors.shape == (50, 5)
    assert np.array_equal(raw.labels, raw.factors[:, 0])  # the shape is the class label
    chosen = sprites.subset(50)
    assert np.array_equal(raw.factors, sprites.factors_of(chosen))
    assert np.array_equal(raw.values, sprites.render(raw.factors))
    assert list(raw.factor_values) == list(sprites.FACTORS)
    with pytest.raises(VaekitError, match="at most 60,000"):
        read("sprites", subset=70_000)
    with pytest.raises(VaekitError, match="only for the rendered sprites"):
        read("digits", subset=10)


def test_a_sprites_runs_subset_does_not_follow_it_to_another_file(tmp_path):
    """A run trained on 2,000 sprites scores a .npy of sprites like any file."""
    from vaekit.config.run import DataConfig
    from vaekit.data.splits import read_new

    np.save(tmp_path / "some.npy", sprites.render(sprites.factors_of(np.arange(5))))
    config = DataConfig(source="sprites", subset=2000)
    raw = read_new(str(tmp_path / "some.npy"), config)
    assert raw.values.shape == (5, 1, 64, 64) and raw.factors is None
