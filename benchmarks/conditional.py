"""Conditional generation on MNIST: does a sample show the digit that was asked for?

    python benchmarks/conditional.py --seeds 3             # about 30 min on 2 cores
    python benchmarks/conditional.py --seeds 1 --k 100     # a quick look

Trains (or reuses, when ``--out`` already holds it) the same VAE three ways, latent 20, MLP
400, 20 epochs, on MNIST's 50,000 training images: unconditional; conditioned on the label with
the N(0, I) prior (the default); conditioned with a learned prior p(z|c) (``--prior
conditional``; seed 0 only). Each is evaluated by ``vaekit evaluate`` on the 10,000 test images
(ELBO, importance-sampled log p(x) — log p(x|c) for the conditional ones — with K samples) and,
for the conditional runs:

- conditional accuracy: 10,000 samples, 1,000 per digit, from each sampler (z from the prior;
  z from the mixture fitted to the asked-for digit's training codes), classified by the
  sample-quality classifier of ``vaekit evaluate``; the share classified as the digit asked for;
- restyle accuracy: each of 2,000 test images encoded with its own label and decoded with
  another (chosen at random); the share classified as the new label — whether z carries style
  and the label carries the digit.

A table too (``--table``, needs ``pip install rdata``; data from benchmarks/anomaly_data.py):
Pima Indians diabetes, 768 rows, conditioned on ``diabetes`` (pos/neg). For each seed a 70/30
split; a conditional VAE generates one row for each held-out row's diabetes value, and the
column shapes (KS / TV complement, :mod:`vaekit.metrics.fidelity`) of generated against real
rows are
scored per value. The baseline is what a user of an unconditional model does: train on the same
rows with ``diabetes`` as a feature, sample, and keep the rows whose generated ``diabetes`` is
the value asked for (rejection).

Prints a table of medians over seeds and writes benchmarks/results/conditional.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

import vaekit
from vaekit.api import train
from vaekit.config.run import RunConfig
from vaekit.core.records import read_rows
from vaekit.evaluation.evaluate import evaluate_run
from vaekit.metrics.quality import judge_for
from vaekit.runs.folder import EVALUATION

RESULTS = Path(__file__).parent / "results" / "conditional.json"
VARIANTS = {
    "vae": {},
    "cvae": {"data": {"condition": ["label"]}},
    "cvae-prior": {"data": {"condition": ["label"]}, "model": {"prior": "conditional"}},
}


def config(variant: str, seed: int, epochs: int) -> RunConfig:
    extra = VARIANTS[variant]
    return RunConfig.from_dict(
        {
            # Bernoulli, as docs/conditional.md measured it (grey levels' default is now the
            # discretised likelihood)
            "model": {
                "latent_dim": 20,
                "hidden": [400],
                "likelihood": "bernoulli",
                **extra.get("model", {}),
            },
            "data": {"source": "mnist", **extra.get("data", {})},
            "train": {"epochs": epochs, "seed": seed},
        }
    )


def trained(variant: str, seed: int, epochs: int, out: Path) -> vaekit.runs.run.Run:
    """The run in ``out`` if it finished with this config, else a fresh one."""
    wanted = config(variant, seed, epochs)
    if (out / "summary.json").exists():
        run = vaekit.load(out)
        same = (
            run.config.model.prior == wanted.model.prior
            and run.config.data.condition == wanted.data.condition
            and run.config.train.seed == seed
            and run.config.train.epochs == epochs
        )
        if same:
            return run
    train(wanted, out, force=True)
    return vaekit.load(out)


def evaluation(run, k: int, samples: int) -> dict:
    """The run's recorded ``vaekit evaluate`` for its weights with this K and sample count on
    the whole test split, else a fresh one (recorded too)."""
    for record in reversed(read_rows(run.path / EVALUATION, skip_damaged=True)):
        if (
            record.get("weights_sha256") == run.weights_checksum
            and record.get("k") == k
            and record.get("examples") == 10000
            and record.get("sample_quality", {}).get("classes") is not None
            and (not run.model.conditional or "gmm" in record.get("conditional", {}))
        ):
            return record
    result = evaluate_run(run, k=k, samples=samples)
    with open(run.path / EVALUATION, "a") as handle:
        handle.write(json.dumps(result) + "\n")
    return result


@torch.no_grad()
def restyle_accuracy(run, count: int = 2000, seed: int = 0) -> float:
    judge = judge_for(run.splits())
    test = run.data("test").take(slice(0, count))
    gen = torch.Generator().manual_seed(seed)
    other = (test.labels + torch.randint(1, 10, (len(test),), generator=gen)) % 10
    names = [run.schema.conditions[0].categories[i] for i in other.tolist()]
    images = run.restyle(test, names, model_space=True)
    _, predicted = judge.features_and_labels(torch.as_tensor(images))
    return float((predicted == other).float().mean())


def table_scores(seed: int, out: Path, epochs: int = 300) -> dict:
    """Per-value column shapes on Pima: the conditional VAE against rejection sampling from an
    unconditional VAE (see the module)."""
    import sys

    import numpy as np

    from vaekit.evaluation.conditional import conditional_column_shapes
    from vaekit.metrics.fidelity import column_shapes, rows_where, spellings

    sys.path.insert(0, str(Path(__file__).parent))
    import anomaly_data

    features, labels = anomaly_data.load("pima")
    frame = features.assign(diabetes=np.where(labels == 1, "pos", "neg"))
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.7 * len(frame))
    out.mkdir(parents=True, exist_ok=True)
    frame.iloc[order[:cut]].to_csv(out / "train.csv", index=False)
    frame.iloc[order[cut:]].to_csv(out / "test.csv", index=False)
    scores = {}
    for name, condition in (("cvae", ["diabetes"]), ("vae", [])):
        config = RunConfig.from_dict(
            {
                "model": {"latent_dim": 4, "hidden": [64], "likelihood": "gaussian-learned"},
                "data": {
                    "source": str(out / "train.csv"),
                    "condition": condition,
                    "scaling": "standard",  # as measured in docs/conditional.md
                },
                "train": {"epochs": epochs, "seed": seed, "batch_size": 64},
            }
        )
        run = train(config, out / name, force=True)
        test = run.to_model(str(out / "test.csv"))
        if name == "cvae":
            result = conditional_column_shapes(run, test, seed=seed)
            scores[name] = {k: v["column_shapes"] for k, v in result["by_condition"].items()}
            continue
        real = run.to_table(test.x.numpy())
        fake = run.to_table(run.sample(20 * len(test), seed=seed, model_space=True))
        features_only = [c for c in run.schema.outputs if c.name != "diabetes"]
        scores[name] = {}
        for value in ("pos", "neg"):
            want_real = np.array(spellings(real.column("diabetes"))) == value
            want_fake = np.array(spellings(fake.column("diabetes"))) == value
            shapes = column_shapes(
                rows_where(real, want_real), rows_where(fake, want_fake), features_only
            )
            scores[name][f"diabetes={value}"] = float(np.mean(list(shapes.values())))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--k", type=int, default=1000, help="importance samples for log p(x)")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-conditional"))
    parser.add_argument("--table", action="store_true", help="also the Pima table part")
    parser.add_argument("--no-mnist", action="store_true", help="only the table part")
    args = parser.parse_args()
    table = []
    if args.table:
        for seed in range(args.seeds):
            scores = table_scores(seed, args.out / f"pima-s{seed}")
            table.append({"seed": seed, **scores})
            print(json.dumps(table[-1]))
    rows = []
    seeds = 0 if args.no_mnist else args.seeds
    for seed in range(seeds):
        for variant in VARIANTS:
            if variant == "cvae-prior" and seed > 0:
                continue
            started = time.perf_counter()
            run = trained(variant, seed, args.epochs, args.out / f"{variant}-s{seed}")
            result = evaluation(run, args.k, args.samples)
            row = {
                "variant": variant,
                "seed": seed,
                "test_elbo": result["elbo"]["elbo"],
                "test_log_likelihood": result["log_likelihood"]["mean"],
                "log_likelihood_stderr": result["log_likelihood"]["stderr"],
                "frechet_distance": result["sample_quality"]["frechet_distance"],
                "train_seconds": run.summary.get("train_seconds"),
            }
            if run.model.conditional:
                c = result["conditional"]
                row["accuracy_prior"] = c["prior"]["accuracy"]
                row["accuracy_gmm"] = c["gmm"]["accuracy"]
                row["per_class_prior"] = c["prior"]["per_class"]
                row["per_class_gmm"] = c["gmm"]["per_class"]
                row["restyle_accuracy"] = restyle_accuracy(run)
                row["classifier_accuracy"] = c["classifier_accuracy"]
            row["seconds"] = round(time.perf_counter() - started, 1)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if not k.startswith("per_")}))
    keys = ["test_elbo", "test_log_likelihood", "accuracy_prior", "accuracy_gmm",
            "restyle_accuracy", "frechet_distance"]  # fmt: skip
    medians = {}
    print(f"\n{'variant':<11} {'seeds':>5} " + " ".join(f"{k:>20}" for k in keys))
    for variant in VARIANTS:
        mine = [r for r in rows if r["variant"] == variant]
        if not mine:
            continue
        medians[variant] = {
            k: statistics.median([r[k] for r in mine]) for k in keys if k in mine[0]
        }
        cells = [f"{medians[variant].get(k, float('nan')):>20.4f}" for k in keys]
        print(f"{variant:<11} {len(mine):>5} " + " ".join(cells))
    if table:
        print(f"\nPima, mean column shape of generated vs held-out rows ({len(table)} seeds)")
        for model in ("cvae", "vae"):
            cells = [
                f"{value} {statistics.median(t[model][value] for t in table):.4f}"
                for value in ("diabetes=pos", "diabetes=neg")
            ]
            print(f"  {model:<5} " + "  ".join(cells))
    # A partial run (--no-mnist, or no --table) keeps the other part's recorded results.
    recorded = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    fresh = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "vaekit": vaekit.__version__,
        "protocol": {"epochs": args.epochs, "k": args.k, "samples": args.samples},
    }
    if rows:
        fresh.update(medians=medians, runs=rows)
    if table:
        fresh["pima_column_shapes_by_value"] = table
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**recorded, **fresh}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
