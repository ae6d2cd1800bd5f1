"""The measurements behind ``--precision auto`` / ``--compile auto`` (vaekit.training.speed):
for VAEs from 0.04 to 4 GFLOP per step, the training step's time in each variant, the first
compiled steps' time (the compile), and what auto chooses for a 30-epoch run.

    python benchmarks/speed_rule.py --out benchmarks/results/speed_rule.json

Each variant's step is vaekit's own (``vaekit.training.step.training_step``, as ``fit`` runs it; the
stepper of benchmarks/throughput.py), timed as the median of 5 chunks after 13 warm-up steps, one
variant after another in one process. The compile time is that of the first 3 steps in a fresh
model; PyTorch's on-disk cache shortens it for a graph compiled before, so run this in a fresh
cache (``TORCHINDUCTOR_CACHE_DIR=$(mktemp -d)``) to see a first compile.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from throughput import vaekit_stepper

from vaekit.config.run import RunConfig
from vaekit.core import progress
from vaekit.core.distributed import Cluster
from vaekit.data.splits import first_examples, load_splits
from vaekit.models.registry import build_model
from vaekit.training.setup import choose_path, resolve_model_config
from vaekit.training.speed import step_gflop

VARIANTS = ["fp32", "bf16", "fp32+compile", "bf16+compile"]
CASES = [  # (data, model options, batch)
    ("digits", {"hidden": [400], "latent_dim": 2}, 128),
    ("mnist", {"hidden": [200], "latent_dim": 20}, 64),
    ("mnist", {"hidden": [400], "latent_dim": 20}, 32),
    ("mnist", {"hidden": [400], "latent_dim": 20}, 128),
    ("mnist", {"hidden": [400], "latent_dim": 20}, 1024),
    ("mnist", {"hidden": [1000, 1000], "latent_dim": 20}, 128),
    ("mnist", {"arch": "conv", "latent_dim": 20}, 128),
]


def step_ms(run, steps: int) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        run(steps)
        times.append((time.perf_counter() - started) / steps * 1e3)
    return statistics.median(times)


def measure(source: str, model: dict, batch: int) -> dict:
    base = RunConfig.from_dict({"model": model, "data": {"source": source}})
    splits = load_splits(base.data)
    resolve_model_config(base, splits)
    net = build_model(base.model)
    example = first_examples(splits.train, 1)[0]
    row = {
        "data": source,
        "model": model,
        "batch": batch,
        "gflop_per_step": round(step_gflop(net, example, None, batch), 4),
        "parameter_tensors": len(list(net.parameters())),
    }
    for variant in VARIANTS:
        run = vaekit_stepper(splits.train.x, base, variant, batch)
        started = time.perf_counter()
        run(3)
        first = time.perf_counter() - started
        run(10)
        row[f"{variant}_ms"] = round(step_ms(run, max(20, 3000 // batch)), 3)
        if "compile" in variant:
            row[f"{variant}_first_3_steps_s"] = round(first, 1)
    auto = RunConfig.from_dict({**base.to_dict(), "train": {"batch_size": batch}})
    row["auto_reason"] = choose_path(auto, net, splits, torch.device("cpu"), Cluster())
    row["auto"] = auto.train.precision + ("+compile" if auto.train.compile == "on" else "")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    progress.QUIET = True
    rows = []
    print(
        "| data | model | batch | GFLOP/step | " + " | ".join(VARIANTS) + " (ms/step) | "
        "first compiled steps (s) | auto (30 epochs) |"
    )
    print("|---|---|---|---|" + "---|" * len(VARIANTS) + "---|---|")
    for source, model, batch in CASES:
        row = measure(source, model, batch)
        rows.append(row)
        compiles = " / ".join(str(row[f"{v}_first_3_steps_s"]) for v in VARIANTS if "+" in v)
        print(
            f"| {source} | {model} | {batch} | {row['gflop_per_step']} | "
            + " | ".join(str(row[f"{v}_ms"]) for v in VARIANTS)
            + f" | {compiles} | {row['auto']} |",
            flush=True,
        )
    result = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}",
        "rows": rows,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
