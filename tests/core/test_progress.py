"""Progress on long work: a bar on a terminal (batches of log p(x), the closest-row search, the
report's pictures), nothing when stderr is a file or under --quiet."""

import io
import sys

import numpy as np
import pytest
import torch

from vaekit.config.model import ModelConfig
from vaekit.core import progress
from vaekit.metrics.likelihood import importance_log_likelihood
from vaekit.models.registry import build_model


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(latent_dim=2, hidden=[8], input_shape=[1, 4, 4]))


@pytest.mark.parametrize(
    ("stream", "quiet", "shown"),
    [(Terminal, False, True), (io.StringIO, False, False), (Terminal, True, False)],
)
def test_the_likelihood_shows_its_batches_on_a_terminal_only(
    model, monkeypatch, stream, quiet, shown
):
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(progress, "QUIET", quiet)
    x = torch.rand(50, 1, 4, 4).round()
    with_bar = importance_log_likelihood(model, x, k=5, batch_size=10)
    assert ("log p(x), K = 5" in err.getvalue() and "/5" in err.getvalue()) == shown
    monkeypatch.setattr(progress, "QUIET", True)
    assert torch.equal(with_bar, importance_log_likelihood(model, x, k=5, batch_size=10))


def test_the_closest_row_search_shows_its_chunks(monkeypatch):
    from vaekit.data.schema import Column
    from vaekit.data.table import Table
    from vaekit.metrics.synthetic import closest_distances

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(progress, "QUIET", False)
    values = np.arange(40, dtype=float)
    table = Table(["a"], [values], "t", 0)
    column = Column("a", "continuous", mean=20.0, std=10.0, lo=0.0, hi=39.0)
    distances = closest_distances(table, table, [column], chunk_cells=400)
    assert np.all(distances == 0) and "closest real rows" in err.getvalue()
