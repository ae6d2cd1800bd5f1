"""Training on a busy machine: each model trained quiet, then beside two busy single-thread
processes with the thread rule (the default) and with every core (``--threads`` = cores, the
old default), as wall-clock ratios to the quiet default run.

    python benchmarks/contention.py --out benchmarks/results/contention.json

Each run is a fresh `vaekit train` process (start-up included), so the ratio is what a user
waits. The busy processes start a second before the run, as a program already running would.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = {  # name: the train options (defaults otherwise)
    "digits, 30 epochs": ["--data", "digits", "--epochs", "30"],
    "mnist, 3 epochs": ["--data", "mnist", "--epochs", "3"],
}


def timed_train(options: list[str], folder: Path) -> float:
    """Seconds of one `vaekit train` process, from start to exit."""
    argv = [sys.executable, "-m", "vaekit", "--quiet", "train", *options]
    argv += ["--out", str(folder / "run"), "--force", "--no-report"]
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - started


def busy(count: int) -> list[subprocess.Popen]:
    """``count`` processes that each keep one core busy."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    time.sleep(1.0)
    return spinners


def measure(options: list[str], folder: Path, cores: int) -> dict[str, float]:
    """Quiet default, busy default (the rule), busy with every core; seconds."""
    times = {"quiet": timed_train(options, folder)}
    for name, extra in (("busy, rule", []), ("busy, all cores", ["--threads", str(cores)])):
        spinners = busy(2)
        try:
            times[name] = timed_train(options + extra, folder)
        finally:
            for spinner in spinners:
                spinner.kill()
                spinner.wait()
    return times


def main() -> int:
    """Print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    results = {"cores": cores, "load_before": os.getloadavg()[0], "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in MODELS.items():
            results["models"][name] = measure(options, Path(tmp), cores)
    print(f"{cores} cores, load {results['load_before']:.2f} before")
    print(f"{'model':22}{'quiet s':>9}{'busy rule':>22}{'busy all cores':>22}")
    for name, t in results["models"].items():
        rule, every = t["busy, rule"], t["busy, all cores"]
        print(
            f"{name:22}{t['quiet']:9.1f}{rule:10.1f} s ({rule / t['quiet']:.2f}x)"
            f"{every:12.1f} s ({every / t['quiet']:.2f}x)"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
