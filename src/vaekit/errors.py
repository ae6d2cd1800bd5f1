"""The one exception type vaekit raises for problems a user can fix.

The CLI turns it into a single line on stderr and exit status 2; library users catch it.
"""

from __future__ import annotations


class VaekitError(Exception):
    """A problem with the user's input, files or options, explained in one line."""


def fail(where: object, problem: str) -> VaekitError:
    """Build an error that names the file (or option) first, then the problem."""
    return VaekitError(f"{where}: {problem}")
