"""Training throughput: vaekit's training step (A) against the textbook PyTorch loop (B), side
by side in one process on the same MNIST data and thread count.

    python benchmarks/throughput.py --rounds 7 --quality-epochs 10 --seeds 3 \
        --out benchmarks/results/throughput.json

A: ``vaekit.train.fit`` for the reference model (MLP 784-400-20, Bernoulli decoder, Adam 1e-3),
once per variant asked for: fp32 (the default), bf16 (``--precision bf16``), and either of them
with ``--compile`` (fp32+compile, bf16+compile). B: the loop everyone writes first: nn.Linear
layers, sigmoid then F.binary_cross_entropy(sum), a DataLoader over a TensorDataset with shuffle,
loss.item() every step, float32. Each round trains every variant for two epochs from a fresh model,
in an order rotated from round to round, and times the second epoch (steady state: after
torch.compile's one-off compile and the first-epoch allocations, for the textbook loop too); the
table gives medians over rounds, and the ratio A/B is the median of the per-round ratios (a round's
variants ran seconds apart, so a slow spell of the machine hits both sides of a ratio). Also prints
the machine's matmul rate at these shapes in float32 and bfloat16 and the roofline it implies (the
FLOPs of the matrix products a training step really runs: forward, weight gradients, and input
gradients except for the first layer, whose input needs none), and A as a fraction of its
precision's roofline. With ``--quality-epochs 10 --seeds 3`` every variant also trains 10 epochs
per seed at batch 128 and their validation ELBOs (one z per example, all 10,000 validation images)
are compared: the speed must not cost quality."""

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
TEXTBOOK = "textbook"
VARIANTS = ["fp32", "bf16", "fp32+compile", "bf16+compile"]


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


def textbook_second_epoch(x: torch.Tensor, batch: int) -> float:
    model = TextbookVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    textbook_epoch(x, batch, model, optimizer)
    return textbook_epoch(x, batch, model, optimizer)


def variant_config(base: RunConfig, variant: str, **train) -> RunConfig:
    """fp32, bf16, fp32+compile or bf16+compile as vaekit's training options."""
    precision, _, compiled = variant.partition("+")
    return with_train(base, precision=precision, compile=compiled == "compile", **train)


@denormals_flushed()  # as vaekit.train runs fit
def vaekit_fit(splits: DataSplits, config: RunConfig, out: Path, seed: int = 0):
    """Train with ``fit``; return the last epoch's seconds (from its metrics row) and the model."""
    torch.manual_seed(seed)
    model = build_model(config.model)
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    history = fit(model, splits, config, out, torch.device("cpu"))
    return history[-1]["seconds"], model


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


def with_train(base: RunConfig, **train) -> RunConfig:
    return RunConfig.from_dict({**base.to_dict(), "train": {**base.to_dict()["train"], **train}})


def quality(full: DataSplits, base: RunConfig, variants, epochs: int, seeds: int) -> dict:
    """Validation ELBO after ``epochs`` epochs at batch 128, per seed, for every variant."""
    scores: dict[str, list[float]] = {v: [] for v in variants} | {TEXTBOOK: []}
    x, val = full.train.x.flatten(1), full.val.x.flatten(1)
    for seed in range(seeds):
        for variant in variants:
            config = variant_config(base, variant, epochs=epochs, batch_size=128, seed=seed)
            _, model = vaekit_fit(full, config, Path("/tmp/vaekit-throughput"), seed)
            scores[variant].append(validation_metrics(model, full.val.x, seed=seed)["elbo"])
        torch.manual_seed(seed)
        textbook = TextbookVAE()
        optimizer = torch.optim.Adam(textbook.parameters(), lr=1e-3)
        for _ in range(epochs):
            textbook_epoch(x, 128, textbook, optimizer)
        scores[TEXTBOOK].append(textbook_elbo(textbook, val, seed))
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in scores.items()))
    return {
        "epochs": epochs,
        "seeds": seeds,
        "val_elbo": scores,
        "mean": {k: statistics.mean(v) for k, v in scores.items()},
        "sd": {k: statistics.stdev(v) if seeds > 1 else 0.0 for k, v in scores.items()},
    }


