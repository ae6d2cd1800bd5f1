"""The MNIST likelihood protocol: dynamically binarised MNIST, test NLL with K = 5000 importance
samples on all 10,000 test images, vaekit's models beside pythae 0.1.2's at equal wall-clock.

    python3 -m venv /tmp/nll-venv && /tmp/nll-venv/bin/pip install -e . pythae==0.1.2 torch==2.13.0
    /tmp/nll-venv/bin/python benchmarks/mnist_nll.py --budget 60 \
        --models vae iwae vamp iaf two-layer pythae-vae pythae-iwae pythae-vamp

Each model gets the same training budget, one after another in one process: a short probe
times an epoch, the run gets as many epochs as fit the budget. vaekit's models: an MLP
(hidden 400 400, latent 50, Bernoulli decoder, Adam, batch 100, learning rate decayed to
--lr-final over the run as in Burda et al. 2015); the IWAE with k = 50; the VampPrior with
K = 500; the IAF posterior (2 steps); the two-layer IWAE (k = 50) of Burda et al. (z1 100 /
z2 50, hidden 200 200 and 100 100). pythae's: the networks and settings of its binary-MNIST
reproducibility scripts (benchmarks/mnist_pythae.py; needs pythae in this venv only).
By default every model trains on all 60,000 training images (--train-on-all, Burda et al.'s
protocol) and keeps its last weights. Every model is evaluated by vaekit's estimator on the
same test images; pythae's models also by pythae's own get_nll on --pythae-examples images,
a cross-check of the two estimators. Prints a markdown table and the evaluation throughput;
rows are merged by model into the --out JSON file.
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
from vaekit.config.run import DataConfig, RunConfig
from vaekit.core import progress
from vaekit.data.splits import load_splits
from vaekit.metrics.likelihood import importance_log_likelihood

PUBLISHED = {
    "vae": "89.9 (Rezende & Mohamed 2015; pythae 89.78); ~86.9 in other public FC benchmarks",
    "iwae": "87.1 with k=50 (Burda et al. 2015; pythae 86.82); 84.78 from 3,280 epochs",
    "vamp": "85.57 (Tomczak & Welling 2018, one stochastic layer, K = 500 pseudo-inputs)",
    "iaf": "~84.9 with a ResNet VAE (Kingma et al. 2016 use conv nets; no MLP figure)",
    "two-layer": "85.33 with k=50 (Burda et al. 2015 table 1); 82.90 from 3,280 epochs",
    "pythae-vae": "89.78 (pythae's README, 500 epochs)",
    "pythae-iwae": "86.82 (pythae's README, 3,280 epochs)",
    "pythae-vamp": "85.77 (pythae's README, 2,000 epochs)",
}
TARGETS = {"vae": 86.5, "iwae": 85.0, "vamp": 85.0, "iaf": 85.0, "two-layer": 85.0}
LABELS = {
    "vae": "vae",
    "iwae": "iwae (k=50)",
    "vamp": "vae + VampPrior (K=500)",
    "iaf": "vae + IAF posterior (2 steps)",
    "two-layer": "two-layer iwae (k=50; z1 100, z2 50)",
    "pythae-vae": "pythae VAE",
    "pythae-iwae": "pythae IWAE (k=50)",
    "pythae-vamp": "pythae VAMP (K=500)",
}
SPECS = {  # vaekit's model options
    "vae": {"model": "vae"},
    "iwae": {"model": "iwae", "k": 50},
    "vamp": {"model": "vae", "prior": "vamp", "pseudo_inputs": 500},
    "iaf": {"model": "vae", "posterior": "iaf"},
    "two-layer": {
        "model": "iwae",
        "k": 50,
        "hidden": [200, 200],
        "lower_latent_dim": 100,
        "lower_hidden": [100, 100],
    },
}


def run_config(
    model: dict, args: argparse.Namespace, epochs: int, lr: float = 1e-3, **train: object
) -> RunConfig:
    return RunConfig.from_dict(
        {
            "model": {"latent_dim": 50, "hidden": args.hidden, **model},
            "data": {"source": "mnist", "binarize": "dynamic", "train_on_all": args.train_on_all},
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
    parser.add_argument(
        "--budget", "--minutes", type=float, default=60, help="training minutes per model"
    )
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--test-examples", type=int, default=10000)
    parser.add_argument("--models", nargs="+", default=["vae", "iwae"], choices=list(LABELS))
    parser.add_argument("--runs", default="benchmarks/results/mnist-runs")
    parser.add_argument("--hidden", type=int, nargs="+", default=[400, 400])
    parser.add_argument("--lr-final", type=float, default=1e-4)
    parser.add_argument(
        "--train-on-all",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train on all 60,000 training images (Burda et al.); else 50,000, 10,000 held out",
    )
    parser.add_argument("--pythae-k", type=int, default=1000, help="K of pythae's get_nll")
    parser.add_argument("--pythae-examples", type=int, default=1000)
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
    data = load_splits(
        DataConfig(source="mnist", binarize="dynamic", train_on_all=args.train_on_all)
    )
    test = data.test.x[: args.test_examples]  # binarised once with a fixed seed, for all
    vae_minutes = 0.0
    trained = []
    for name in args.models:
        note = ""
        if name.startswith("pythae-"):
            import mnist_pythae  # the peer: pythae must be installed in this venv

            model, seconds, epochs = mnist_pythae.train_for(
                name.removeprefix("pythae-"), data.train.x, data.val.x, args.budget
            )
            trained.append((name, mnist_pythae.PythaeLikelihood(model), seconds, epochs, note))
            continue
        if name == "iwae" and args.iwae_from_vae is not None:
            vae_run = str(Path(args.runs) / "vae")
            run, seconds, epochs = train_for(
                name, SPECS[name], args, args.iwae_from_vae, init_from=vae_run, lr=3e-4
            )
            note = f"started from the VAE's best weights; includes its {vae_minutes:.1f} min"
            seconds += vae_minutes * 60
        else:
            run, seconds, epochs = train_for(name, SPECS[name], args, args.budget)
        if name == "vae":
            vae_minutes = seconds / 60
        trained.append((name, run.model, seconds, epochs, note))
    # Training may have been pinned to fewer cores; the evaluation uses the whole machine.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    for name, model, seconds, epochs, note in trained:
        started = time.perf_counter()
        ll = importance_log_likelihood(model, test, k=args.k, seed=0)
        eval_seconds = time.perf_counter() - started
        row = {
            "model": LABELS[name],
            "side": "pythae 0.1.2" if name.startswith("pythae-") else "vaekit",
            "epochs": epochs,
            "train_on_all": args.train_on_all,
            "train_threads": args.threads or torch.get_num_threads(),
            "train_minutes": round(seconds / 60, 1),
            "test_nll": round(-float(ll.mean()), 2),
            "stderr": round(float(ll.std() / math.sqrt(len(ll))), 3),
            "k": args.k,
            "test_examples": len(test),
            "eval_threads": torch.get_num_threads(),
            "eval_seconds": round(eval_seconds, 1),
            "samples_per_second": round(len(test) * args.k / eval_seconds),
            "target": TARGETS.get(name),
            "published": PUBLISHED[name],
            **({"note": note} if note else {}),
        }
        if name.startswith("pythae-"):
            import mnist_pythae

            few = test[: args.pythae_examples]
            mine = importance_log_likelihood(model, few, k=args.pythae_k, seed=0)
            row["cross_check"] = {
                "examples": len(few),
                "k": args.pythae_k,
                "vaekit_estimator": round(-float(mine.mean()), 2),
                "pythae_get_nll": round(
                    mnist_pythae.pythae_nll(model.model, few, args.pythae_k), 2
                ),
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"\nMachine: {machine}\n")
    print(
        "| model | side | epochs | train min | test NLL (nats) | published | eval s | samples/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['side']} | {r['epochs']} | {r['train_minutes']} | "
            f"{r['test_nll']} ± {r['stderr']} | {r['published']} | {r['eval_seconds']} | "
            f"{r['samples_per_second']:,} |"
        )
    if args.out:
        out = Path(args.out)
        old = json.loads(out.read_text())["rows"] if out.exists() else []
        mine = {r["model"] for r in rows}
        kept = [r for r in old if r["model"] not in mine]
        out.write_text(json.dumps({"machine": machine, "rows": kept + rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
