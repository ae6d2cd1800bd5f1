"""Training throughput: vaekit's training step (A) against the textbook PyTorch loop (B), side
by side in one process on the same MNIST data and thread count.

    python benchmarks/throughput.py --quality-epochs 10 --seeds 3 \
        --out benchmarks/results/throughput.json

A: the step ``fit`` runs for every batch (``vaekit.training.step.training_step``: noise drawn
outside the loss, the loss, its gradients, the on-device non-finite flag, Adam, the epoch's running
sums; with ``--compile`` all of it one compiled graph, ``CompiledStep``), on batches sliced by
``index_select`` from one tensor in a seeded permutation as ``fit`` slices them, for the reference
model (MLP 784-400-20, Adam 1e-3, the likelihood ``vaekit train`` picks for MNIST — the
discretised logistic — or ``--likelihood bernoulli``). One A per variant: fp32, bf16
(``--precision bf16``), fp32+compile and bf16+compile (``--compile``).
B: the loop everyone writes first, float32: nn.Linear layers, sigmoid then
F.binary_cross_entropy(sum), a DataLoader over a TensorDataset with shuffle, loss.item() every step.

All variants live in one process and take turns: each round runs ``--chunk`` examples (12,800 =
100 steps at batch 128) of every variant, in an order rotated from round to round, after one
untimed chunk each (where torch.compile compiles). Samples/s are medians over rounds; A/B is the
median of the per-round ratios, with its quartiles: a round's chunks run within a second or two of
each other, so the slow spells of a shared machine hit both sides of a ratio. What fit does once
per epoch (validation, the checkpoint) is not in these numbers.

Also prints the matmul rate at the step's shapes in float32 and bfloat16 and the roofline it
implies (the FLOPs of the matrix products a step really runs: forward, weight gradients, and input
gradients except the first layer's), and A as a fraction of its own precision's roofline and of
the float32 one (the issue's definition of the machine's roofline, whatever A's precision). With
``--quality-epochs 10 --seeds 3`` every variant also trains 10 epochs per seed at batch 128 with
the real ``fit`` and the validation ELBOs (one z per example, all 10,000 validation images) are
compared: the speed must not cost quality.
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

from vaekit.config.run import RunConfig
from vaekit.core import progress
from vaekit.core.distributed import Cluster
from vaekit.core.numerics import denormals_flushed
from vaekit.data.splits import DataSplits, load_splits
from vaekit.metrics.likelihood import validation_metrics
from vaekit.models.registry import build_model
from vaekit.training.loop import fit
from vaekit.training.setup import choose_path, resolve_model_config
from vaekit.training.step import build_optimizer, training_step

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


def textbook_loss(model: TextbookVAE, xb: torch.Tensor) -> torch.Tensor:
    """The negative ELBO summed over the batch, as the textbook writes it."""
    recon, mu, logvar = model(xb)
    bce = F.binary_cross_entropy(recon, xb, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def textbook_step(model: TextbookVAE, optimizer: torch.optim.Optimizer, xb: torch.Tensor) -> None:
    loss = textbook_loss(model, xb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    loss.item()


def textbook_epoch(x: torch.Tensor, batch: int, model, optimizer) -> None:
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x), batch_size=batch, shuffle=True
    )
    for (xb,) in loader:
        textbook_step(model, optimizer, xb)


def variant_config(base: RunConfig, variant: str, **train) -> RunConfig:
    """fp32, bf16, fp32+compile or bf16+compile as vaekit's training options."""
    precision, _, compiled = variant.partition("+")
    compile = "on" if compiled == "compile" else "off"
    return with_train(base, precision=precision, compile=compile, **train)


def default_variant(full: DataSplits, base: RunConfig, batch: int) -> tuple[str, str]:
    """The variant ``vaekit train`` runs by default (``--precision auto --compile auto``, 30
    epochs) for the reference model at ``batch`` on this machine, and auto's reason."""
    config = with_train(base, precision="auto", compile="auto", epochs=30, batch_size=batch)
    model = build_model(config.model)
    reason = choose_path(config, model, full, torch.device("cpu"), Cluster())
    compiled = "+compile" if config.train.compile == "on" else ""
    return config.train.precision + compiled, reason


