"""The one exception type vaekit raises for problems a user can fix.

The CLI turns it into a single line on stderr and exit status 2; library users catch it.
"""

from __future__ import annotations


class VaekitError(Exception):
    """A problem with the user's input, files or options, explained in one line."""


def fail(where: object, problem: str) -> VaekitError:
    """Build an error that names the file (or option) first, then the problem."""
    return VaekitError(f"{where}: {problem}")


class TrainingInterrupted(VaekitError):
    """Training stopped on SIGINT/SIGTERM after writing a checkpoint; ``exit_code`` follows the
    shell convention 128 + signal number."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
