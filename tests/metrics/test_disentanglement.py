"""Disentanglement metrics on constructed representations: the true factors score near 1, a
random rotation of them near 0, and bad factor labels are refused in one line."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from vaekit.core.errors import VaekitError
from vaekit.metrics.disentanglement import (
    Interventions,
    beta_vae_score,
    dci,
    discretise,
    factor_vae_score,
    mig,
    mutual_information_matrix,
    sap,
)

SIZES = [3, 6, 10, 8]


def _factors(n: int = 4000, seed: int = 0, sizes: list[int] = SIZES) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in sizes], axis=1)


def _as_codes(factors: np.ndarray) -> np.ndarray:
    """Each factor on its own dimension, centred and scaled, plus a little noise."""
    rng = np.random.default_rng(1)
    scaled = (factors - factors.mean(0)) / factors.std(0)
    return scaled + 0.01 * rng.standard_normal(scaled.shape)


EVEN = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2.0


def _rotated(codes: np.ndarray) -> np.ndarray:
    """Every dimension an equal mixture of every factor (a rotation: EVEN is orthogonal)."""
    return codes @ EVEN


def test_mutual_information_equals_scikit_learns():
    factors = _factors(2000)
    codes = _rotated(_as_codes(factors))
    matrix = mutual_information_matrix(codes, factors)
    binned = discretise(codes)
    expected = [
        [mutual_info_score(factors[:, k], binned[:, d]) for k in range(len(SIZES))]
        for d in range(codes.shape[1])
    ]
    np.testing.assert_allclose(matrix, expected, rtol=1e-10, atol=1e-12)


def test_the_true_factors_score_near_one_and_a_rotation_near_zero():
    """Factors of equal sizes, so that a rotation gives every factor the same share of
    every dimension."""
    factors = _factors(sizes=[8, 8, 8, 8])
    truth, mixed = _as_codes(factors), _rotated(_as_codes(factors))
    assert mig(truth, factors)["score"] > 0.95
    assert mig(mixed, factors)["score"] < 0.15
    # SAP predicts an 8-valued factor from one dimension with a linear classifier: low even
    # for the truth (disentanglement_lib's dSprites figures are 0.0-0.15), ~0 when mixed
    assert (
        sap(truth[:1500], factors[:1500])["score"]
        > 0.1
        > 0.01
        > sap(mixed[:1500], factors[:1500])["score"]
    )


@pytest.mark.slow
def test_dci_of_the_true_factors_is_near_one_and_of_a_rotation_near_zero():
    """Gradient-boosted trees, 100 per class and factor: about 5 s even on 600 rows."""
    factors = _factors(sizes=[8, 8, 8, 8])
    truth, mixed = _as_codes(factors), _rotated(_as_codes(factors))
    good, bad = dci(truth[:600], factors[:600]), dci(mixed[:600], factors[:600])
    assert good["disentanglement"] > 0.9 and good["completeness"] > 0.9
    assert good["informativeness"] > 0.95
    assert bad["disentanglement"] < 0.5 and bad["completeness"] < 0.5


def test_intervention_scores_separate_the_truth_from_a_rotation():
    def represent_with(mix):
        def represent(values):
            codes = (values - (np.array(SIZES) - 1) / 2) / np.array(SIZES)
            return codes @ mix

        return represent

    truth = Interventions(SIZES, represent_with(np.eye(4) * 4))
    mixed = Interventions(SIZES, represent_with(EVEN * 4))
    fast = {"train_votes": 400, "test_votes": 200, "spread_examples": 2000}
    assert factor_vae_score(truth, **fast)["score"] == 1.0
    assert factor_vae_score(mixed, **fast)["score"] < 0.8
    assert beta_vae_score(truth, train_points=300, test_points=200)["score"] == 1.0


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        (np.zeros((9, 2), dtype=int), "9 rows of factor labels for 10 examples"),
        (np.full((10, 2), 0.5), "factor 0 is not discrete"),
        (np.zeros(10, dtype=int), "must be 2-D"),
    ],
)
def test_bad_factor_labels_are_refused_in_one_line(factors, message):
    with pytest.raises(VaekitError, match=message) as err:
        mig(np.random.default_rng(0).standard_normal((10, 3)), factors)
    assert "\n" not in str(err.value)