@denormals_flushed()  # as vaekit.train runs fit
def vaekit_fit(splits: DataSplits, config: RunConfig, out: Path, seed: int = 0):
    """Train with ``fit`` (the quality check); return the trained model."""
    torch.manual_seed(seed)
    model = build_model(config.model)
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    fit(model, splits, config, out, torch.device("cpu"))
    return model


@torch.no_grad()
def textbook_elbo(model: TextbookVAE, x: torch.Tensor, seed: int) -> float:
    """Mean ELBO over x with one z per example, as vaekit's validation computes it."""
    torch.manual_seed(seed)
    total = 0.0
    for start in range(0, len(x), 1000):
        total -= float(textbook_loss(model, x[start : start + 1000]))
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
            model = vaekit_fit(full, config, Path("/tmp/vaekit-throughput"), seed)
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


def matmul_gflops(batch: int, dtype: torch.dtype, repeats: int = 5) -> float:
    """GEMM rate at the shapes of one training step at ``batch``, in ``dtype``: the best of
    ``repeats`` measurements, as a roofline is the machine's peak (a slow spell of this shared
    machine would otherwise lower the roofline and flatter the fraction)."""
    products = [
        (torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype), 2 * m * k * n)
        for m, k, n in step_products(batch)
    ]
    best = 0.0
    for _ in range(repeats):
        total_flops, total_time = 0.0, 0.0
        for left, right, flops in products:
            left @ right
            started = time.perf_counter()
            for _ in range(20):
                left @ right
            total_time += time.perf_counter() - started
            total_flops += 20 * flops
        best = max(best, total_flops / total_time / 1e9)
    return best


def textbook_stepper(x: torch.Tensor, batch: int):
    """run(steps): B's loop for ``steps`` batches, its DataLoader carried across calls."""
    model = TextbookVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x), batch_size=batch, shuffle=True
    )
    batches = iter(loader)

    def run(steps: int) -> None:
        nonlocal batches
        for _ in range(steps):
            xb = next(batches, None)
            if xb is None:
                batches = iter(loader)
                xb = next(batches)
            textbook_step(model, optimizer, xb[0])

    return run


def vaekit_stepper(x: torch.Tensor, base: RunConfig, variant: str, batch: int):
    """run(steps): vaekit's training step (``vaekit.training.step.training_step``, what ``fit``
    calls per batch) on batches sliced from one tensor by a seeded permutation, as ``fit`` slices
    them."""
    config = variant_config(base, variant, batch_size=batch)
    torch.manual_seed(0)
    model = build_model(config.model)
    model.train()
    optimizer = build_optimizer(list(model.parameters()), config.train)
    noise = torch.Generator().manual_seed(1)
    step = training_step(model, model, optimizer, config.train, torch.device("cpu"), noise)
    order, position = torch.randperm(len(x)), 0
    totals = torch.zeros(3, dtype=torch.float64)

    @denormals_flushed()  # as vaekit.train runs fit
    def run(steps: int) -> None:
        nonlocal order, position
        for _ in range(steps):
            if position + batch > len(x):
                order, position = torch.randperm(len(x)), 0
            step(x.index_select(0, order[position : position + batch]), 1.0, totals)
            position += batch

    return run


