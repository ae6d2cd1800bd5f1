"""Float settings vaekit turns on around heavy CPU work, and back off afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def flushing_denormals() -> bool:
    """Whether this thread currently flushes denormals to zero (torch has no getter)."""
    return bool((torch.tensor([1e-30]) * 1e-10).item() == 0.0)


@contextlib.contextmanager
def denormals_flushed() -> Iterator[None]:
    """Within this block (or decorated function) denormal floats (|x| < 1.2e-38) count as zero.

    Training drives some values there (Adam's second moments, exp(-|logit|) of a confident
    decoder) and x86 CPUs handle them on a slow microcode path: flushed, an MNIST VAE epoch took
    2.1 s instead of 3.7 s here, with the same losses to the printed digit. The previous setting
    is restored on exit, so code that relies on IEEE subnormals (hypothesis, numpy) is unaffected.
    """
    was_on = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if not was_on:
            torch.set_flush_denormal(False)


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool | None:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX-BF16), from
    the kernel's CPU flags; None where they cannot be read (not Linux). Without them oneDNN
    emulates bf16 with conversions and ``--precision bf16`` is slower than float32, not faster."""
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), None)
    except OSError:
        return None
    if flags is None:
        return None
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split(":", 1)[-1].split()))
