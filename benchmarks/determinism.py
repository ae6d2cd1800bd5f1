"""Same command, same bits? Run one training command in many fresh processes and count the
distinct results.

    python benchmarks/determinism.py --runs 40            # the issue's MNIST command
    python benchmarks/determinism.py --runs 20 --data digits --epochs 5

Half the processes are started from bash, half from Python's subprocess; with --busy, a second
pass runs beside processes that keep every core busy. Each run's weights, Adam state and random
state are digested (the checkpoint's timings are not). Prints a table and writes
benchmarks/results/determinism.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from vaekit.core.tensorfiles import checksum

RESULTS = Path(__file__).parent / "results" / "determinism.json"


def train_once(out: Path, start: str, options: list[str]) -> str:
    argv = [sys.executable, "-m", "vaekit", "--quiet", "train", *options, "--no-report"]
    argv += ["--out", str(out), "--force"]
    command = ["bash", "-c", shlex.join(argv)] if start == "shell" else argv
    subprocess.run(command, check=True, capture_output=True)
    names = ("model.safetensors", "last.safetensors", "checkpoint.safetensors")
    return "".join(checksum(load_file(str(out / name)))[:4] for name in names)


def spin() -> list[subprocess.Popen]:
    code = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="processes per condition")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--latent-dim", default="20")
    parser.add_argument("--epochs", default="1")
    parser.add_argument("--busy", action="store_true", help="also run beside busy cores")
    args = parser.parse_args()
    options = ["--data", args.data, "--latent-dim", args.latent_dim, "--epochs", args.epochs]
    conditions = ["quiet"] + (["busy"] if args.busy else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for condition in conditions:
            spinners = spin() if condition == "busy" else []
            try:
                for i in range(args.runs):
                    start = ("shell", "subprocess")[i % 2]
                    digest = train_once(Path(tmp) / f"run{i % 2}", start, options)
                    rows.append({"condition": condition, "start": start, "digest": digest})
                    print(f"{condition:5s} {start:10s} run {i + 1:3d}: {digest}", flush=True)
            finally:
                for spinner in spinners:
                    spinner.kill()
    counts = collections.Counter(row["digest"] for row in rows)
    print(f"\n{'condition':9s}  {'start':10s}  runs  distinct results")
    for condition in conditions:
        for start in ("shell", "subprocess"):
            mine = [
                r["digest"] for r in rows if r["condition"] == condition and r["start"] == start
            ]
            print(f"{condition:9s}  {start:10s}  {len(mine):4d}  {len(set(mine))}")
    print(f"all: {len(rows)} runs, {len(counts)} distinct result(s): {dict(counts)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "command": ["vaekit", "train", *options, "--no-report"],
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "cpu": platform.processor() or platform.machine(),
                "date": time.strftime("%Y-%m-%d"),
                "runs": rows,
                "distinct": dict(counts),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
