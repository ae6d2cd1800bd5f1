"""Split-conformal thresholds: new normal data is flagged at the rate asked for, whatever else
the scored file holds; the threshold and the p-values agree; bad records and rates are refused."""

from __future__ import annotations

import numpy as np
import pytest

from vaekit.core.errors import VaekitError
from vaekit.metrics.calibration import Calibration, calibrate


@pytest.mark.parametrize("fpr", [0.01, 0.05, 0.1, 0.2])
def test_new_normal_data_is_flagged_at_the_rate_asked_for(fpr):
    """Over many calibration sets of 500 normal scores, the share of new normal examples
    flagged averages between fpr - 1/(n + 1) and fpr (the conformal guarantee)."""
    rng = np.random.default_rng(0)
    n, trials = 500, 400
    realised = []
    for _ in range(trials):
        record = calibrate(rng.gamma(2.0, 3.0, n), "nll", 100, 0)  # skewed, like NLLs
        new = rng.gamma(2.0, 3.0, 2000)
        realised.append(np.mean(new > record.threshold(fpr)))
    mean, spread = float(np.mean(realised)), float(np.std(realised) / np.sqrt(trials))
    assert fpr - 1 / (n + 1) - 4 * spread <= mean <= fpr + 4 * spread


def test_the_rate_holds_whatever_the_share_of_anomalies_in_the_file():
    rng = np.random.default_rng(1)
    record = calibrate(rng.normal(0, 1, 1000), "nll", 100, 0)
    normal = rng.normal(0, 1, 20_000)
    for share in (0.0, 0.3, 0.8):  # anomalies far out do not move the threshold
        anomalies = rng.normal(6, 1, int(share * len(normal)))
        scores = np.concatenate([normal, anomalies])
        flagged = scores > record.threshold(0.05)
        assert abs(flagged[: len(normal)].mean() - 0.05) < 0.015
        assert flagged[len(normal) :].mean() > 0.99 if len(anomalies) else True


def test_the_threshold_and_the_p_values_flag_the_same_examples():
    rng = np.random.default_rng(2)
    record = calibrate(rng.normal(0, 1, 99), "recon", 1, 0)
    scores = np.concatenate([rng.normal(0, 1.5, 5000), np.asarray(record.scores)])  # ties too
    for fpr in (0.02, 0.05, 0.1, 0.37):
        assert np.array_equal(scores > record.threshold(fpr), record.p_values(scores) <= fpr)
    assert record.p_values(np.array([np.inf]))[0] == pytest.approx(1 / 100)
    assert record.p_values(np.array([-np.inf]))[0] == 1.0


def test_too_few_examples_for_a_rate_and_bad_rates_are_refused():
    record = calibrate(np.arange(10.0), "nll", 100, 0)
    with pytest.raises(VaekitError, match="10 calibration examples cannot set a false-alarm rate"):
        record.threshold(0.05)
    assert record.threshold(0.1) == 9.0  # the ceil(11 * 0.9) = 10th smallest
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(VaekitError, match="--fpr"):
            record.threshold(bad)


def test_a_record_round_trips_and_a_damaged_one_is_refused():
    record = calibrate(np.array([3.0, 1.0, 2.0]), "elbo", 1, 7, source="normal.csv")
    back = Calibration.from_dict(record.to_dict())
    assert back == record and back.scores == [1.0, 2.0, 3.0]
    for damage in (
        {"scores": [2.0, 1.0]},
        {"scores": []},
        {"scores": [1.0, float("nan")]},
        {"by": "bogus"},
        {"k": 1.5},
        {"seed": True},
    ):
        with pytest.raises(ValueError):
            Calibration.from_dict({**record.to_dict(), **damage})
