"""Float settings vaekit turns on around heavy CPU work, and back off afterwards."""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

OMP_PAUSE_HARD = 2  # omp_pause_resource_t: end the runtime's threads (OpenMP 5.0)
MKL_CBWR_BRANCH = 1  # mkl_cbwr_get's question: which code branch is in force
MKL_CBWR_BRANCH_OFF = 1  # its answer by default: no numerical reproducibility
MKL_CBWR_AUTO = 2  # reproducible, on the fastest branch this CPU runs


def reproducible_mkl() -> bool | None:
    """Turn on MKL's conditional numerical reproducibility (branch AUTO) unless the user chose
    a branch with ``MKL_CBWR``; whether it is on (None where torch has no MKL).

    Off, MKL's matrix products may differ in their last bits from one process to the next with
    the same inputs and thread count: the same training command gave one of two results (3 of
    60 runs the rarer one, the first optimiser step already apart). MKL takes the setting only
    before its first call, so vaekit makes it on import; after that it stays off (False).
    """
    mkl = _torch_mkl()
    if mkl is None:
        return None
    if mkl.mkl_serv_cbwr_get(MKL_CBWR_BRANCH) == MKL_CBWR_BRANCH_OFF:
        mkl.mkl_serv_cbwr_set(MKL_CBWR_AUTO)
    return mkl.mkl_serv_cbwr_get(MKL_CBWR_BRANCH) != MKL_CBWR_BRANCH_OFF


@functools.cache
def _torch_mkl() -> ctypes.CDLL | None:
    """torch's CPU library, where MKL is linked in and exports its service functions."""
    path = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        library = ctypes.CDLL(str(path))
    except OSError:
        return None
    if not all(hasattr(library, f) for f in ("mkl_serv_cbwr_get", "mkl_serv_cbwr_set")):
        return None
    for name in ("mkl_serv_cbwr_get", "mkl_serv_cbwr_set"):
        getattr(library, name).argtypes = [ctypes.c_int]
        getattr(library, name).restype = ctypes.c_int
    return library


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
    if not was_on:
        set_flush_denormal_everywhere(True)
    try:
        yield
    finally:
        if not was_on:
            set_flush_denormal_everywhere(False)


def set_flush_denormal_everywhere(on: bool) -> None:
    """``torch.set_flush_denormal`` for this thread and torch's CPU worker threads.

    The setting lives in each thread's floating-point control register, and torch sets only the
    calling thread's. OpenMP's worker threads copy the register of the thread that starts them,
    when it starts them, and keep it: where the pool already ran (a notebook, a script that
    loaded data first) the part of each parallel kernel that ran on a worker thread ignored the
    setting. Ending the pool's threads makes the next parallel kernel start new ones, which copy
    the setting just made (a few hundred microseconds, twice per block)."""
    torch.set_flush_denormal(on)
    for runtime in openmp_runtimes():
        runtime.omp_pause_resource_all(OMP_PAUSE_HARD)


def openmp_runtimes() -> list[ctypes.CDLL]:
    """Every OpenMP runtime loaded in this process that can end its threads (OpenMP 5.0); empty
    elsewhere (a build without OpenMP, no /proc). Not only torch's: scikit-learn's wheel brings a
    second libgomp, and when it was loaded first an earlier version picked it by name and left
    torch's workers with the old float mode. Read each time: a library imported later may add
    one, and the list is short."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            loaded = {line.split()[-1] for line in maps if "/" in line}
    except OSError:
        return []
    names = ("libgomp", "libiomp5", "libomp")
    return [
        runtime
        for path in sorted(loaded)
        if path.rsplit("/", 1)[-1].startswith(names) and (runtime := _pausable(path)) is not None
    ]


@functools.cache
def _pausable(path: str) -> ctypes.CDLL | None:
    try:
        runtime = ctypes.CDLL(path)
    except OSError:
        return None
    if not hasattr(runtime, "omp_pause_resource_all"):
        return None
    runtime.omp_pause_resource_all.argtypes = [ctypes.c_int]
    return runtime


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


reproducible_mkl()  # on import, before vaekit runs any matrix product: MKL takes it only then
