"""The MNIST likelihood protocol: dynamically binarised MNIST, test NLL with K = 5000 importance
samples on all 10,000 test images, against the published anchors.

    python benchmarks/mnist_nll.py --minutes 55 --iwae-from-vae 38 --threads 1

Trains a VAE, an IWAE (k = 50) and/or a VAE with the VampPrior (K = 500) with an MLP (Bernoulli
decoder, Adam, batch 100, learning rate decayed to --lr-final over the run as in Burda et al.
2015) for a wall-clock budget: a short
probe times an epoch, the run gets as many epochs as fit the budget, then the best-validation
weights are evaluated. Prints a markdown table ours vs published and the evaluation throughput
(importance samples per second); rows are merged by model into the --out JSON file, so two
models can be run as two processes side by side.
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
from vaekit import progress
from vaekit.config import RunConfig
from vaekit.evaluate import importance_log_likelihood

PUBLISHED = {
    "vae": "89.9 (Rezende & Mohamed 2015; pythae 89.78); ~86.9 in other public FC benchmarks",
    "iwae": "87.1 with k=50 (Burda et al. 2015; pythae 86.82)",
    "vamp": "85.57 (Tomczak & Welling 2018, one stochastic layer, K = 500 pseudo-inputs)",
}
TARGETS = {"vae": 86.5, "iwae": 85.0, "vamp": 85.0}
LABELS = {"vae": "vae", "iwae": "iwae (k=50)", "vamp": "vae + VampPrior (K=500)"}


def run_config(
    model: dict, args: argparse.Namespace, epochs: int, lr: float = 1e-3, **train: object
) -> RunConfig:
    return RunConfig.from_dict(
        {
            "model": {"latent_dim": 50, "hidden": args.hidden, **model},
            "data": {"source": "mnist", "binarize": "dynamic"},
            "train": {
                "epochs": epochs,
                "batch_size": 100,
                "lr": lr,
                "lr_schedule": "exponential",
                "lr_final": args.lr_final if lr > args.lr_final else lr / 10,
                "seed": 0,
                **train,
            },
        }
    )


def train_for(
    name: str, model: dict, args: argparse.Namespace, minutes: float, **train: object
) -> tuple[vaekit.Run, float, int]:
    """Probe 2 epochs for the epoch time (the second), then one run of as many epochs as fit
    the budget (the probe counts against it)."""
    out = Path(args.runs)
    started = time.perf_counter()
    vaekit.train(run_config(model, args, 2, **train), out / f"{name}-probe", force=True)
    rows = (out / f"{name}-probe" / "metrics.jsonl").read_text().splitlines()
    epoch_seconds = max(json.loads(row)["seconds"] for row in rows[1:])
    left = minutes * 60 - (time.perf_counter() - started)
    epochs = max(1, int(left / (epoch_seconds * 1.03)))  # 3 %: pictures, checkpoints, noise
    print(f"{name}: {epoch_seconds:.2f} s/epoch -> {epochs} epochs", flush=True)
    vaekit.train(run_config(model, args, epochs, **train), out / name, force=True)
    return vaekit.load(out / name, weights="best"), time.perf_counter() - started, epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60, help="training budget per model")
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--test-examples", type=int, default=10000)
    parser.add_argument("--models", nargs="+", default=["vae", "iwae"], choices=list(LABELS))
    parser.add_argument("--runs", default="benchmarks/results/mnist-runs")
    parser.add_argument("--hidden", type=int, nargs="+", default=[400, 400])
    parser.add_argument("--lr-final", type=float, default=1e-4)
    parser.add_argument(
        "--iwae-from-vae",
        type=float,
        default=None,
        metavar="MINUTES",
        help="train the IWAE for MINUTES from the VAE's best weights (run vae first)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--out", default=None, help="JSON file for the results (rows merged)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    progress.QUIET = True
    specs = {
        "vae": {"model": "vae"},
        "iwae": {"model": "iwae", "k": 50},
        "vamp": {"model": "vae", "prior": "vamp", "pseudo_inputs": 500},
    }
    vae_minutes = 0.0
    trained = []
    for name in args.models:
        note = ""
        if name == "iwae" and args.iwae_from_vae is not None:
            vae_run = str(Path(args.runs) / "vae")
            run, seconds, epochs = train_for(
                name, specs[name], args, args.iwae_from_vae, init_from=vae_run, lr=3e-4
            )
            note = f"started from the VAE's best weights; includes its {vae_minutes:.1f} min"
            seconds += vae_minutes * 60
        else:
            run, seconds, epochs = train_for(name, specs[name], args, args.minutes)
        if name == "vae":
            vae_minutes = seconds / 60
        trained.append((name, run, seconds, epochs, note))
    # Training may have been pinned to fewer cores; the evaluation uses the whole machine.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    for name, run, seconds, epochs, note in trained:
        test = run.data("test")  # binarised once with a fixed seed (data.split_seed + 1)
        x = test.x[: args.test_examples]
        started = time.perf_counter()
        ll = importance_log_likelihood(run.model, x, k=args.k, seed=0)
        eval_seconds = time.perf_counter() - started
        nll = -float(ll.mean())
        row = {
            "model": LABELS[name],
            "hidden": args.hidden,
            "epochs": epochs,
            "best_epoch": int(run.summary["best_epoch"]),
            "train_threads": args.threads or torch.get_num_threads(),
            "train_minutes": round(seconds / 60, 1),
            "test_nll": round(nll, 2),
            "stderr": round(float(ll.std() / math.sqrt(len(ll))), 3),
            "k": args.k,
            "test_examples": len(x),
            "eval_threads": torch.get_num_threads(),
            "eval_seconds": round(eval_seconds, 1),
            "samples_per_second": round(len(x) * args.k / eval_seconds),
            "target": TARGETS[name],
            "published": PUBLISHED[name],
            **({"note": note} if note else {}),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"\nMachine: {machine}\n")
    print(
        "| model | epochs | train min | test NLL (nats) | target | published | K | "
        "eval s | samples/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['epochs']} | {r['train_minutes']} | {r['test_nll']} ± "
            f"{r['stderr']} | ≤ {r['target']} | {r['published']} | {r['k']} | "
            f"{r['eval_seconds']} | {r['samples_per_second']:,} |"
        )
    if args.out:
        out = Path(args.out)
        old = json.loads(out.read_text())["rows"] if out.exists() else []
        mine = {r["model"] for r in rows}
        kept = [r for r in old if r["model"] not in mine]
        out.write_text(json.dumps({"machine": machine, "rows": kept + rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
