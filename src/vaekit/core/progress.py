"""The only place below the CLI that writes to the terminal: log lines and progress bars."""

from __future__ import annotations

import sys
from typing import Any

QUIET = False  # set by the CLI's --quiet and by tests


def log(message: str) -> None:
    """One line for the user, on stderr so stdout stays clean for tables and data."""
    if not QUIET:
        print(message, file=sys.stderr, flush=True)


class ProgressBar:
    """A tqdm bar on stderr (silent when quiet); use as a context manager."""

    def __init__(self, total: int, desc: str) -> None:
        self._bar: Any = None
        if not QUIET and sys.stderr.isatty():  # a log file gets the per-epoch lines only
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=desc,
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
                mininterval=0.25,
            )

    def update(self, steps: int = 1, note: str = "", **numbers: float) -> None:
        """Advance by ``steps``, showing ``note`` (what runs now) and ``numbers`` (e.g. the
        loss) beside the bar."""
        if self._bar is None:
            return
        if note or numbers:
            shown = [note] + [f"{k}={v:.2f}" for k, v in numbers.items()]
            self._bar.set_postfix_str(", ".join(s for s in shown if s), refresh=False)
        self._bar.update(steps)
        if note:
            self._bar.refresh()  # say what starts now, before it runs

    def __enter__(self) -> ProgressBar:
        return self

    def close(self) -> None:
        """Take the bar off the terminal (a loop that is not a ``with`` block calls this)."""
        if self._bar is not None:
            self._bar.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
