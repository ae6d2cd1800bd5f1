"""Kill training with SIGKILL at random moments, resume, and check the result is bit-identical
to an uninterrupted run — many more trials than the test suite affords.

    python benchmarks/kill_resume.py --trials 30 --out benchmarks/results/kill_resume.json
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

ARGS = ["--epochs", "30", "--hidden", "256", "--batch-size", "32", "--seed", "3", "--no-report"]


def vaekit(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vaekit", "--quiet", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def same(a: Path, b: Path) -> bool:
    x, y = load_file(str(a)), load_file(str(b))
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts = {
        "trials": 0,
        "killed_before_first_checkpoint": 0,
        "resumed_identical": 0,
        "resumed_different": 0,
        "finished_before_kill": 0,
    }
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "ref"
        assert vaekit("train", "--out", str(ref), *ARGS).wait() == 0
        for trial in range(args.trials):
            run = Path(tmp) / f"t{trial}"
            child = vaekit("train", "--out", str(run), *ARGS)
            while not (run / "config.json").exists() and child.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 3.0))
            child.kill()
            code = child.wait()
            counts["trials"] += 1
            if code == 0:
                counts["finished_before_kill"] += 1
                continue
            if not (run / "checkpoint.safetensors").exists():
                counts["killed_before_first_checkpoint"] += 1
                continue
            done = vaekit("train", "--resume", str(run), "--no-report").wait()
            ok = done == 0 and same(run / "last.safetensors", ref / "last.safetensors")
            counts["resumed_identical" if ok else "resumed_different"] += 1
            print(f"trial {trial:>3}: {'identical' if ok else 'DIFFERENT'}", flush=True)
    print(json.dumps(counts, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(counts, indent=2) + "\n")


if __name__ == "__main__":
    main()
