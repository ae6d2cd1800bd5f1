"""The training loop: data as one tensor indexed by a seeded permutation, Adam, the beta
schedule, per-epoch validation, best and last weights kept, pictures at the end.

No DataLoader: the data already sits in memory (or on the GPU), so a slice by a permutation is
the cheapest batch there is. Numbers are accumulated on the device and read once per epoch.
PCA has no loop: it is fitted in closed form and logged as one epoch.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from vaekit import __version__, runs
from vaekit.config import KL_MODELS, NETWORK_MODELS, RunConfig
from vaekit.data import DataSplits, check_unit_range, load_splits
from vaekit.errors import VaekitError
from vaekit.evaluate import validation_metrics
from vaekit.files import append_line
from vaekit.models import Autoencoder, build_model
from vaekit.objectives import beta_at
from vaekit.progress import ProgressBar, log
from vaekit.samplers import GaussianMixtureSampler


def train(config: RunConfig, out: str | Path, force: bool = False) -> runs.Run:
    """Train the model ``config`` describes and write the run folder ``out``.

    Data is read and checked before anything is written, so bad input leaves no trace.
    """
    out = Path(out)
    splits = load_splits(config.data)
    resolve_model_config(config, splits)
    device = pick_device(config.train.device)
    torch.manual_seed(config.train.seed)
    model = build_model(config.model).to(device)
    runs.prepare_folder(out, force)
    runs.write_config(out, config)
    log(
        f"training {config.model.model} ({model.parameter_count():,} parameters) on "
        f"{config.data.source}: {len(splits.train)} train / {len(splits.val)} validation "
        f"examples of shape {splits.shape}, {describe_likelihood(config)}, {device}"
    )
    history = fit(model, splits, config, out, device)
    score = "val_elbo" if model.probabilistic else "val_recon"
    sign = 1 if model.probabilistic else -1
    best = max(history, key=lambda row: sign * row[score])
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
        "best": {"metric": score, "value": best[score]},
        "final": history[-1],
        "train_seconds": sum(row["seconds"] for row in history),
    }
    runs.write_summary(out, summary)
    run = runs.load(out, device=str(device))
    fit_code_sampler(run, splits, config.train.seed)
    write_pictures(run, splits)
    log(
        f"done: best {score.replace('_', ' ')} {best[score]:.3f} (epoch {best['epoch']}); "
        f"run folder {out}"
    )
    return run


def fit(
    model: Autoencoder, splits: DataSplits, config: RunConfig, out: Path, device: torch.device
) -> list[dict[str, Any]]:
    if hasattr(model, "fit"):  # closed form (PCA): one pass, logged as one epoch
        started = time.perf_counter()
        model.fit(splits.train.x.to(device))
        train_terms = validation_metrics(model, splits.train.x, seed=config.train.seed)
        sums = [train_terms["recon"], train_terms["recon"], 0.0]
        return [_log_epoch(model, splits, config, out, 1, 1, 1, None, sums, started, True)]
    opts = config.train
    x_train = splits.train.x.to(device)  # moved once, not per batch
    n = len(x_train)
    steps_per_epoch = math.ceil(n / opts.batch_size)
    total_steps = steps_per_epoch * opts.epochs
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr, foreach=True)
    order_gen = torch.Generator().manual_seed(opts.seed)  # data order
    noise_gen = torch.Generator(device=device).manual_seed(opts.seed + 1)  # z noise, binarising
    dynamic = config.data.binarize == "dynamic"
    uses_kl = config.model.model in KL_MODELS
    history: list[dict[str, Any]] = []
    best = -math.inf
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
                beta = beta_at(step, total_steps, config.model) if uses_kl else 1.0
                terms = model.loss(batch, beta=beta, generator=noise_gen)
                optimizer.zero_grad(set_to_none=True)
                terms.loss.backward()
                optimizer.step()
                step += 1
                with torch.no_grad():
                    parts = [terms.loss.detach() * len(batch), terms.recon.sum(), terms.kl.sum()]
                    totals += torch.stack(parts).double()
                # Reading the loss syncs with the device: only every 20 steps.
                progress.update(1, **({"loss": terms.loss.item()} if step % 20 == 0 else {}))
        sums = (totals / n).tolist()
        if not all(map(math.isfinite, sums)):
            raise VaekitError(
                f"training diverged in epoch {epoch} (loss is {sums[0]}): lower --lr, check the "
                f"data's scale, or use a larger --sigma/--min-sigma; the best weights so far are "
                f"kept in {out}"
            )
        row = _log_epoch(
            model,
            splits,
            config,
            out,
            epoch,
            step,
            opts.epochs,
            beta if uses_kl else None,
            sums,
            started,
            False,
        )
        score = row["val_elbo"] if model.probabilistic else -row["val_recon"]
        if score > best:
            best = score
            runs.save_weights(model, out / runs.WEIGHTS["best"], {"epoch": str(epoch)})
        runs.save_weights(model, out / runs.WEIGHTS["last"], {"epoch": str(epoch)})
        history.append(row)
    return history


def _log_epoch(model, splits, config, out, epoch, step, epochs, beta, sums, started, save):
    """Validate, append the epoch's row to metrics.jsonl and print its one-line summary."""
    val = validation_metrics(model, splits.val.x, seed=config.train.seed)
    row = {
        "epoch": epoch,
        "step": step,
        "beta": beta,
        "train_loss": sums[0],
        "train_recon": sums[1],
        "train_kl": sums[2],
        **{f"val_{k}": v for k, v in val.items()},
        "seconds": round(time.perf_counter() - started, 4),
    }
    append_line(out / runs.METRICS, json.dumps(row))
    if save:
        for name in runs.WEIGHTS.values():
            runs.save_weights(model, out / name, {"epoch": str(epoch)})
    headline = (
        f"val ELBO {val['elbo']:8.2f}"
        if val["elbo"] is not None
        else f"val recon {val['recon']:8.2f}"
    )
    beta_note = f"  beta {beta:.3g}" if beta is not None else ""
    log(
        f"epoch {epoch:>3}/{epochs}  loss {sums[0]:8.2f} (recon {sums[1]:.2f}, kl {sums[2]:.2f})"
        f"  {headline}  mse {val['mse']:.3f}{beta_note}  {row['seconds']:.1f}s"
    )
    return row


