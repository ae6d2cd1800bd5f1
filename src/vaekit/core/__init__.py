"""The floor everything stands on: errors, crash-safe files, checksummed tensor files, run
records, float settings, log lines and progress bars, process groups. Imports nothing of vaekit's
above it."""

from vaekit.core.errors import TrainingInterrupted, VaekitError, fail

__all__ = ["TrainingInterrupted", "VaekitError", "fail"]
