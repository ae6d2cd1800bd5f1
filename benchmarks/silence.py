"""How long `vaekit train` on a 50,000-row table goes without a word on a terminal: the command
runs on a pseudo-terminal (40 x 120, as a real one), every chunk of its output is timed, and the
longest gaps are printed with what came just before them.

    python benchmarks/silence.py --out benchmarks/results/silence.json

The table is the built-in penguins resampled to 50,000 rows (seeded), the bill measurements
jittered by N(0, 0.5) mm so the rows are not all copies.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vaekit.data.builtin import PENGUINS


def big_table(path: Path, rows: int = 50_000) -> None:
    """The penguins resampled to ``rows`` rows, jittered."""
    frame = pd.read_csv(PENGUINS).sample(rows, replace=True, random_state=0)
    jitter = np.random.default_rng(0)
    for column in ("bill_length_mm", "bill_depth_mm"):
        frame[column] = (frame[column] + jitter.normal(0, 0.5, rows)).round(1)
    frame.to_csv(path, index=False)


def silences(argv: list[str]) -> tuple[float, list[tuple[float, str]]]:
    """(total seconds, gaps between output chunks with the text before each, longest first)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = last = time.perf_counter()
    process = subprocess.Popen(argv, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    gaps, text = [], b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        now = time.perf_counter()
        gaps.append((now - last, text[-100:].decode(errors="replace").replace("\r", " | ")))
        last, text = now, (text + chunk)[-4000:]
    process.wait()
    gaps.append((time.perf_counter() - last, "(the end)"))
    return time.perf_counter() - started, sorted(gaps, reverse=True)


def main() -> int:
    """Print the longest silences and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "big.csv"
        big_table(table)
        argv = [sys.executable, "-m", "vaekit", "train", "--data", str(table), "--epochs", "3"]
        total, gaps = silences([*argv, "--out", str(Path(tmp) / "run")])
    print(f"vaekit train on 50,000 rows, 3 epochs, with its report: {total:.1f} s")
    for gap, before in gaps[:4]:
        print(f"  {gap:5.1f} s silent after ...{before[-70:]!r}")
    if args.out:
        result = {
            "seconds": total,
            "longest_silences": [{"seconds": g, "after": b} for g, b in gaps[:4]],
        }
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
