"""`vaekit evaluate` on data with factors of variation: the metrics reported for sprites
(interventions rendered) and for images with a factor table (interventions drawn from the
examples), and the factor picture."""

from __future__ import annotations

import numpy as np
import pytest

from vaekit import load
from vaekit.cli.main import main
from vaekit.evaluation.disentanglement import disentanglement_report
from vaekit.metrics.disentanglement import PoolInterventions, beta_vae_score, factor_vae_score

SMALL = {"votes": (60, 60), "points": (60, 40)}


@pytest.fixture(scope="module")
def sprites_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sprites") / "run"
    args = ["--quiet", "train", "--data", "sprites", "--subset", "400", "--epochs", "1"]
    args += ["--latent-dim", "4", "--hidden", "32", "--no-report", "--out", str(out)]
    assert main(args) == 0
    return load(out)


@pytest.mark.slow  # DCI's trees: a hundred per factor value, 5,700 in all (10 s)
def test_sprites_runs_report_every_metric_in_range(sprites_run):
    report = disentanglement_report(sprites_run, sprites_run.data("val"), **SMALL)
    assert report["factors"] == ["shape", "scale", "orientation", "x", "y"]
    assert report["interventions"] == "rendered"
    for key in ("mig", "sap", "factor_vae_score", "beta_vae_score"):
        assert 0.0 <= report[key] <= 1.0, key
    assert all(0.0 <= v <= 1.0 for v in report["dci"].values())
    shares = np.array(report["mutual_information"])
    assert shares.shape == (4, 5) and (shares >= 0).all()
    assert len(report["dimension_factor"]) == 4


def test_data_without_factors_reports_none(trained_run):
    run = load(trained_run)
    assert disentanglement_report(run, run.data("val")) is None


def test_examples_with_factors_give_interventions_that_keep_the_factor():
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, 4, 500), rng.integers(0, 3, 500)], axis=1)
    pool = PoolInterventions(factors.astype(float), factors)
    first, second = pool.pair(1, 64, rng)
    assert np.array_equal(factors[first, 1], factors[second, 1])
    assert (first != second).all()  # never an example paired with itself
    assert len(set(factors[pool.fixed(0, 64, rng), 0])) == 1
    assert factor_vae_score(pool, train_votes=200, test_votes=100)["score"] == 1.0
    assert beta_vae_score(pool, train_points=200, test_points=100)["score"] == 1.0
    # values held by one example each never make a batch: only the shared value 0 does
    lonely = np.stack([np.r_[np.zeros(10, int), np.arange(1, 11)], np.arange(20) % 2], axis=1)
    sparse = PoolInterventions(lonely.astype(float), lonely)
    assert set(lonely[sparse.fixed(0, 32, rng), 0]) == {0}


@pytest.mark.slow
def test_the_factor_picture_and_labelled_traversals_draw(sprites_run, tmp_path, capsys):
    for kind in ("factors", "traverse"):
        path = tmp_path / f"{kind}.png"
        assert main(["plot", str(sprites_run.path), kind, "--out", str(path)]) == 0
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # DCI's trees, as above
def test_a_run_conditioned_on_the_shape_is_measured_and_pictured(tmp_path):
    """Codes of a conditional run come from q(z|x, c): the held-out examples' own labels, and
    for renders the shape each was drawn with."""
    out = tmp_path / "run"
    args = ["--quiet", "train", "--data", "sprites", "--subset", "300", "--epochs", "1"]
    args += ["--latent-dim", "3", "--hidden", "32", "--condition", "label", "--no-report"]
    assert main([*args, "--out", str(out)]) == 0
    run = load(out)
    report = disentanglement_report(run, run.data("val"), **SMALL)
    assert report["interventions"] == "rendered" and 0.0 <= report["mig"] <= 1.0
    assert main(["plot", str(out), "factors", "--out", str(tmp_path / "f.png")]) == 0
