"""The training loop: data as one tensor indexed by a seeded permutation, Adam, per-epoch
validation ELBO, best and last weights kept, pictures at the end.

No DataLoader: the data already sits in memory (or on the GPU), so a slice by a permutation is
the cheapest batch there is. Numbers are accumulated on the device and read once per epoch.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from vaekit import __version__, runs
from vaekit.config import RunConfig
from vaekit.data import DataSplits, check_unit_range, load_splits
from vaekit.errors import VaekitError
from vaekit.evaluate import elbo_terms
from vaekit.files import append_line, atomic_write_json
from vaekit.images import save_examples
from vaekit.models import Autoencoder, build_model
from vaekit.progress import ProgressBar, log


def train(config: RunConfig, out: str | Path, force: bool = False) -> runs.Run:
    """Train the model ``config`` describes and write the run folder ``out``.

    Data is read and checked before anything is written, so bad input leaves no trace.
    """
    out = Path(out)
    splits = load_splits(config.data)
    resolve_model_config(config, splits)
    device = pick_device(config.train.device)
    runs.prepare_folder(out, force)
    atomic_write_json(out / runs.CONFIG, config.to_dict())

    torch.manual_seed(config.train.seed)
    model = build_model(config.model).to(device)
    log(
        f"training {config.model.model} ({model.parameter_count():,} parameters) on "
        f"{config.data.source}: {len(splits.train)} train / {len(splits.val)} validation "
        f"examples of shape {splits.shape}, {config.model.likelihood} likelihood, {device}"
    )
    history = fit(model, splits, config, out, device)
    best = max(history, key=lambda row: row["val_elbo"])
    summary = {
        "vaekit_version": __version__,
        "parameters": model.parameter_count(),
        "data": {
            "source": config.data.source,
            "kind": splits.kind,
            "shape": list(splits.shape),
            "train": len(splits.train),
            "val": len(splits.val),
            "test": len(splits.test) if splits.test is not None else 0,
            "labelled": splits.train.labels is not None,
            "class_names": splits.class_names,
        },
        "best_epoch": best["epoch"],
        "best_val_elbo": best["val_elbo"],
        "final": history[-1],
        "train_seconds": sum(row["seconds"] for row in history),
    }
    runs.write_summary(out, summary)
    run = runs.load(out, device=str(device))
    write_pictures(run, splits)
    log(
        f"done: best validation ELBO {best['val_elbo']:.2f} nats (epoch {best['epoch']}); "
        f"run folder {out}"
    )
    return run


def fit(
    model: Autoencoder, splits: DataSplits, config: RunConfig, out: Path, device: torch.device
) -> list[dict[str, Any]]:
    opts = config.train
    x_train = splits.train.x.to(device)  # moved once, not per batch
    x_val = splits.val.x.to(device)
    n = len(x_train)
    steps_per_epoch = math.ceil(n / opts.batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr, foreach=True)
    order_gen = torch.Generator().manual_seed(opts.seed)  # data order
    noise_gen = torch.Generator(device=device).manual_seed(opts.seed + 1)  # z noise, binarising
    dynamic = config.data.binarize == "dynamic"
    history: list[dict[str, Any]] = []
    best_elbo = -math.inf
    step = 0
    for epoch in range(1, opts.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=order_gen).to(device)
        totals = torch.zeros(3, device=device, dtype=torch.float64)  # loss, recon, kl sums
        with ProgressBar(steps_per_epoch, f"epoch {epoch}/{opts.epochs}") as progress:
            for start in range(0, n, opts.batch_size):
                batch = x_train[order[start : start + opts.batch_size]]
                if dynamic:  # re-sampled {0,1} pixels every epoch (Salakhutdinov & Murray)
                    batch = torch.bernoulli(batch, generator=noise_gen)
                terms = model.loss(batch, beta=opts.beta, generator=noise_gen)
                optimizer.zero_grad(set_to_none=True)
                terms.loss.backward()
                optimizer.step()
                step += 1
                with torch.no_grad():
                    totals += torch.stack(
                        [terms.loss.detach() * len(batch), terms.recon.sum(), terms.kl.sum()]
                    ).double()
                # Reading the loss syncs with the device: only every 20 steps.
                progress.update(1, **({"loss": terms.loss.item()} if step % 20 == 0 else {}))
        sums = (totals / n).tolist()
        if not all(map(math.isfinite, sums)):
            raise VaekitError(
                f"training diverged in epoch {epoch} (loss is {sums[0]}): lower --lr, check the "
                f"data's scale, or use a larger --sigma; the best weights so far are kept in {out}"
            )
        val = elbo_terms(model, x_val, seed=opts.seed)
        row = {
            "epoch": epoch,
            "step": step,
            "beta": opts.beta,
            "train_loss": sums[0],
            "train_recon": sums[1],
            "train_kl": sums[2],
            "val_elbo": val["elbo"],
            "val_recon": val["recon"],
            "val_kl": val["kl"],
            "seconds": round(time.perf_counter() - started, 4),
        }
        history.append(row)
        append_line(out / runs.METRICS, json.dumps(row))
        if val["elbo"] > best_elbo:
            best_elbo = val["elbo"]
            runs.save_weights(model, out / runs.WEIGHTS["best"], {"epoch": str(epoch)})
        runs.save_weights(model, out / runs.WEIGHTS["last"], {"epoch": str(epoch)})
        log(
            f"epoch {epoch:>3}/{opts.epochs}  loss {sums[0]:8.2f} (recon {sums[1]:.2f}, "
            f"kl {sums[2]:.2f})  val ELBO {val['elbo']:8.2f}  {row['seconds']:.1f}s"
        )
    return history


def resolve_model_config(config: RunConfig, splits: DataSplits) -> None:
    """Fill in what the data decides: the input shape and an 'auto' likelihood."""
    model = config.model
    model.input_shape = list(splits.shape)
    x = splits.train.x
    in_unit_range = float(x.min()) >= 0 and float(x.max()) <= 1
    if model.likelihood == "auto":
        model.likelihood = "bernoulli" if in_unit_range else "gaussian"
    if model.likelihood == "bernoulli":
        check_unit_range(x, config.data.source, "a Bernoulli decoder")


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VaekitError("--device cuda: no CUDA GPU is available here (use --device auto)")
    return torch.device(name)


def write_pictures(run: runs.Run, splits: DataSplits, n: int = 32, seed: int = 0) -> None:
    """reconstructions.png (originals above, reconstructions below) and samples.png."""
    originals = splits.val.x[:n].to(run.model.device)
    recon = run.reconstruct(originals)
    kind = splits.kind
    save_examples(
        [originals.cpu().numpy(), recon],
        ["original", "reconstruction"],
        kind,
        run.path / "reconstructions.png",
    )
    save_examples(
        [run.sample(64 if kind == "image" else n, seed=seed)],
        ["prior samples"],
        kind,
        run.path / "samples.png",
    )
