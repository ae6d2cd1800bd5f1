"""Training throughput: vaekit's training step (A) against the textbook PyTorch loop (B), side
by side in one process on the same MNIST data and thread count, medians of alternating rounds.

    python benchmarks/throughput.py --rounds 3 --out benchmarks/results/throughput.json

A: ``vaekit.train.fit`` for the reference model (MLP 784-400-20, Bernoulli decoder, Adam 1e-3).
B: the loop everyone writes first: nn.Linear layers, sigmoid then F.binary_cross_entropy(sum),
   a DataLoader over a TensorDataset with shuffle, loss.item() every step.
Also prints the machine's float32 matmul rate at these shapes and the roofline it implies
(training FLOPs per sample = 3 x forward FLOPs), and A as a fraction of it. With
``--quality-epochs 10 --seeds 3`` both loops also train 10 epochs per seed at batch 128 and their
validation ELBOs (one z per example, all 10,000 validation images) are compared: the speed must
not cost quality.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vaekit import progress
from vaekit.config import RunConfig
from vaekit.data import Dataset, DataSplits, load_splits
from vaekit.evaluate import validation_metrics
from vaekit.models import build_model
from vaekit.numerics import denormals_flushed
from vaekit.train import fit, resolve_model_config

LAYERS = [(784, 400), (400, 40), (20, 400), (400, 784)]  # encoder, then decoder


class TextbookVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def textbook_epoch(x: torch.Tensor, batch: int, model=None, optimizer=None) -> float:
    model = model or TextbookVAE()
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x), batch_size=batch, shuffle=True
    )
    started = time.perf_counter()
    for (xb,) in loader:
        recon, mu, logvar = model(xb)
        bce = F.binary_cross_entropy(recon, xb, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - started


@denormals_flushed()  # as vaekit.train runs fit
def vaekit_epoch(splits: DataSplits, config: RunConfig, out: Path, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(config.model)
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    started = time.perf_counter()
    fit(model, splits, config, out, torch.device("cpu"))
    return time.perf_counter() - started, model


@torch.no_grad()
def textbook_elbo(model: TextbookVAE, x: torch.Tensor, seed: int) -> float:
    """Mean ELBO over x with one z per example, as vaekit's validation computes it."""
    torch.manual_seed(seed)
    total = 0.0
    for start in range(0, len(x), 1000):
        xb = x[start : start + 1000]
        recon, mu, logvar = model(xb)
        bce = F.binary_cross_entropy(recon, xb, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        total -= float(bce + kld)
    return total / len(x)


def quality(full: DataSplits, base: RunConfig, epochs: int, seeds: int) -> dict:
    """Validation ELBO after ``epochs`` epochs at batch 128, per seed, for both loops."""
    ours, theirs = [], []
    x, val = full.train.x.flatten(1), full.val.x.flatten(1)
    for seed in range(seeds):
        config = RunConfig.from_dict(
            {**base.to_dict(), "train": {"epochs": epochs, "batch_size": 128, "seed": seed}}
        )
        _, model = vaekit_epoch(full, config, Path("/tmp/vaekit-throughput"), seed)
        ours.append(validation_metrics(model, full.val.x, seed=seed)["elbo"])
        torch.manual_seed(seed)
        textbook = TextbookVAE()
        optimizer = torch.optim.Adam(textbook.parameters(), lr=1e-3)
        for _ in range(epochs):
            textbook_epoch(x, 128, textbook, optimizer)
        theirs.append(textbook_elbo(textbook, val, seed))
        print(f"seed {seed}: vaekit {ours[-1]:.2f}, textbook {theirs[-1]:.2f}", flush=True)
    return {
        "epochs": epochs,
        "seeds": seeds,
        "vaekit_val_elbo": ours,
        "textbook_val_elbo": theirs,
        "vaekit_mean": statistics.mean(ours),
        "textbook_mean": statistics.mean(theirs),
        "vaekit_sd": statistics.stdev(ours) if seeds > 1 else 0.0,
        "textbook_sd": statistics.stdev(theirs) if seeds > 1 else 0.0,
    }


def matmul_gflops(batch: int) -> float:
    """float32 GEMM rate at the model's shapes (forward and both backward products)."""
    total_flops, total_time = 0.0, 0.0
    for fan_in, fan_out in LAYERS:
        a, w, g = (
            torch.randn(batch, fan_in),
            torch.randn(fan_in, fan_out),
            torch.randn(batch, fan_out),
        )
        for left, right in ((a, w), (g, w.T), (a.T, g)):
            left @ right
            started = time.perf_counter()
            for _ in range(20):
                left @ right
            total_time += time.perf_counter() - started
            total_flops += 20 * 2 * left.shape[0] * left.shape[1] * right.shape[1]
    return total_flops / total_time / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--quality-epochs", type=int, default=0, help="0: skip the ELBO check")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    progress.QUIET = True
    base = RunConfig.from_dict(
        {
            "model": {"latent_dim": 20, "hidden": [400]},
            "data": {"source": "mnist"},
            "train": {"epochs": 1},
        }
    )
    full = load_splits(base.data)
    # A tiny validation split keeps A's timing to the training step.
    splits = DataSplits(
        full.train,
        Dataset(full.val.x[:10], None),
        None,
        full.shape,
        full.kind,
        full.transform,
        full.source,
    )
    resolve_model_config(base, splits)
    x = full.train.x.flatten(1)
    flops_per_sample = 3 * sum(2 * i * o for i, o in LAYERS)
    results = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}",
        "flops_per_sample": flops_per_sample,
        "rows": [],
    }
    for batch in args.batches:
        config = RunConfig.from_dict(
            {**base.to_dict(), "train": {"epochs": 1, "batch_size": batch}}
        )
        a_times, b_times = [], []
        for _ in range(args.rounds):
            a_times.append(vaekit_epoch(splits, config, Path("/tmp/vaekit-throughput"))[0])
            b_times.append(textbook_epoch(x, batch))
        a = len(x) / statistics.median(a_times)
        b = len(x) / statistics.median(b_times)
        gflops = matmul_gflops(batch)
        roofline = gflops * 1e9 / flops_per_sample
        row = {
            "batch": batch,
            "vaekit_samples_per_s": round(a),
            "textbook_samples_per_s": round(b),
            "ratio": round(a / b, 2),
            "matmul_gflops": round(gflops, 1),
            "roofline_samples_per_s": round(roofline),
            "fraction_of_roofline": round(a / roofline, 2),
            "rounds": args.rounds,
        }
        results["rows"].append(row)
        print(json.dumps(row), flush=True)
    print(f"\nMachine: {results['machine']}; medians of {args.rounds} alternating rounds\n")
    print(
        "| batch | vaekit samples/s | textbook samples/s | A/B | matmul GFLOP/s | roofline "
        "samples/s | A / roofline |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results["rows"]:
        print(
            f"| {r['batch']} | {r['vaekit_samples_per_s']:,} | {r['textbook_samples_per_s']:,} | "
            f"{r['ratio']} | {r['matmul_gflops']} | {r['roofline_samples_per_s']:,} | "
            f"{r['fraction_of_roofline']} |"
        )
    if args.quality_epochs:
        q = quality(full, base, args.quality_epochs, args.seeds)
        results["quality"] = q
        print(
            f"\nValidation ELBO after {q['epochs']} epochs, batch 128, {q['seeds']} seeds: "
            f"vaekit {q['vaekit_mean']:.2f} ± {q['vaekit_sd']:.2f}, textbook "
            f"{q['textbook_mean']:.2f} ± {q['textbook_sd']:.2f} (mean ± sd over seeds)"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
