"""A run folder on disk and the :class:`Run` that answers questions about it."""

from vaekit.runs.run import Run, load

__all__ = ["Run", "load"]