def timed_rounds(x, base, batch, variants, rounds, chunk) -> dict[str, list[float]]:
    """Seconds per ``chunk`` examples of every variant, ``rounds`` times, the order rotated
    each round; every variant first runs one untimed chunk (torch.compile compiles there)."""
    steps = max(1, chunk // batch)
    runners = {v: vaekit_stepper(x, base, v, batch) for v in variants}
    runners[TEXTBOOK] = textbook_stepper(x.flatten(1), batch)
    names = list(runners)
    for name in names:
        runners[name](steps)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            started = time.perf_counter()
            runners[name](steps)
            times[name].append((time.perf_counter() - started) / (steps * batch))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--chunk", type=int, default=12800, help="examples per variant per round (timed)"
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--quality-epochs", type=int, default=0, help="0: skip the ELBO check")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--likelihood",
        default="auto",
        help="the reference model's likelihood (auto: what vaekit train picks for MNIST, the "
        "discretised logistic; bernoulli: the textbook loop's, the default before)",
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds: at least 2 (the ratio's quartiles need two rounds)")
    progress.QUIET = True
    base = RunConfig.from_dict(
        {
            "model": {"latent_dim": 20, "hidden": [400], "likelihood": args.likelihood},
            "data": {"source": "mnist"},
            "train": {"epochs": 1},
        }
    )
    full = load_splits(base.data)
    resolve_model_config(base, full)
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    results = {
        "likelihood": base.model.likelihood,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}",
        "flops_per_sample": flops_per_sample(),
        "rows": [],
    }
    print(f"{results['machine']}; {results['flops_per_sample']:,} matmul FLOPs per sample")
    timed: list[str] = []  # every variant timed, the defaults included: the ELBO check's
    for batch in args.batches:
        default, reason = default_variant(full, base, batch)
        print(f"batch {batch}: vaekit train's default here is {default} ({reason})")
        variants = args.variants + [default] * (default not in args.variants)
        timed = list(dict.fromkeys(timed + variants))
        rates = {p: matmul_gflops(batch, dtypes[p]) for p in dtypes}  # best of before and after
        times = timed_rounds(full.train.x, base, batch, variants, args.rounds, args.chunk)
        rates = {p: max(rate, matmul_gflops(batch, dtypes[p])) for p, rate in rates.items()}
        textbook = times[TEXTBOOK]
        # the default first: the headline row
        for variant in [default, *(v for v in args.variants if v != default)]:
            ours = times[variant]
            gflops = rates[variant.partition("+")[0]]
            roofline = gflops * 1e9 / results["flops_per_sample"]
            fp32_roofline = rates["fp32"] * 1e9 / results["flops_per_sample"]
            a = 1 / statistics.median(ours)
            ratios = [b / a_ for a_, b in zip(ours, textbook, strict=True)]
            quartiles = statistics.quantiles(ratios, n=4)
            row = {
                "batch": batch,
                "variant": variant,
                "default": variant == default,
                "vaekit_samples_per_s": round(a),
                "textbook_samples_per_s": round(1 / statistics.median(textbook)),
                "ratio": round(statistics.median(ratios), 2),
                "ratio_quartiles": [round(quartiles[0], 2), round(quartiles[2], 2)],
                "ratio_min_max": [round(min(ratios), 2), round(max(ratios), 2)],
                "matmul_gflops": round(gflops, 1),
                "roofline_samples_per_s": round(roofline),
                "fraction_of_roofline": round(a / roofline, 2),
                "fraction_of_fp32_roofline": round(a / fp32_roofline, 2),
                "rounds": args.rounds,
            }
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
    print(f"\nMachine: {results['machine']}; medians of {args.rounds} rotated rounds\n")
    print(
        "| batch | vaekit variant | vaekit samples/s | textbook (fp32) samples/s | A/B (quartiles)"
        " | matmul GFLOP/s | roofline samples/s | A / roofline | A / fp32 roofline |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results["rows"]:
        low, high = r["ratio_quartiles"]
        name = f"**default** ({r['variant']})" if r["default"] else r["variant"]
        print(
            f"| {r['batch']} | {name} | {r['vaekit_samples_per_s']:,} | "
            f"{r['textbook_samples_per_s']:,} | **{r['ratio']}** ({low}-{high}) | "
            f"{r['matmul_gflops']} | {r['roofline_samples_per_s']:,} | "
            f"{r['fraction_of_roofline']} | {r['fraction_of_fp32_roofline']} |"
        )
    if args.quality_epochs:
        q = quality(full, base, timed, args.quality_epochs, args.seeds)
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