def resolve_model_config(config: RunConfig, splits: DataSplits) -> None:
    """Fill in what the data decides: the input shape, an 'auto' likelihood, the default beta."""
    model = config.model
    model.input_shape = list(splits.shape)
    if model.model in KL_MODELS:
        model.beta = model.resolved_beta()
    if model.model not in NETWORK_MODELS:
        return
    x = splits.train.x
    in_unit_range = float(x.min()) >= 0 and float(x.max()) <= 1
    if model.likelihood == "auto":
        model.likelihood = "bernoulli" if in_unit_range else "gaussian"
    if model.likelihood == "bernoulli":
        check_unit_range(x, config.data.source, "a Bernoulli decoder")


def describe_likelihood(config: RunConfig) -> str:
    if config.model.model == "pca":
        return "linear-Gaussian decoder"
    return f"{config.model.likelihood} likelihood"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VaekitError("--device cuda: no CUDA GPU is available here (use --device auto)")
    return torch.device(name)


def fit_code_sampler(run: runs.Run, splits: DataSplits, seed: int, limit: int = 20000) -> None:
    """Fit the Gaussian-mixture code sampler on (up to ``limit``) training codes."""
    x = splits.train.x[:limit].to(run.model.device)
    codes = torch.cat(
        [run.model.encode(x[i : i + 4096]).mean.detach() for i in range(0, len(x), 4096)]
    )
    GaussianMixtureSampler.fit(codes.cpu().numpy(), seed=seed).save(run.path / runs.SAMPLER)


def write_pictures(run: runs.Run, splits: DataSplits, n: int = 32, seed: int = 0) -> None:
    """reconstructions.png (originals above, reconstructions below), samples.png (prior) and
    samples-gmm.png (codes from the mixture fitted to training codes)."""
    from vaekit.images import save_examples

    originals = splits.val.x[:n].to(run.model.device)
    recon = run.reconstruct(originals)
    kind = splits.kind
    save_examples(
        [originals.cpu().numpy(), recon],
        ["original", "reconstruction"],
        kind,
        run.path / "reconstructions.png",
    )
    count = 64 if kind == "image" else n
    for sampler, name in (("prior", "samples.png"), ("gmm", "samples-gmm.png")):
        images = run.sample(count, seed=seed, sampler=sampler, warn=False)
        save_examples([images], [f"{sampler} samples"], kind, run.path / name)
