"""Disentanglement on vaekit's sprites: beta-VAE (beta 1, 4, 16), beta-TCVAE (beta 6), FactorVAE
(gamma 35), DIP-VAE-II and capacity annealing, 3 seeds each, at one fixed step budget.

    python benchmarks/disentanglement.py                 # prints a table, writes the JSON
    python benchmarks/disentanglement.py --steps 2000    # a quicker look

Every model trains on the same seeded subset of sprites (``--subset``), with the same MLP,
latent size, batch and learning rate, for the same number of optimiser steps; then vaekit's
own evaluation (:func:`vaekit.evaluation.disentanglement.disentanglement_report`) scores the
posterior means of held-out sprites: MIG, SAP and DCI on them, the FactorVAE and beta-VAE
scores on fresh renders. Rows are written after each run, so an interrupted benchmark picks up
where it stopped. The medians over seeds are printed beside the reconstruction error.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import vaekit
from vaekit.cli.main import main as vaekit_main
from vaekit.evaluation.disentanglement import disentanglement_report

RESULTS = Path(__file__).parent / "results" / "disentanglement.json"

# name -> the model's options (the list, plus capacity annealing)
MODELS = {
    "beta-vae b1": ["--model", "vae"],
    "beta-vae b4": ["--model", "beta-vae", "--beta", "4"],
    "beta-vae b16": ["--model", "beta-vae", "--beta", "16"],
    "beta-tcvae b6": ["--model", "beta-tcvae", "--beta", "6"],
    "factor-vae g35": ["--model", "factor-vae", "--gamma", "35"],
    "dip-vae-ii": ["--model", "dip-vae", "--dip", "ii", "--lambda-od", "10"],
    "capacity c25": ["--model", "beta-vae", "--capacity", "25", "--gamma", "1000"],
}
METRICS = ("mig", "sap", "dci_d", "dci_c", "dci_i", "factor_vae_score", "beta_vae_score")


def train_and_score(name: str, seed: int, args: argparse.Namespace) -> dict:
    """One model and seed: trained for ``args.steps`` steps, scored on held-out sprites."""
    per_epoch = int(args.subset * 0.9) // args.batch_size
    epochs = max(1, round(args.steps / per_epoch))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        common = ["--data", "sprites", "--subset", str(args.subset), "--latent-dim", "10"]
        common += ["--hidden", *map(str, args.hidden), "--batch-size", str(args.batch_size)]
        common += ["--lr", str(args.lr), "--epochs", str(epochs), "--seed", str(seed)]
        extra = MODELS[name]
        if "factor-vae" in extra:
            extra = [*extra, "--discriminator-hidden", *map(str, args.discriminator)]
        started = time.perf_counter()
        code = vaekit_main(["--quiet", "train", *common, *extra, "--out", str(out), "--no-report"])
        if code != 0:
            raise SystemExit(f"{name} seed {seed}: vaekit train exited {code}")
        seconds = time.perf_counter() - started
        run = vaekit.load(out)
        data = run.data("val").take(slice(0, args.examples))
        started = time.perf_counter()
        report = disentanglement_report(run, data, seed=seed)
        last = run.metrics[-1]
        return {
            "model": name,
            "seed": seed,
            "steps": last["step"],
            "epochs": epochs,
            "train_seconds": round(seconds, 1),
            "score_seconds": round(time.perf_counter() - started, 1),
            "val_recon": last["val_recon"],
            "val_kl": last["val_kl"],
            "mig": report["mig"],
            "mig_per_factor": report["mig_per_factor"],
            "sap": report["sap"],
            "dci_d": report["dci"]["disentanglement"],
            "dci_c": report["dci"]["completeness"],
            "dci_i": report["dci"]["informativeness"],
            "factor_vae_score": report["factor_vae_score"],
            "beta_vae_score": report["beta_vae_score"],
            "dimension_factor": report["dimension_factor"],
        }


def medians(rows: list[dict]) -> dict[str, dict]:
    """Per model, the median over seeds of each metric and of the reconstruction error."""
    out = {}
    for name in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == name]
        out[name] = {
            key: statistics.median(row[key] for row in mine) for key in (*METRICS, "val_recon")
        }
        out[name]["seeds"] = len(mine)
    return out


def print_table(summary: dict[str, dict]) -> None:
    heads = ("model", "seeds", "MIG", "SAP", "DCI D", "DCI C", "DCI I", "FVAE", "bVAE", "recon")
    print(("{:<16}" + "{:>7}" * (len(heads) - 1)).format(*heads))
    for name, row in summary.items():
        figures = "".join(f"{row[key]:>7.3f}" for key in METRICS)
        print(f"{name:<16}{row['seeds']:>7}{figures}{row['val_recon']:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--subset", type=int, default=40_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--hidden", type=int, nargs="*", default=[512, 512])
    parser.add_argument("--discriminator", type=int, nargs="*", default=[256] * 4)
    parser.add_argument("--examples", type=int, default=2000, help="held-out sprites scored")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    setting = {k: v for k, v in vars(args).items() if k not in ("models", "out")}
    done = json.loads(args.out.read_text()) if args.out.exists() else {}
    rows = done.get("rows", []) if done.get("setting") == setting else []
    for name in args.models:
        for seed in range(args.seeds):
            if any(r["model"] == name and r["seed"] == seed for r in rows):
                continue
            rows.append(train_and_score(name, seed, args))
            row = rows[-1]
            print(f"{name} seed {seed}: MIG {row['mig']:.3f} ({row['train_seconds']} s training)")
            record = {
                "setting": setting,
                "machine": platform.processor() or platform.machine(),
                "rows": rows,
                "medians": medians(rows),
            }
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(record, indent=1))
    print_table(medians(rows))


if __name__ == "__main__":
    main()
