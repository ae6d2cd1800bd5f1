"""Is the importance-sampled log-likelihood accurate in bf16? The same estimate (same model,
same test images, same seed) in float32 and under bf16 autocast, on an MNIST VAE trained by the
default ``vaekit train`` path.

    python benchmarks/eval_precision.py --epochs 10 --k 1000 --n 2000 \
        --out benchmarks/results/eval_precision.json

The verdict the issue asks for: bf16 is accurate here when the mean of the per-image
differences (bf16 - fp32) is within the float32 estimate's standard error over images. Also
prints both estimates' seconds (as a ratio: machines differ).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import torch

import vaekit
from vaekit.config.run import RunConfig
from vaekit.core import progress
from vaekit.metrics.likelihood import importance_log_likelihood


def estimate(model, x: torch.Tensor, k: int, bf16: bool) -> tuple[torch.Tensor, float]:
    """Per-image log p(x) and the seconds it took; seed 0 both times."""
    started = time.perf_counter()
    with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        ll = importance_log_likelihood(model, x, k=k, seed=0, compile=False)
    return ll, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--n", type=int, default=2000, help="test images (the first N)")
    parser.add_argument("--run", default="/tmp/vaekit-eval-precision")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    progress.QUIET = True
    config = RunConfig.from_dict(
        {
            # Bernoulli, as measured in docs/performance.md (before grey levels' default changed)
            "model": {"latent_dim": 20, "hidden": [400], "likelihood": "bernoulli"},
            "data": {"source": "mnist"},
            "train": {"epochs": args.epochs, "seed": 0},
        }
    )
    run = vaekit.train(config, args.run, force=True)
    x = run.data("test").x[: args.n]
    fp32, fp32_s = estimate(run.model, x, args.k, bf16=False)
    bf16, bf16_s = estimate(run.model, x, args.k, bf16=True)
    diff = bf16 - fp32
    stderr = float(fp32.std() / math.sqrt(len(fp32)))
    row = {
        "model": "vae 784-400-20, trained by vaekit train's default path",
        "training": f"{run.config.train.precision}, compile {run.config.train.compile}",
        "epochs": args.epochs,
        "test_images": len(x),
        "k": args.k,
        "nll_fp32": round(-float(fp32.mean()), 3),
        "nll_bf16": round(-float(bf16.mean()), 3),
        "fp32_stderr": round(stderr, 3),
        "mean_difference_bf16_minus_fp32": round(float(diff.mean()), 3),
        "difference_sd_per_image": round(float(diff.std()), 3),
        "bf16_within_fp32_stderr": abs(float(diff.mean())) <= stderr,
        "bf16_time_over_fp32_time": round(bf16_s / fp32_s, 2),
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, torch {torch.__version__}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}",
    }
    print(json.dumps(row, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
