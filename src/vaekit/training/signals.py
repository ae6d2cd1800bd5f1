"""Graceful stops: SIGINT/SIGTERM set a flag the training loop checks after each step, so the
step in flight finishes and a checkpoint is written before the process exits."""

from __future__ import annotations

import signal
import threading


class StopOnSignal:
    """Context manager; ``requested`` is the signal number once one has arrived (else 0).
    A second signal while stopping falls through to the default behaviour."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = 0
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # impatient: a second Ctrl-C stops at once
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            signal.raise_signal(signum)
        self.requested = signum

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
