"""How many CPU threads a run trains with: a rule from a step's size and the cores free.

Threads that share one step's matrix products wait on each other at every product; on a busy
machine a waiting thread has no core, and the step waits for it: measured on 2 cores, MNIST's
default VAE took 3.6x its quiet time beside two busy processes with 2 threads, 1.9x with 1
(benchmarks/contention.py). And a step too small to share gains nothing from a second thread
(digits: the same time with 1 or 2). So a run takes 1 thread when its step is small or no core
is free, else one per free core. The cores' use is read once, over a tenth of a second, before
the first step; the choice is written into config.json and said on the start line. Results are
the same bits whatever the thread count (tested: MKL's reproducible mode, oneDNN's bf16 too).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import torch

from vaekit.config.run import TrainConfig
from vaekit.core.errors import VaekitError

# Below this many matrix-product GFLOPs a step gains nothing from a second thread (digits'
# default VAE, 0.01 GFLOP: 3.97 s with 1 thread, 3.88 s with 2 for 30 epochs).
SHARE_MIN_GFLOP = 0.05
BUSY_SAMPLE_S = 0.1


def cores_here() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def busy_cores(seconds: float = BUSY_SAMPLE_S) -> float | None:
    """How many cores other work keeps busy, from /proc/stat over ``seconds`` (None where there
    is no /proc/stat)."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return (total - idle) / total * (os.cpu_count() or 1)


def choose_threads(gflop_per_step: float, cores: int, busy: float | None) -> tuple[int, str]:
    """The rule: (threads, why) for a step of ``gflop_per_step`` on ``cores`` cores of which
    ``busy`` are used by other work (None: unknown, taken as none)."""
    if gflop_per_step < SHARE_MIN_GFLOP:
        return 1, f"1 thread: a step's products ({gflop_per_step:.3g} GFLOP) are too small to share"
    free = max(1, cores - round(busy or 0.0))
    if free < cores:
        return free, f"{free} thread(s): {busy:.1f} of {cores} cores are busy with other work"
    return cores, f"{cores} threads: every core is free"


def resolve_threads(
    opts: TrainConfig, gflop_per_step: float, device: torch.device, world: int = 1
) -> str:
    """Set ``opts.threads`` (the user's, checked, or the rule's); the log line saying why (""
    when the user chose). Under torchrun the ranks keep the threads torchrun gave them (it
    shares the cores out). Training runs under :func:`using_threads`."""
    cores = cores_here()
    if opts.threads is not None and opts.threads > cores:
        raise VaekitError(f"--threads: {opts.threads} is more than the {cores} cores here")
    reason = ""
    if opts.threads is None and world > 1:
        opts.threads = torch.get_num_threads()
    elif opts.threads is None:
        busy = busy_cores() if device.type == "cpu" else None
        opts.threads, reason = choose_threads(gflop_per_step, cores, busy)
    return reason


@contextlib.contextmanager
def using_threads(threads: int | None) -> Iterator[None]:
    """torch's thread count set to ``threads`` inside the block, and put back after it (a
    library call leaves the process as it found it)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
