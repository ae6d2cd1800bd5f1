"""Explanations: the recon score split into its values' terms — equal to torch.distributions'
per-value log-probabilities, summing to the score, and pointing at a corrupted column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import vaekit
from vaekit.data.builtin import PENGUINS
from vaekit.models.distributions import Bernoulli, ColumnLayout, Gaussian, PerColumn


def test_per_value_terms_equal_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    logits, x = torch.randn(4, 1, 3, 3, generator=gen), torch.rand(4, 1, 3, 3, generator=gen)
    bernoulli = torch.distributions.Bernoulli(logits=logits, validate_args=False)  # x in [0, 1]
    want = bernoulli.log_prob(x).flatten(1)
    assert torch.allclose(Bernoulli(logits, 3).log_prob_values(x), want, atol=1e-6)
    mean, log_sigma = torch.randn(4, 5, generator=gen), torch.randn(4, 5, generator=gen)
    y = torch.randn(4, 5, generator=gen)
    want = torch.distributions.Normal(mean, log_sigma.exp()).log_prob(y)
    assert torch.allclose(Gaussian(mean, log_sigma, 1).log_prob_values(y), want, atol=1e-6)


def test_per_column_terms_sum_to_the_row_and_mask_missing_values():
    layout = ColumnLayout(["gaussian", "missing", "categorical:3", "bernoulli"])
    params = torch.randn(2, 2, 6, generator=torch.Generator().manual_seed(1))
    x = torch.tensor([[0.3, 0.0, 0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
    likelihood = PerColumn(params, layout, 0.01)
    terms = likelihood.log_prob_values(x)
    assert torch.allclose(terms.sum(-1), likelihood.log_prob(x))
    assert terms[1, 0] == 0  # a missing value adds nothing; its indicator says how likely
    probs = torch.softmax(params[:, 0, 2:5], -1)
    assert torch.allclose(terms[:, 2:5].sum(-1), torch.log((probs * x[:, 2:5]).sum(-1)))


@pytest.fixture(scope="module")
def penguins_run(tmp_path_factory):
    frame = pd.read_csv(PENGUINS).dropna().reset_index(drop=True)
    out = tmp_path_factory.mktemp("explain") / "p"
    run = vaekit.fit(frame, out, epochs=60, hidden=[64], latent_dim=4, seed=0)
    return run, frame


def test_a_tables_explanation_sums_to_its_recon_score(penguins_run):
    run, frame = penguins_run
    rows = frame.sample(30, random_state=1)
    explained = run.explain(rows)
    assert list(explained.index) == list(rows.index)
    assert list(explained.columns) == list(frame.columns)
    np.testing.assert_allclose(explained.sum(axis=1), run.score(rows, by="recon"), rtol=1e-6)


def test_the_top_column_is_the_corrupted_one(penguins_run):
    """A held-out value moved 6 standard deviations, or a category swapped for another: the
    column the explanation ranks first is the one changed (PyOD's ECOD test protocol)."""
    run, frame = penguins_run
    rng = np.random.default_rng(0)
    numbers = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    hits = []
    for i in rng.choice(len(frame), 40, replace=False):
        row = frame.iloc[[i]].copy()
        column = numbers[i % 4] if i % 5 else "island"
        if column == "island":
            others = [v for v in ("Biscoe", "Dream", "Torgersen") if v != row[column].iloc[0]]
            row[column] = others[0]
        else:
            row[column] += 6 * frame[column].std() * (1 if i % 2 else -1)
        hits.append(run.explain(row).iloc[0].idxmax() == column)
    assert np.mean(hits) >= 0.8


def test_an_image_explanation_is_per_pixel_and_sums_to_the_score(trained_run):
    run = vaekit.load(trained_run)
    data = run.data("val").take(slice(0, 16))
    explained = run.explain(data)
    assert explained.shape == (16, *run.model.input_shape)
    np.testing.assert_allclose(
        explained.reshape(16, -1).sum(1), run.score(data, by="recon"), rtol=1e-5
    )


def test_the_score_plot_shows_where_the_most_unusual_images_are_unusual(trained_run):
    from vaekit.views.plots.anomaly import plot_scores

    run = vaekit.load(trained_run)
    data = run.data("val").take(slice(0, 40))
    figure = plot_scores(run, data.x, explained=run.explain(data))
    titles = [ax.get_title() for sub in figure.subfigs for ax in sub.axes]
    assert "where they are unusual: −log p(x|z) per pixel" in titles
    assert len(figure.subfigs[1].axes) == 4  # three rows of images and the colour bar


def test_over_typical_is_each_part_minus_its_median_over_the_training_rows(penguins_run):
    run, frame = penguins_run
    rows = frame.sample(10, random_state=2)
    typical = run.explain(rows) - run.explain(rows, over_typical=True)
    train_rows = run.table("train")
    from vaekit.data.table import to_dataframe

    medians = run.explain(to_dataframe(train_rows)).median()
    np.testing.assert_allclose(typical.iloc[0], medians, atol=1e-6)
    assert np.allclose(typical.to_numpy(), typical.to_numpy()[:1])  # the same for every row
