"""The training loop: data as one tensor indexed by a seeded permutation, Adam, the beta
schedule, per-epoch validation, best and last weights kept, a checkpoint every epoch (and on
SIGINT/SIGTERM) from which ``resume`` continues bit for bit.

No DataLoader: the data already sits in memory (or on the GPU), so a slice by a permutation is
the cheapest batch there is. Numbers are accumulated on the device and read once per epoch;
non-finite losses are detected on the device and checked every ``CHECK_EVERY`` steps.
A closed-form model (PCA) has no loop: it is fitted in one pass and logged as one epoch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vaekit.config.run import RunConfig, TrainConfig
from vaekit.core.distributed import Cluster, any_rank, gather_objects, sum_across
from vaekit.core.errors import TrainingInterrupted, VaekitError
from vaekit.core.files import append_line, atomic_write_text
from vaekit.core.numerics import cpu_has_native_bf16, reproducible_mkl
from vaekit.core.progress import ProgressBar, log
from vaekit.data.splits import DataSplits
from vaekit.data.stream import StreamingDataset
from vaekit.metrics.likelihood import validation_metrics
from vaekit.models.base import Autoencoder
from vaekit.models.objectives import beta_at, capacity_at
from vaekit.runs import folder as runs
from vaekit.runs.folder import CHECKPOINT
from vaekit.training.adam import FusedAdam
from vaekit.training.checkpoint import TrainingState, load_checkpoint, save_checkpoint
from vaekit.training.signals import StopOnSignal
from vaekit.training.step import build_optimizer, training_step
from vaekit.training.threads import using_threads

CHECK_EVERY = 50  # steps between host reads of the non-finite flag


@dataclass(frozen=True)
class _Loop:
    """What every epoch of :func:`fit` shares: the model and what trains it, and the training
    rows (on the device, or streamed) with their conditions, cut into global batches of
    ``batch_size x world`` (of which this rank takes its shard)."""

    model: Autoencoder
    trainer: torch.nn.Module  # the model, or its DistributedDataParallel wrapper
    optimizer: FusedAdam
    generators: dict[str, torch.Generator]
    train_step: Any
    config: RunConfig
    cluster: Cluster
    out: Path
    device: torch.device
    x: Any  # a tensor on the device, or a StreamingDataset
    conditions: torch.Tensor | None
    streaming: bool
    used: int  # examples per epoch (under torchrun a last, partial global batch is dropped)
    global_batch: int
    total_steps: int  # of the whole run: the beta and learning-rate schedules run over them


def fit(
    model: Autoencoder,
    splits: DataSplits,
    config: RunConfig,
    out: Path,
    device: torch.device,
    resuming: bool = False,
    cluster: Cluster = Cluster(),  # noqa: B008 - frozen dataclass, safe as a default
    auto_compiled: bool = False,
) -> list[dict[str, Any]]:
    """Train ``model``; under torchrun each rank takes its shard of every global batch of
    ``batch_size x world`` examples (a last, partial global batch is dropped there).
    ``auto_compiled``: ``--compile auto`` chose to compile, so a compile failure falls back to
    the eager step (and config.json records it) instead of stopping the run."""
    if model.closed_form:
        return _fit_closed_form(model, splits, config, out, device)
    loop = _set_up(model, splits, config, out, device, cluster)
    state = _restore(loop, len(loop.x)) if resuming else TrainingState()
    if state.epoch >= config.train.epochs:
        log(
            f"nothing to do: {state.epoch} of {config.train.epochs} epochs are done; to train "
            f"longer, pass a larger --epochs (e.g. --epochs {state.epoch + config.train.epochs})"
        )
        return state.history
    _notes(config.train, device, cluster)
    # Built after the checkpoint has loaded: a compiled step holds the optimiser's state.
    step = training_step(
        model,
        loop.trainer,
        loop.optimizer,
        config.train,
        device,
        loop.generators["noise"],
        cluster.main,
        auto_compiled,
    )
    loop = dataclasses.replace(loop, train_step=step)
    beta = 1.0
    with StopOnSignal() as stop, using_threads(config.train.threads):
        for epoch in range(state.epoch + 1, config.train.epochs + 1):
            started = time.perf_counter()
            beta = _train_epoch(loop, epoch, state, stop, beta)
            _end_epoch(loop, splits, epoch, state, beta, started)
            if stop.requested and not cluster.distributed and cluster.main:
                # arrived during validation: the checkpoint just written is the stop
                _stop(stop.requested, loop, state, epoch, saved=True)
    return state.history


def _fit_closed_form(model, splits, config, out, device) -> list[dict[str, Any]]:
    """Fit a closed-form model (PCA) in one pass over the training rows, logged as one epoch."""
    if isinstance(splits.train, StreamingDataset):
        raise VaekitError(
            f"{config.data.source}: pca is fitted in memory; this file is streamed "
            "(use --stream off if it fits in memory, or a network model)"
        )
    started = time.perf_counter()
    model.fit(splits.train.x.to(device))
    train_terms = validation_metrics(model, splits.train.x, seed=config.train.seed)
    sums = [train_terms["recon"], train_terms["recon"], 0.0]
    row = _validate(model, splits, config, 1, 1, None, sums, started)
    atomic_write_text(out / runs.METRICS, json.dumps(row) + "\n")
    for name in runs.WEIGHTS.values():
        runs.save_weights(model, out / name, {"epoch": "1"})
    return [row]


def _set_up(model, splits, config, out, device, cluster) -> _Loop:
    """The optimiser, the random streams and the training rows of a network model (its step
    comes once a checkpoint has loaded)."""
    opts = config.train
    streaming = isinstance(splits.train, StreamingDataset)
    # In memory: moved to the device once, not per batch. Streamed: rows read block by block.
    x_train = splits.train if streaming else splits.train.x.to(device)
    c_train = None if splits.train.conditions is None else splits.train.conditions.to(device)
    n, global_batch = len(x_train), opts.batch_size * cluster.world
    used = n - n % global_batch if cluster.distributed else n  # examples per epoch
    if used == 0:
        raise VaekitError(
            f"--batch-size {opts.batch_size} x {cluster.world} processes is more than the {n} "
            "training examples"
        )
    trainer = model
    if cluster.distributed:
        ids = [device.index] if device.type == "cuda" else None
        trainer = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    optimizer = build_optimizer(model.parameter_groups(), opts)
    generators = {
        "order": torch.Generator().manual_seed(opts.seed),  # data order
        # z noise and binarising: each rank draws its own stream
        "noise": torch.Generator(device=device).manual_seed(opts.seed + 1 + 1000 * cluster.rank),
    }
    return _Loop(
        model=model,
        trainer=trainer,
        optimizer=optimizer,
        generators=generators,
        train_step=None,
        config=config,
        cluster=cluster,
        out=out,
        device=device,
        x=x_train,
        conditions=c_train,
        streaming=streaming,
        used=used,
        global_batch=global_batch,
        total_steps=math.ceil(used / global_batch) * opts.epochs,
    )


def _restore(loop: _Loop, n: int) -> TrainingState:
    """The state a stopped run left in its checkpoint, loaded into the model and optimiser."""
    out, cluster = loop.out, loop.cluster
    state = load_checkpoint(
        out / CHECKPOINT,
        loop.model,
        loop.optimizer,
        loop.generators,
        loop.device,
        cluster.rank,
        cluster.world,
        n,
    )
    if not loop.streaming and state.order is not None and int(state.order.max()) >= n:
        raise VaekitError(f"{out / CHECKPOINT}: epoch.order names rows past the {n} examples")
    if state.epoch < loop.config.train.epochs and cluster.main:
        # only now that the checkpoint has loaded may the run's files change
        runs.write_config(out, loop.config)  # --epochs may have extended it
        # metrics.jsonl may hold a row the checkpoint never saw: rewrite it
        rows = "".join(json.dumps(r) + "\n" for r in state.history)
        atomic_write_text(out / runs.METRICS, rows)
    return state


def _notes(opts: TrainConfig, device: torch.device, cluster: Cluster) -> None:
    """Say where this machine makes the run slower or less reproducible than it could be."""
    if not cluster.main or device.type != "cpu":
        return
    if opts.precision == "bf16" and cpu_has_native_bf16() is False:
        log(
            "note: this CPU has no bfloat16 matrix instructions (AVX512-BF16 or AMX), so "
            "--precision bf16 is emulated here and likely slower than fp32"
        )
    if reproducible_mkl() is False:
        log(
            "note: MKL ran before vaekit was imported, so its matrix products may differ in "
            "their last bits from run to run; import vaekit first, or set MKL_CBWR=AUTO"
        )


def _end_epoch(loop: _Loop, splits, epoch: int, state: TrainingState, beta, started) -> None:
    """After an epoch's steps: check for divergence, then (rank 0) validate, log, keep the best
    and last weights and write the checkpoint."""
    model, cluster, out, config = loop.model, loop.cluster, loop.out, loop.config
    state.position = 0
    sums = (sum_across(cluster, state.totals) / loop.used).tolist()
    finite_weights = bool(torch.stack([p.isfinite().all() for p in model.parameters()]).all())
    diverged = any_rank(cluster, loop.train_step.nonfinite) or not finite_weights
    if diverged or not all(map(math.isfinite, sums)):
        _diverged(epoch, state.step, out)
    ranks = rank_states(cluster, loop.generators, state)  # collective: every rank
    state.epoch = epoch
    if not cluster.main:
        return  # validation, metrics and files are rank 0's
    kl_beta = beta if model.kl_weighted and not config.model.capacity else None
    row = _validate(model, splits, config, epoch, state.step, kl_beta, sums, started)
    row["lr"] = loop.optimizer.param_groups[0]["lr"]  # at the epoch's last step
    if config.model.capacity:  # the KL target at the epoch's last step
        row["capacity"] = capacity_at(state.step - 1, loop.total_steps, config.model)
    append_line(out / runs.METRICS, json.dumps(row))
    state.history.append(row)
    score = row["val_elbo"] if model.probabilistic else -row["val_recon"]
    best_file = out / runs.WEIGHTS["best"]
    selecting = not config.data.train_on_all  # else validation rows were trained on
    if score > state.best_score or not best_file.exists() or not selecting:
        state.best_score = score
        runs.save_weights(model, best_file, {"epoch": str(epoch)})
    runs.save_weights(model, out / runs.WEIGHTS["last"], {"epoch": str(epoch)})
    if config.train.compile == "on" and not getattr(loop.train_step, "compiled", True):
        config.train.compile = "off"  # auto's compile failed: record the path the run took
        runs.write_config(out, config)
    save_checkpoint(
        out / CHECKPOINT, model, loop.optimizer, loop.generators, state, cluster.world, ranks
    )


def _train_epoch(
    loop: _Loop, epoch: int, state: TrainingState, stop: StopOnSignal, beta: float
) -> float:
    """The training steps of epoch ``epoch`` under its progress bar, from ``state.position`` (0,
    or where a stopped run left off; a new epoch draws its order first). Returns the beta of the
    last step (``beta`` when none ran). Raises on divergence; on a signal, writes the checkpoint
    and raises TrainingInterrupted."""
    model, optimizer, out = loop.model, loop.optimizer, loop.out
    opts, cluster, device = loop.config.train, loop.cluster, loop.device
    dynamic = loop.config.data.binarize == "dynamic"
    per_rank, global_batch = opts.batch_size, loop.global_batch
    noise_gen = loop.generators["noise"]
    model.train()
    if state.position == 0:
        order_gen = loop.generators["order"]
        state.order = (
            loop.x.epoch_order(order_gen)
            if loop.streaming
            else torch.randperm(len(loop.x), generator=order_gen).to(device)
        )
        state.totals = torch.zeros(3, device=device, dtype=torch.float64)
    steps = math.ceil(loop.used / global_batch)
    with ProgressBar(steps, f"epoch {epoch}/{opts.epochs}") as progress:
        progress.update(state.position // global_batch)
        for start in range(state.position, loop.used, global_batch):
            shard = start + cluster.rank * per_rank  # this rank's slice of the batch
            end = min(shard + per_rank, start + global_batch)
            rows = state.order[shard:end]
            # index_select copies whole rows: several times faster than x[rows] here.
            batch = loop.x[rows].to(device) if loop.streaming else loop.x.index_select(0, rows)
            condition = None if loop.conditions is None else loop.conditions.index_select(0, rows)
            if dynamic:  # re-sampled {0,1} pixels every epoch (Salakhutdinov & Murray)
                batch = torch.bernoulli(batch, generator=noise_gen)
            beta = (
                beta_at(state.step, loop.total_steps, loop.config.model)
                if model.kl_weighted
                else 1.0
            )
            if opts.lr_schedule != "constant":
                optimizer.param_groups[0]["lr"] = lr_at(state.step, loop.total_steps, opts)
            model.at_step(state.step, loop.total_steps)
            terms = loop.train_step(batch, beta, state.totals, condition)
            state.step += 1
            if state.step % CHECK_EVERY == 0 and any_rank(cluster, loop.train_step.nonfinite):
                _diverged(epoch, state.step, out)
            # Reading the loss syncs with the device: only every 20 steps.
            progress.update(1, **({"loss": terms.loss.item()} if state.step % 20 == 0 else {}))
            if any_rank(cluster, stop.requested):  # all ranks stop at the same step
                if any_rank(cluster, loop.train_step.nonfinite):
                    _diverged(epoch, state.step, out)
                state.position = start + global_batch
                signum = stop.requested or signal.SIGTERM
                _stop(signum, loop, state, epoch)
    return beta


def lr_at(step: int, total_steps: int, opts: TrainConfig) -> float:
    """The learning rate at optimiser step ``step`` (0-based) of ``total_steps``: a pure function
    of the step, so a resumed run follows the same curve with nothing extra to checkpoint.
    cosine: lr_final + (lr - lr_final) (1 + cos(pi t)) / 2; exponential: lr (lr_final / lr)^t,
    with t = step / (total_steps - 1) going from 0 to 1."""
    t = step / max(1, total_steps - 1)
    if opts.lr_schedule == "cosine":
        return opts.lr_final + (opts.lr - opts.lr_final) * (1 + math.cos(math.pi * t)) / 2
    if opts.lr_schedule == "exponential":
        return opts.lr * (opts.lr_final / opts.lr) ** t
    return opts.lr


def rank_states(cluster: Cluster, generators: dict, state: TrainingState) -> list | None:
    """Under torchrun, every rank's noise stream, global random state and partial sums, gathered
    for rank 0's checkpoint (a collective: all ranks call it); None in a single process."""
    if not cluster.distributed:
        return None
    own = {"noise": generators["noise"].get_state(), "torch": torch.get_rng_state()}
    if state.totals is not None:
        own["totals"] = state.totals.cpu()
    return gather_objects(cluster, own)


