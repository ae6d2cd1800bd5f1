"""The pictures the seed notes explain VAEs with, drawn for the user's own model.

Each ``plot_*`` function returns a matplotlib Figure; :func:`render` draws one kind to PNG
bytes and :func:`save_plot` to a file. Image data is shown as images in its own shape (grey or
colour). Tables get one small panel per column, named and in the data's own units (categories
by name), a page of ``PAGE_SIZE`` columns at a time (the ``page`` option); ``marginals`` and
``pairs`` set a table run's real rows against as many synthetic ones, every column on one
figure. Everything runs headless (Agg backend).

- ``training``: curves, kl.
- ``reconstruction``: recon, compare, samples.
- ``latent``: latent, manifold, interpolate, traverse.
- ``anomaly``: scores.
- ``conditional``: conditional, restyle.
- ``synthetic``: marginals, pairs.
- ``registry``: every kind by name, drawn to PNG.
- ``common`` and ``columns``: what they share (mosaics and names; a table's columns on
  panels, category bars).
"""

from vaekit.views.plot_kinds import KINDS
from vaekit.views.plots.latent import manifold_grid
from vaekit.views.plots.registry import PLOTTERS, render, save_plot

__all__ = ["KINDS", "PLOTTERS", "manifold_grid", "render", "save_plot"]
