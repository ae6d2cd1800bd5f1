"""What takes a :class:`~vaekit.runs.Run` and calls the metrics: ``vaekit evaluate``'s rows."""

from vaekit.evaluation.evaluate import evaluate_run

__all__ = ["evaluate_run"]