def _stop(signum, loop: _Loop, state: TrainingState, epoch: int, saved: bool = False):
    """Write the checkpoint (unless ``saved``) and raise TrainingInterrupted for ``signum``."""
    cluster, out = loop.cluster, loop.out
    ranks = None if saved else rank_states(cluster, loop.generators, state)
    if not saved and cluster.main:
        save_checkpoint(
            out / CHECKPOINT,
            loop.model,
            loop.optimizer,
            loop.generators,
            state,
            cluster.world,
            ranks,
        )
    name = signal.Signals(signum).name
    raise TrainingInterrupted(
        f"stopped by {name} in epoch {epoch} (step {state.step}); checkpoint written. "
        f"Resume with: vaekit train --resume {out}",
        128 + signum,
    )


def _diverged(epoch: int, step: int, out: Path) -> None:
    kept = (
        f"The last good checkpoint and weights are kept in {out}"
        if (out / CHECKPOINT).exists()
        else "No epoch had finished, so no run folder is kept"
    )
    raise VaekitError(
        f"training diverged: the loss or gradients became NaN/inf in epoch {epoch} (by step "
        f"{step}). Likely causes: a learning rate too high (lower --lr, or add --clip-grad 10), "
        f"a learned variance collapsing (raise --min-sigma or set --logvar-clamp 10), or data on "
        f"a large scale (rescale it). {kept}"
    )


def _validate(model, splits, config, epoch, step, beta, sums, started) -> dict[str, Any]:
    """Validate and print the epoch's one-line summary; return its metrics row."""
    val = validation_metrics(
        model, splits.val.x, seed=config.train.seed, conditions=splits.val.conditions
    )
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
    headline = (
        f"val ELBO {val['elbo']:8.2f}"
        if val["elbo"] is not None
        else f"val recon {val['recon']:8.2f}"
    )
    beta_note = f"  beta {beta:.3g}" if beta is not None else ""
    log(
        f"epoch {epoch:>3}/{config.train.epochs}  loss {sums[0]:8.2f} (recon {sums[1]:.2f}, "
        f"kl {sums[2]:.2f})  {headline}  mse {val['mse']:.3f}{beta_note}  {row['seconds']:.1f}s"
    )
    return row
