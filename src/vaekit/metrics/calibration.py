"""A threshold with a known false-alarm rate: split-conformal calibration of anomaly scores
(Vovk et al. 2005; Bates et al. 2023, "Testing for outliers with conformal p-values").

Score n examples of normal data the model never saw — neither in training nor in the validation
split that picked its weights — and keep their scores. For a new example with score s:

- its conformal p-value is (1 + #{calibration scores >= s}) / (n + 1);
- flagging the examples with p <= alpha flags a new normal example with probability at most
  alpha, and at least alpha - 1/(n + 1), whatever the share of anomalies among the scored
  examples: the calibration scores and a new normal example's score are exchangeable;
- the same flags come from a threshold: the ceil((n + 1)(1 - alpha))-th smallest calibration
  score, above which a score is flagged. Fewer than 1/alpha - 1 calibration examples cannot set
  such a threshold, and are refused.

``--contamination`` is a different question: it flags a fixed share of the scored file itself
(PyOD's threshold), right only when that share of the file is anomalous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from vaekit.core.errors import VaekitError


@dataclass
class Calibration:
    """The scores of normal calibration data, and how they were computed (a later score must be
    computed the same way to be compared with them)."""

    by: str
    k: int
    seed: int
    scores: list[float]  # ascending
    source: str = ""
    sha256: str | None = None  # of the calibration file, where it was one
    weights_sha256: str | None = None  # the weights the scores are of

    @property
    def n(self) -> int:
        """How many calibration examples."""
        return len(self.scores)

    def _rank(self, fpr: float) -> int:
        """Which calibration score, counted from the smallest (1-based), is the threshold."""
        return math.ceil((self.n + 1) * (1 - fpr))

    def can_set(self, fpr: float) -> bool:
        """Whether the calibration holds enough examples to set false-alarm rate ``fpr``."""
        return self._rank(fpr) <= self.n

    def threshold(self, fpr: float) -> float:
        """The score above which an example is flagged at false-alarm rate ``fpr``."""
        if not 0 < fpr < 1:
            raise VaekitError(f"--fpr: a false-alarm rate in (0, 1), got {fpr}")
        if not self.can_set(fpr):
            raise VaekitError(
                f"--fpr {fpr}: {self.n} calibration examples cannot set a false-alarm rate below "
                f"{1 / (self.n + 1):.3g}; calibrate on at least {math.ceil(1 / fpr) - 1} normal "
                "examples"
            )
        return float(self.scores[self._rank(fpr) - 1])

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """Each score's conformal p-value: small for an example unlike the normal data."""
        ordered = np.asarray(self.scores, dtype=np.float64)
        at_least = len(ordered) - np.searchsorted(ordered, np.asarray(scores), side="left")
        return (1.0 + at_least) / (len(ordered) + 1.0)

    def to_dict(self) -> dict[str, Any]:
        """The record written to the run's ``calibration.json``."""
        return {
            "by": self.by,
            "k": self.k,
            "seed": self.seed,
            "source": self.source,
            "sha256": self.sha256,
            "weights_sha256": self.weights_sha256,
            "scores": self.scores,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Calibration:
        """A recorded calibration, checked (ValueError naming the bad field)."""
        if not isinstance(raw, dict):
            raise ValueError("expected an object")
        scores = raw.get("scores")
        if not isinstance(scores, list) or not scores:
            raise ValueError("scores: expected a non-empty list")
        values = np.asarray(scores, dtype=np.float64)
        if not np.isfinite(values).all() or (np.diff(values) < 0).any():
            raise ValueError("scores: expected finite numbers in ascending order")
        if raw.get("by") not in ("nll", "elbo", "recon"):
            raise ValueError(f"by: {raw.get('by')!r} is not nll, elbo or recon")
        for name in ("k", "seed"):
            if not isinstance(raw.get(name), int) or isinstance(raw.get(name), bool):
                raise ValueError(f"{name}: expected a whole number")
        return cls(
            raw["by"],
            raw["k"],
            raw["seed"],
            [float(v) for v in values],
            str(raw.get("source", "")),
            raw.get("sha256"),
            raw.get("weights_sha256"),
        )


def calibrate(scores: np.ndarray, by: str, k: int, seed: int, **where: Any) -> Calibration:
    """A calibration from the scores of normal examples kept apart from training."""
    values = np.sort(np.asarray(scores, dtype=np.float64))
    if len(values) < 2:
        raise VaekitError("calibration needs at least 2 normal examples")
    return Calibration(by, k, seed, [float(v) for v in values], **where)
