import torch

from vaekit.config.run import DataConfig
from vaekit.data.splits import load_splits
from vaekit.metrics.quality import class_coverage, frechet_distance, judge_for, precision_recall


def _features(seed: int, n: int = 3000, dim: int = 8) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    a, b = _features(0), _features(1)
    assert abs(frechet_distance(a, a)) < 1e-6
    distances = [frechet_distance(a, b + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert distances == sorted(distances)
    assert distances[0] < 0.1
    # A shift s in every one of 8 dimensions adds 8 s^2 to the distance.
    assert abs(distances[2] - distances[0] - 8.0) < 0.5


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    # N(0, I) vs N(0, 4 I) in 8 dims: tr(I + 4I - 2 * 2I) = 8.
    a, b = _features(0, n=20000), 2 * _features(1, n=20000)
    assert abs(frechet_distance(a, b) - 8.0) < 0.4


def test_precision_and_recall_detect_a_collapsed_generator():
    real = _features(0, n=1000)
    precision, recall = precision_recall(real, _features(1, n=1000))
    assert precision > 0.6 and recall > 0.6
    precision, recall = precision_recall(real, 0.05 * _features(2, n=1000))
    assert precision > 0.9 and recall < 0.2  # good-looking samples, one small mode


def test_class_coverage_detects_a_generator_that_makes_one_class():
    labels = torch.arange(1000) % 10
    one_class = class_coverage(torch.full((500,), 3), labels, 10)
    assert one_class["classes_covered"] == 1 and one_class["total_variation"] > 0.8
    every_class = class_coverage(torch.arange(500) % 10, labels, 10)
    assert every_class["classes_covered"] == 10 and every_class["total_variation"] < 0.01


def test_classifier_is_trained_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path))
    splits = load_splits(DataConfig(source="digits"))
    judge = judge_for(splits, epochs=20)
    assert judge is not None and judge.accuracy > 0.85
    cached = judge_for(splits, epochs=20)
    assert cached.accuracy == judge.accuracy
    assert len(list((tmp_path / "classifiers").glob("*.safetensors"))) == 1


def test_no_classifier_without_labels(tmp_path):
    import numpy as np

    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((50, 4, 4)))
    assert judge_for(load_splits(DataConfig(source=str(tmp_path / "x.npy")))) is None
