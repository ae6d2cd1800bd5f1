"""How a table's number column becomes one model-space number, and back.

Two maps, chosen per run with ``--scaling`` (``data.scaling``) and recorded per column:

- ``standard``: (value - mean) / std.
- ``quantile`` (the default for feature columns): the column's empirical distribution function
  carried to a standard normal, z = Phi^-1(F(x)), so every column's training marginal is
  N(0, 1) whatever its shape — skewed amounts, heavy tails, lumps of zeros — and a Gaussian
  decoder can match it. F is piecewise linear between up to :data:`KNOTS` quantiles of the
  training values (as scikit-learn's QuantileTransformer; a value shared by many rows maps to the
  middle of its step), squeezed into [1/2m, 1 - 1/2m] for m knots so the extremes stay finite,
  and continued linearly (slope 1/std) beyond the training range, so new values outside it keep
  their order and distance (an anomaly score still sees how far out they are). The way back
  is the exact inverse within the training range and stops at its ends.
"""

from __future__ import annotations

import numpy as np

KNOTS = 1000  # quantiles recorded per column: enough for a smooth F, small in config.json


def fit_quantiles(present: np.ndarray) -> list[float]:
    """The knots of a column's quantile map: its values at ``KNOTS`` evenly spaced
    probabilities (fewer for a short column), from the values present (no NaN)."""
    m = int(min(KNOTS, max(len(present), 2)))
    return [float(v) for v in np.quantile(present, np.linspace(0.0, 1.0, m))]


def _squeeze(m: int) -> tuple[float, float]:
    """The probability range [lo, 1 - lo] the m knots span after the squeeze."""
    lo = 0.5 / m
    return lo, 1.0 - 2 * lo


def to_normal(values: np.ndarray, knots: list[float], std: float) -> np.ndarray:
    """Values (float64, no NaN) -> normal scores z, by the quantile map with these knots."""
    x = np.asarray(values, dtype=np.float64)
    k = np.asarray(knots, dtype=np.float64)
    probs = np.linspace(0.0, 1.0, len(k))
    # Forward and backward interpolation averaged: a value equal to several knots (a tie)
    # lands in the middle of their probabilities, not at one end.
    u = 0.5 * (np.interp(x, k, probs) - np.interp(-x, -k[::-1], -probs[::-1]))
    lo, span = _squeeze(len(k))
    from scipy.special import ndtri  # here, not at import: it costs every command 0.3 s

    z = ndtri(lo + span * u)
    z_lo, z_hi = ndtri(lo), ndtri(lo + span)
    below, above = x < k[0], x > k[-1]
    z[below] = z_lo + (x[below] - k[0]) / std
    z[above] = z_hi + (x[above] - k[-1]) / std
    return z


def from_normal(z: np.ndarray, knots: list[float]) -> np.ndarray:
    """Normal scores -> values: the inverse of :func:`to_normal` within the training range;
    a score beyond the range's ends gives the end (as SDV keeps synthetic values within the
    real minimum and maximum), so a model never writes an amount below the smallest seen."""
    z = np.asarray(z, dtype=np.float64)
    k = np.asarray(knots, dtype=np.float64)
    lo, span = _squeeze(len(k))
    from scipy.special import ndtr

    u = np.clip((ndtr(z) - lo) / span, 0.0, 1.0)
    return np.interp(u, np.linspace(0.0, 1.0, len(k)), k)
