"""The training loop: data as one tensor indexed by a seeded permutation, Adam, the beta
schedule, per-epoch validation, best and last weights kept, a checkpoint every epoch (and on
SIGINT/SIGTERM) from which ``resume`` continues bit for bit, pictures at the end.

No DataLoader: the data already sits in memory (or on the GPU), so a slice by a permutation is
the cheapest batch there is. Numbers are accumulated on the device and read once per epoch;
non-finite losses are detected on the device and checked every ``CHECK_EVERY`` steps.
PCA has no loop: it is fitted in closed form and logged as one epoch.
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vaekit.config.run import KL_MODELS, NETWORK_MODELS, ModelConfig, RunConfig, TrainConfig
from vaekit.core.distributed import Cluster, any_rank, gather_objects, join, leave, sum_across
from vaekit.core.errors import TrainingInterrupted, VaekitError
from vaekit.core.files import append_line, atomic_write_text
from vaekit.core.numerics import cpu_has_native_bf16, denormals_flushed, reproducible_mkl
from vaekit.core.progress import ProgressBar, log
from vaekit.core.version import __version__
from vaekit.data.schema import TableSchema, condition_width, likelihood_layout
from vaekit.data.splits import (
    Dataset,
    DataSplits,
    check_unit_range,
    first_examples,
    load_splits,
    value_range,
)
from vaekit.data.stream import StreamingDataset
from vaekit.metrics.likelihood import validation_metrics
from vaekit.models.objectives import beta_at
from vaekit.models.registry import Autoencoder, build_model
from vaekit.models.samplers import CodeSampler
from vaekit.runs import run as runs
from vaekit.runs.run import CHECKPOINT
from vaekit.training.adam import FusedAdam
from vaekit.training.checkpoint import TrainingState, load_checkpoint, save_checkpoint
from vaekit.training.signals import StopOnSignal
from vaekit.training.speed import resolve_speed
from vaekit.training.step import build_optimizer, training_step

CHECK_EVERY = 50  # steps between host reads of the non-finite flag


@denormals_flushed()
def train(config: RunConfig, out: str | Path, force: bool = False) -> runs.Run:
    """Train the model ``config`` (a :class:`vaekit.RunConfig`) describes and write the run
    folder ``out``; return the trained run (what :func:`vaekit.load` gives for ``out``).

    Data is read and checked before anything is written, so bad input leaves no trace.
    ``force`` replaces an existing run folder (never a folder that is not a vaekit run).
    Progress and one line per epoch go to stderr; ``vaekit.core.progress.QUIET = True`` silences
    them. Under torchrun every process calls this and only rank 0 writes (other ranks return
    None).

    Raises VaekitError (one line) for data that cannot be read or does not fit the model, an
    existing folder without ``force``, or a diverged loss (the last good checkpoint is kept);
    TrainingInterrupted when stopped by SIGINT/SIGTERM, after writing a checkpoint that
    ``vaekit train --resume`` continues from.

    Example: ``vaekit.train(vaekit.RunConfig.from_dict({"data": {"source": "digits"}}),
    "runs/d")``.
    """
    out = Path(out)
    splits = load_splits(config.data)
    resolve_model_config(config, splits)
    cluster, device = join(pick_device(config.train.device))
    try:
        torch.manual_seed(config.train.seed)
        model = build_model(config.model)
        if config.train.init_from:  # fine-tuning: checked before anything is written
            runs.load_weights(model, Path(config.train.init_from) / runs.WEIGHTS["best"])
        model = model.to(device)
        auto_compiled = config.train.compile == "auto"
        speed = choose_path(config, model, splits, device, cluster)
        auto_compiled = auto_compiled and config.train.compile == "on"
        failure = None
        if cluster.main:  # only rank 0 writes; every rank learns whether it could
            try:
                runs.prepare_folder(out, force)
                runs.write_config(out, config)
            except VaekitError as err:
                failure = err
        if any_rank(cluster, failure is not None):
            raise failure or VaekitError(f"{out}: rank 0 could not prepare the run folder")
        if cluster.main:
            ranks = f" x {cluster.world} processes" if cluster.distributed else ""
            log(
                f"training {config.model.model} ({model.parameter_count():,} parameters) on "
                f"{config.data.source}: {len(splits.train)} train / {len(splits.val)} validation "
                f"examples of shape {splits.shape}, {describe_likelihood(config)}, {device}{ranks}"
                f"{', bf16 matrix products' if config.train.precision == 'bf16' else ''}"
            )
            log(f"data: {splits.schema.describe()}")
            if config.data.train_on_all:
                log(
                    "--train-on-all: the validation examples are among the training ones, so "
                    "val numbers are on seen data; the run keeps the last epoch's weights; "
                    "evaluate on the test split"
                )
            if speed:
                log(f"speed (auto): {speed}")
        try:
            return _train_and_finish(
                model, splits, config, out, device, False, cluster, auto_compiled
            )
        except TrainingInterrupted:
            raise
        except BaseException:
            # Failed before the first checkpoint: nothing worth keeping, so leave no half run.
            if cluster.main and not (out / CHECKPOINT).exists():
                runs.discard_unfinished(out)
            raise
    finally:
        leave(cluster)


@denormals_flushed()
def resume(out: str | Path, epochs: int | None = None) -> runs.Run | None:
    """Continue the run in ``out`` from its last checkpoint (``epochs`` may extend it). A run
    trained under torchrun resumes under torchrun with as many processes."""
    out = Path(out)
    config = runs.read_config(out)
    if not (out / CHECKPOINT).exists():
        raise VaekitError(f"{out}: no {CHECKPOINT} to resume from")
    if epochs is not None:
        if epochs < 1:
            raise VaekitError(f"--epochs: must be >= 1, got {epochs}")
        config.train.epochs = epochs
    splits = load_splits(config.data)  # mapped by the recorded schema, not a new one
    cluster, device = join(pick_device(config.train.device))
    try:
        torch.manual_seed(config.train.seed)
        model = build_model(config.model).to(device)
        speed = choose_path(config, model, splits, device, cluster)  # for a hand-written "auto"
        if cluster.main:
            log(f"resuming {out} ({config.model.model} on {config.data.source}, {device})")
            if speed:
                log(f"speed (auto): {speed}")
            runs.remove_stale_temporaries(out)
        return _train_and_finish(model, splits, config, out, device, True, cluster)
    finally:
        leave(cluster)


def _train_and_finish(
    model, splits, config, out, device, resuming, cluster, auto_compiled=False
) -> runs.Run | None:
    history = fit(model, splits, config, out, device, resuming, cluster, auto_compiled)
    if not cluster.main:
        return None  # rank 0 writes the summary, the sampler and the pictures
    score = "val_elbo" if model.probabilistic else "val_recon"
    sign = 1 if model.probabilistic else -1
    # Under --train-on-all the validation rows are training rows: no selection, the last epoch.
    chosen = history[-1] if config.data.train_on_all else None
    best = chosen or max(history, key=lambda row: sign * row[score])
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
    run.held_splits = splits  # the report evaluates on them: no second read of the data
    fit_code_sampler(run, splits, config.train.seed)
    if splits.kind == "image":  # a table's pictures (marginals, pairs) are drawn on demand:
        write_pictures(run, splits)  # heat maps of rows took longer than a small table's fit
    which = "last (validation seen in training)" if chosen else "best"
    log(
        f"done: {which} {score.replace('_', ' ')} {best[score]:.3f} (epoch {best['epoch']}); "
        f"run folder {out}"
    )
    return run


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
    streaming = isinstance(splits.train, StreamingDataset)
    if hasattr(model, "fit"):  # closed form (PCA): one pass, logged as one epoch
        if streaming:
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
    opts = config.train
    # In memory: moved to the device once, not per batch. Streamed: rows read block by block.
    x_train = splits.train if streaming else splits.train.x.to(device)
    c_train = None if splits.train.conditions is None else splits.train.conditions.to(device)
    n = len(x_train)
    per_rank = opts.batch_size
    global_batch = per_rank * cluster.world
    used = n - n % global_batch if cluster.distributed else n  # examples per epoch
    if used == 0:
        raise VaekitError(
            f"--batch-size {per_rank} x {cluster.world} processes is more than the {n} "
            "training examples"
        )
    total_steps = math.ceil(used / global_batch) * opts.epochs
    params = list(model.parameters())
    trainer = model
    if cluster.distributed:
        ids = [device.index] if device.type == "cuda" else None
        trainer = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    optimizer = build_optimizer(params, opts)
    generators = {
        "order": torch.Generator().manual_seed(opts.seed),  # data order
        # z noise and binarising: each rank draws its own stream
        "noise": torch.Generator(device=device).manual_seed(opts.seed + 1 + 1000 * cluster.rank),
    }
    noise_gen = generators["noise"]
    if resuming:
        state = load_checkpoint(
            out / CHECKPOINT, model, optimizer, generators, device, cluster.rank, cluster.world, n
        )
        if not streaming and state.order is not None and int(state.order.max()) >= n:
            raise VaekitError(f"{out / CHECKPOINT}: epoch.order names rows past the {n} examples")
        if state.epoch >= opts.epochs:
            log(
                f"nothing to do: {state.epoch} of {opts.epochs} epochs are done; to train "
                f"longer, pass a larger --epochs (e.g. --epochs {state.epoch + opts.epochs})"
            )
            return state.history
        if cluster.main:  # only now that the checkpoint has loaded may the run's files change
            runs.write_config(out, config)  # --epochs may have extended it
            # metrics.jsonl may hold a row the checkpoint never saw: rewrite it
            rows = "".join(json.dumps(r) + "\n" for r in state.history)
            atomic_write_text(out / runs.METRICS, rows)
    else:
        state = TrainingState()
    cpu_bf16 = opts.precision == "bf16" and device.type == "cpu"
    if cpu_bf16 and cluster.main and cpu_has_native_bf16() is False:
        log(
            "note: this CPU has no bfloat16 matrix instructions (AVX512-BF16 or AMX), so "
            "--precision bf16 is emulated here and likely slower than fp32"
        )
    if device.type == "cpu" and cluster.main and reproducible_mkl() is False:
        log(
            "note: MKL ran before vaekit was imported, so its matrix products may differ in "
            "their last bits from run to run; import vaekit first, or set MKL_CBWR=AUTO"
        )
    uses_kl = config.model.model in KL_MODELS
    train_step = training_step(
        model, trainer, optimizer, opts, device, noise_gen, cluster.main, auto_compiled
    )
    loop = _Loop(
        model=model,
        optimizer=optimizer,
        generators=generators,
        train_step=train_step,
        config=config,
        cluster=cluster,
        out=out,
        device=device,
        x=x_train,
        conditions=c_train,
        streaming=streaming,
        used=used,
        global_batch=global_batch,
        total_steps=total_steps,
    )
    beta = 1.0
    with StopOnSignal() as stop:
        for epoch in range(state.epoch + 1, opts.epochs + 1):
            started = time.perf_counter()
            beta = _train_epoch(loop, epoch, state, stop, beta)
            state.position = 0
            sums = (sum_across(cluster, state.totals) / used).tolist()
            finite_weights = bool(torch.stack([p.isfinite().all() for p in params]).all())
            diverged = any_rank(cluster, train_step.nonfinite) or not finite_weights
            if diverged or not all(map(math.isfinite, sums)):
                _diverged(epoch, state.step, out)
            ranks = rank_states(cluster, generators, state)  # collective: every rank
            if not cluster.main:
                state.epoch = epoch
                continue  # validation, metrics and files are rank 0's
            row = _validate(
                model, splits, config, epoch, state.step, beta if uses_kl else None, sums, started
            )
            row["lr"] = optimizer.param_groups[0]["lr"]  # at the epoch's last step
            append_line(out / runs.METRICS, json.dumps(row))
            state.history.append(row)
            score = row["val_elbo"] if model.probabilistic else -row["val_recon"]
            best_file = out / runs.WEIGHTS["best"]
            selecting = not config.data.train_on_all  # else validation rows were trained on
            if score > state.best_score or not best_file.exists() or not selecting:
                state.best_score = score
                runs.save_weights(model, best_file, {"epoch": str(epoch)})
            runs.save_weights(model, out / runs.WEIGHTS["last"], {"epoch": str(epoch)})
            state.epoch = epoch
            if opts.compile == "on" and not getattr(train_step, "compiled", True):
                opts.compile = "off"  # auto's compile failed: record the path the run took
                runs.write_config(out, config)
            save_checkpoint(
                out / CHECKPOINT, model, optimizer, generators, state, cluster.world, ranks
            )
            if stop.requested and not cluster.distributed:  # arrived during validation:
                _stop(  # the checkpoint above is the stop
                    stop.requested, model, optimizer, generators, state, out, epoch, cluster, True
                )
    return state.history


@dataclass(frozen=True)
class _Loop:
    """What every epoch of :func:`fit` shares: the model and what trains it, and the training
    rows (on the device, or streamed) with their conditions, cut into global batches of
    ``batch_size x world`` (of which this rank takes its shard)."""

    model: Autoencoder
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
    uses_kl = loop.config.model.model in KL_MODELS
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
            beta = beta_at(state.step, loop.total_steps, loop.config.model) if uses_kl else 1.0
            if opts.lr_schedule != "constant":
                optimizer.param_groups[0]["lr"] = lr_at(state.step, loop.total_steps, opts)
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
                _stop(signum, model, optimizer, loop.generators, state, out, epoch, cluster)
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


def _stop(signum, model, optimizer, generators, state, out, epoch, cluster, saved=False):
    ranks = None if saved else rank_states(cluster, generators, state)
    if not saved and cluster.main:
        save_checkpoint(out / CHECKPOINT, model, optimizer, generators, state, cluster.world, ranks)
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


def resolve_model_config(config: RunConfig, splits: DataSplits) -> None:
    """Fill in what the data decides: the input shape, an 'auto' likelihood, the default beta."""
    model = config.model
    model.input_shape = list(splits.shape)
    model.condition_dim = condition_width(splits.schema)
    if model.model in KL_MODELS:
        model.beta = model.resolved_beta()
    if model.model not in NETWORK_MODELS:
        return
    ranges = [value_range(d) for d in (splits.train, splits.val, splits.test) if d is not None]
    low, high = min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
    table = isinstance(splits.schema, TableSchema)
    if model.likelihood == "auto":
        bernoulli = low >= 0 and high <= 1
        model.likelihood = "per-column" if table else "bernoulli" if bernoulli else "gaussian"
    if model.likelihood == "per-column":
        if not table:
            raise VaekitError("--likelihood per-column: is for tables; these data are images")
        model.layout = likelihood_layout(splits.schema)
    if model.likelihood == "bernoulli":  # held-out data too: one value outside [0, 1] gives -inf
        check_unit_range(torch.tensor([low, high]), config.data.source, "a Bernoulli decoder")


def prior_words(model: ModelConfig) -> str:
    """What the prior is, for picture titles: N(0, I) or the learned p(z|c)."""
    return "p(z|c), learned" if model.prior == "conditional" else "N(0, I)"


def describe_likelihood(config: RunConfig) -> str:
    if config.model.model == "pca":
        return "linear-Gaussian decoder"
    return f"{config.model.likelihood} likelihood"


def choose_path(
    config: RunConfig, model: Autoencoder, splits: DataSplits, device: torch.device, cluster
) -> str:
    """Resolve ``--precision auto`` / ``--compile auto`` for this run (see vaekit.training.speed);
    the log line saying why ("" when nothing was auto)."""
    example, _ = first_examples(splits.train, 1)
    c = splits.train.conditions
    c = None if c is None else c[:1].to(device)
    return resolve_speed(config, model, example, c, len(splits.train), device, cluster.world)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VaekitError("--device cuda: no CUDA GPU is available here (use --device auto)")
    return torch.device(name)


def fit_code_sampler(run: runs.Run, splits: DataSplits, seed: int, limit: int = 20000) -> None:
    """Fit the Gaussian-mixture code sampler on (up to ``limit``) training codes (and, for a
    conditional run, one mixture per condition value)."""
    x = first_examples(splits.train, limit)[0]
    c = splits.train.conditions
    c = None if c is None else c[:limit]
    codes, _ = run.encode(Dataset(x, None, c))
    conditions = None if c is None else c.numpy()
    CodeSampler.fit(codes, conditions, seed=seed).save(run.path / runs.SAMPLER)


def write_pictures(run: runs.Run, splits: DataSplits, n: int = 32, seed: int = 0) -> None:
    """reconstructions.png (originals above, reconstructions below), samples.png (prior) and
    samples-gmm.png (codes from the mixture fitted to training codes), each block titled and
    each picture headed with the run's folder name (and the samples' seed)."""
    from vaekit.views.images import save_examples

    shown = splits.val.take(slice(0, n))
    originals = shown.x
    recon = run.reconstruct(shown, model_space=True)
    save_examples(
        [originals.numpy(), recon],
        ["original (validation)", "reconstruction"],
        splits.schema,
        run.path / "reconstructions.png",
        heading=f"run {run.path.name}",
    )
    count = 64 if splits.kind == "image" else n
    for sampler, name, title in (
        ("prior", "samples.png", f"prior samples: z ~ {prior_words(run.config.model)}"),
        ("gmm", "samples-gmm.png", "gmm samples: z from the mixture fitted to training codes"),
    ):
        images = run.sample(count, seed=seed, sampler=sampler, warn=False, model_space=True)
        save_examples(
            [images],
            [title],
            splits.schema,
            run.path / name,
            heading=f"run {run.path.name}, seed {seed}",
        )
