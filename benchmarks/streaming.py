"""Data larger than memory: train one epoch on generated uint8 .npy files of growing size,
streamed (memory-mapped, shuffled blocks), and report epoch time and peak resident memory.

    python benchmarks/streaming.py --out benchmarks/results/streaming.json

Sizes default to 500,000, 1,000,000 and 2,000,000 examples. Each file holds MNIST training
images (cycled, N x 784 uint8, written in chunks so generating it needs little memory). Each size
is trained in a fresh ``vaekit train --stream on`` process (MLP 784-400-20, batch 128, one epoch);
its peak RSS is the kernel's high-water mark for that process (VmHWM in /proc/PID/status, polled
until it exits: wait4's ru_maxrss would also count the parent's memory at fork) and its epoch
time comes from metrics.jsonl.
Linear scaling means time per example stays flat as N grows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vaekit.data.builtin import read_mnist


def write_file(path: Path, n: int, chunk: int = 100_000) -> None:
    """N rows of MNIST training images, cycled, written chunk by chunk into an .npy file."""
    images = read_mnist().values[:50_000].reshape(50_000, 784)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 784))
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n)) % len(images)
        out[start : start + len(rows)] = images[rows]
    out.flush()
    del out


def train_once(data: Path, out: Path, threads: int | None) -> dict:
    command = [sys.executable, "-m", "vaekit", "--quiet", "train", "--data", str(data)]
    command += ["--stream", "on"]
    command += ["--latent-dim", "20", "--hidden", "400", "--epochs", "1", "--batch-size", "128"]
    command += ["--no-report", "--force", "--out", str(out)]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env)
    status_file, peak_kb = Path(f"/proc/{child.pid}/status"), 0
    while child.poll() is None:  # the child's own high-water mark, read until it exits
        try:
            line = next(x for x in status_file.read_text().splitlines() if x.startswith("VmHWM"))
            peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, StopIteration):
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"vaekit train failed on {data} (status {child.returncode})")
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    return {
        "epoch_seconds": row["seconds"],
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(peak_kb / 1024),
        "val_elbo": round(row["val_elbo"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dir", default=None, help="where the generated files go (temporary)")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in args.sizes:
            data = Path(tmp) / f"mnist-{n}.npy"
            write_file(data, n)
            result = train_once(data, Path(tmp) / f"run-{n}", args.threads)
            result.update(n=n, file_gb=round(data.stat().st_size / 1e9, 2))
            data.unlink()
            rows.append(result)
            print(json.dumps(result), flush=True)
    base = rows[0]
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores; threads {args.threads or 'all'}"
    )
    print("\n| examples | file | epoch s | examples/s | time ratio | size ratio | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        r["time_ratio"] = round(r["epoch_seconds"] / base["epoch_seconds"], 2)
        r["size_ratio"] = round(r["n"] / base["n"], 2)
        print(
            f"| {r['n']:,} | {r['file_gb']} GB | {r['epoch_seconds']:.1f} | "
            f"{r['n'] / r['epoch_seconds']:,.0f} | {r['time_ratio']} | {r['size_ratio']} | "
            f"{r['peak_rss_mb']} MB |"
        )
    if args.out:
        Path(args.out).write_text(
            json.dumps({"machine": platform.machine(), "rows": rows}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