def step_products(batch: int):
    """(rows, inner, cols) of every matrix product in one training step of the reference model:
    each layer's forward and weight gradient, and the input gradient of all but the first."""
    for layer, (fan_in, fan_out) in enumerate(LAYERS):
        yield batch, fan_in, fan_out  # forward: x W
        yield fan_in, batch, fan_out  # weight gradient: x^T g
        if layer > 0:
            yield batch, fan_out, fan_in  # input gradient: g W^T


def flops_per_sample() -> int:
    return sum(2 * m * k * n for m, k, n in step_products(1))


def matmul_gflops(batch: int, dtype: torch.dtype) -> float:
    """GEMM rate at the shapes of one training step at ``batch``, in ``dtype``."""
    total_flops, total_time = 0.0, 0.0
    for m, k, n in step_products(batch):
        left, right = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        left @ right
        started = time.perf_counter()
        for _ in range(20):
            left @ right
        total_time += time.perf_counter() - started
        total_flops += 20 * 2 * m * k * n
    return total_flops / total_time / 1e9


def timed_rounds(splits, x, base, batch, variants, rounds) -> dict[str, list[float]]:
    """Seconds of the second epoch of every variant, ``rounds`` times, order rotated."""
    variants = [*variants, TEXTBOOK]
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(rounds):
        for variant in variants[r % len(variants) :] + variants[: r % len(variants)]:
            if variant == TEXTBOOK:
                times[variant].append(textbook_second_epoch(x, batch))
            else:
                config = variant_config(base, variant, epochs=2, batch_size=batch)
                seconds, _ = vaekit_fit(splits, config, Path("/tmp/vaekit-throughput"))
                times[variant].append(seconds)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
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
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    results = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}",
        "flops_per_sample": flops_per_sample(),
        "rows": [],
    }
    print(f"{results['machine']}; {results['flops_per_sample']:,} matmul FLOPs per sample")
    for batch in args.batches:
        times = timed_rounds(splits, x, base, batch, args.variants, args.rounds)
        textbook = times[TEXTBOOK]
        for variant in args.variants:
            ours = times[variant]
            gflops = matmul_gflops(batch, dtypes[variant.partition("+")[0]])
            roofline = gflops * 1e9 / results["flops_per_sample"]
            a = len(x) / statistics.median(ours)
            ratios = [b / a_ for a_, b in zip(ours, textbook, strict=True)]
            row = {
                "batch": batch,
                "variant": variant,
                "vaekit_samples_per_s": round(a),
                "textbook_samples_per_s": round(len(x) / statistics.median(textbook)),
                "ratio": round(statistics.median(ratios), 2),
                "ratio_min_max": [round(min(ratios), 2), round(max(ratios), 2)],
                "matmul_gflops": round(gflops, 1),
                "roofline_samples_per_s": round(roofline),
                "fraction_of_roofline": round(a / roofline, 2),
                "rounds": args.rounds,
            }
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
    print(f"\nMachine: {results['machine']}; medians of {args.rounds} rotated rounds\n")
    print(
        "| batch | vaekit variant | vaekit samples/s | textbook (fp32) samples/s | A/B (min-max)"
        " | matmul GFLOP/s | roofline samples/s | A / roofline |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results["rows"]:
        low, high = r["ratio_min_max"]
        print(
            f"| {r['batch']} | {r['variant']} | {r['vaekit_samples_per_s']:,} | "
            f"{r['textbook_samples_per_s']:,} | **{r['ratio']}** ({low}-{high}) | "
            f"{r['matmul_gflops']} | {r['roofline_samples_per_s']:,} | "
            f"{r['fraction_of_roofline']} |"
        )
    if args.quality_epochs:
        q = quality(full, base, args.variants, args.quality_epochs, args.seeds)
        results["quality"] = q
        print(
            f"\nValidation ELBO after {q['epochs']} epochs, batch 128, {q['seeds']} seeds "
            "(mean ± sd over seeds): "
            + ", ".join(f"{k} {q['mean'][k]:.2f} ± {q['sd'][k]:.2f}" for k in q["mean"])
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
