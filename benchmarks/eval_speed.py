"""Speed of the MNIST-protocol evaluation: importance-sampled log p(x) with K = 5000 on all
10,000 (binarised) test images for a 784-400-50 MLP VAE, in importance samples per second.

    python benchmarks/eval_speed.py --epochs 60 --out benchmarks/results/eval_speed.json

Trains the model first (``--epochs``, dynamic binarisation, batch 100, Adam 1e-3) unless
``--run`` names an existing run folder; a trained decoder matters here, because its confident
logits are what made evaluation slow before denormals were flushed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import torch

import vaekit
from vaekit.config.run import RunConfig
from vaekit.core import progress
from vaekit.metrics.likelihood import importance_log_likelihood


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="an existing 784-400-50 MNIST run folder")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--train-threads", type=int, default=None)
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--train-only", action="store_true", help="train, evaluate later")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    progress.QUIET = True
    run_dir = Path(args.run or "benchmarks/results/mnist-runs/eval-speed-vae")
    if args.run is None:
        if args.train_threads:
            torch.set_num_threads(args.train_threads)
        config = RunConfig.from_dict(
            {
                "model": {"latent_dim": 50, "hidden": [400]},
                "data": {"source": "mnist", "binarize": "dynamic"},
                "train": {"epochs": args.epochs, "batch_size": 100, "seed": 0},
            }
        )
        vaekit.train(config, run_dir, force=True)
        if args.train_only:
            return
        torch.set_num_threads(os.cpu_count() or 1)
    run = vaekit.load(run_dir)
    x = run.data("test").x
    started = time.perf_counter()
    ll = importance_log_likelihood(run.model, x, k=args.k, seed=0)
    seconds = time.perf_counter() - started
    row = {
        "model": f"vae 784-{run.config.model.hidden}-{run.config.model.latent_dim}",
        "trained_epochs": len(run.metrics),
        "test_examples": len(x),
        "k": args.k,
        "test_nll": round(-float(ll.mean()), 2),
        "stderr": round(float(ll.std() / math.sqrt(len(ll))), 3),
        "eval_seconds": round(seconds, 1),
        "samples_per_second": round(len(x) * args.k / seconds),
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, torch {torch.__version__}",
    }
    print(json.dumps(row, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
