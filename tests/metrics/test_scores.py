"""Anomaly scores: deterministic for a seed, the model's own numbers, an outlier above its
neighbours, scikit-learn's ROC-AUC, and bad input refused in one line."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from vaekit.cli.main import main
from vaekit.core.errors import VaekitError
from vaekit.metrics.likelihood import importance_log_likelihood
from vaekit.metrics.scores import anomaly_scores, detection_quality, threshold_for
from vaekit.runs import run as runs


@pytest.fixture(scope="module")
def run(trained_run):
    return runs.load(trained_run)


def test_scores_are_deterministic_for_a_seed_and_differ_across_seeds(run):
    x = run.data().x[:50]
    for by in ("nll", "elbo"):
        a, b = run.score(x, by=by, k=20, seed=3), run.score(x, by=by, k=20, seed=3)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, run.score(x, by=by, k=20, seed=4))
    assert np.array_equal(run.score(x, by="recon", seed=1), run.score(x, by="recon", seed=2))


def test_nll_is_the_importance_sampled_likelihood_and_elbo_bounds_it(run):
    x = run.data().x[:40]
    nll = anomaly_scores(run.model, x, by="nll", k=50, seed=0)
    expected = -importance_log_likelihood(run.model, x, k=50, seed=0).numpy()
    np.testing.assert_array_equal(nll, expected)
    elbo = np.mean([run.score(x, by="elbo", seed=s).mean() for s in range(5)])
    assert elbo >= run.score(x, by="nll", k=500).mean() - 0.05  # -ELBO >= -log p(x) on average


def test_recon_score_is_the_decoders_negative_log_likelihood_at_the_posterior_mean(run):
    x = run.data().x[:10]
    with torch.no_grad():
        dist = run.model.decode(run.model.encode(x).mean)
        expected = -dist.log_prob(x).double().numpy()
    np.testing.assert_allclose(run.score(x, by="recon"), expected, rtol=1e-6)


def test_an_injected_outlier_scores_above_the_data_it_was_drawn_beside(run):
    x = run.data().x[:60].clone()
    x[7] = torch.rand_like(x[7], generator=torch.Generator().manual_seed(0))  # noise, not a digit
    for by in ("nll", "elbo", "recon"):
        scores = run.score(x, by=by, k=50)
        assert int(np.argmax(scores)) == 7, by


def test_roc_auc_and_average_precision_equal_scikit_learns():
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.2
    scores = rng.normal(size=300) + labels
    quality = detection_quality(scores, labels)
    assert quality["roc_auc"] == roc_auc_score(labels, scores)
    assert quality["average_precision"] == average_precision_score(labels, scores)
    with pytest.raises(VaekitError, match="both normal and anomalous"):
        detection_quality(scores, np.zeros(300))


def test_threshold_flags_the_contamination_share():
    scores = np.arange(1000, dtype=float)
    threshold = threshold_for(scores, 0.05)
    assert int((scores > threshold).sum()) == 50
    with pytest.raises(VaekitError, match="--contamination"):
        threshold_for(scores, 0.7)


def test_score_command_writes_the_csv_and_reports_roc_auc(trained_run, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    argv = ["score", str(trained_run), "--k", "20", "-o", str(out), "--contamination", "0.1"]
    assert main([*argv, "--normal", "0,1,2,3,4,5,6,7,8", "--plot", str(tmp_path / "s.png")]) == 0
    printed = capsys.readouterr().out
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    run = runs.load(trained_run)
    labels = run.data().labels.numpy()
    assert [r["anomalous"] for r in rows] == [str(int(v == 9)) for v in labels]
    scores = np.array([float(r["score"]) for r in rows])
    auc = roc_auc_score(labels == 9, scores)
    assert f"ROC-AUC {auc:.4f}" in printed
    assert sum(r["flagged"] == "1" for r in rows) == round(0.1 * len(rows))
    assert (tmp_path / "s.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "likelihood"], "invalid choice"),
        (["--k", "0"], "--k: must be at least 1"),
        (["--normal", "eleven"], "--normal: eleven not among the labels"),
        (["--contamination", "2"], "--contamination"),
        (["--data", "missing.csv"], "missing.csv"),
        (["--plot", "scores.jpg"], "scores.jpg: output must end in .png"),
    ],
)
def test_bad_score_options_are_one_line(trained_run, tmp_path, capsys, extra, message):
    argv = ["score", str(trained_run), "-o", str(tmp_path / "s.csv"), *extra]
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    assert status == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert message in error[-1]
    assert not (tmp_path / "s.csv").exists()


def test_autoencoders_are_scored_by_reconstruction_only(tmp_path, make_config):
    from vaekit.api import train

    run = train(make_config(model={"model": "ae"}, train={"epochs": 1}), tmp_path / "ae")
    x = run.data().x[:5]
    assert run.score(x, by="recon").shape == (5,)
    with pytest.raises(
        VaekitError, match="--by nll: ae has no likelihood; score it with --by recon"
    ):
        run.score(x, by="nll")


def test_complexity_correlations_are_spearmans_with_ink_and_compressed_length():
    import zlib

    from scipy.stats import spearmanr

    from vaekit.metrics.scores import complexity_correlations

    rng = np.random.default_rng(0)
    images = rng.random((50, 1, 8, 8)) * rng.random((50, 1, 1, 1))  # varied ink
    pixels = np.round(images * 255).astype(np.uint8).reshape(50, -1)
    ink = pixels.mean(1)
    length = np.array([len(zlib.compress(row.tobytes(), 9)) for row in pixels])
    scores = rng.normal(size=50)
    rho = complexity_correlations(scores, images)
    assert rho["mean_intensity"] == pytest.approx(spearmanr(scores, ink).statistic)
    assert rho["compressed_length"] == pytest.approx(spearmanr(scores, length).statistic)
    assert complexity_correlations(ink * 3 + 1, images)["mean_intensity"] == pytest.approx(1.0)
    assert np.isnan(complexity_correlations(np.ones(50), images)["mean_intensity"])
