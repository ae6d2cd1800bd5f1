"""``train`` and ``resume``: a run folder from a config, or continued from its checkpoint. The
data is read and checked before anything is written; the loop is :mod:`vaekit.training.loop`;
the summary and the code sampler are written at the end (pictures are drawn above this layer,
by :func:`vaekit.api.train`)."""

from __future__ import annotations

from pathlib import Path

import torch

from vaekit.config.run import RunConfig
from vaekit.core.distributed import any_rank, join, leave
from vaekit.core.errors import TrainingInterrupted, VaekitError
from vaekit.core.numerics import denormals_flushed
from vaekit.core.progress import log
from vaekit.core.version import __version__
from vaekit.data.location import record_location
from vaekit.data.splits import load_splits
from vaekit.models.registry import build_model
from vaekit.models.words import likelihood_words
from vaekit.runs import folder as runs
from vaekit.runs.folder import CHECKPOINT
from vaekit.runs.run import Run, load
from vaekit.training.loop import fit
from vaekit.training.setup import choose_path, fit_code_sampler, pick_device, resolve_model_config


@denormals_flushed()
def train(config: RunConfig, out: str | Path, force: bool = False) -> Run:
    """The training layer's part of :func:`vaekit.api.train` (see there): the run folder ``out``
    with its weights, records, checkpoint and code sampler, and the trained run; no pictures."""
    out = Path(out)
    splits = load_splits(config.data)
    record_location(config.data)  # so the run finds its data from any folder, and notices a change
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
            _say_start(config, model, splits, f"{device}", cluster, speed)
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
def resume(out: str | Path, epochs: int | None = None) -> Run | None:
    """Continue the run in ``out`` from its last checkpoint (``epochs`` may extend it); the
    training layer's part of :func:`vaekit.api.resume`."""
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
) -> Run | None:
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
    run = load(out, device=str(device))
    run.held_splits = splits  # the report evaluates on them: no second read of the data
    fit_code_sampler(run, splits, config.train.seed)
    which = "last (validation seen in training)" if chosen else "best"
    log(
        f"done: {which} {score.replace('_', ' ')} {best[score]:.3f} (epoch {best['epoch']}); "
        f"run folder {out}"
    )
    return run


def _say_start(config: RunConfig, model, splits, device: str, cluster, speed: str) -> None:
    """The start lines: what trains on what, the data's schema, and notes on the choices."""
    ranks = f" x {cluster.world} processes" if cluster.distributed else ""
    log(
        f"training {config.model.model} ({model.parameter_count():,} parameters) on "
        f"{config.data.source}: {len(splits.train)} train / {len(splits.val)} validation "
        f"examples of shape {splits.shape}, {likelihood_words(config.model)} likelihood, "
        f"{device}{ranks}"
        f"{', bf16 matrix products' if config.train.precision == 'bf16' else ''}"
    )
    log(f"data: {splits.schema.describe()}")
    if len(splits.val) < 2:
        log(
            f"note: too little data to judge the model: {len(splits.val)} validation "
            "example; its numbers are noise and `vaekit evaluate` needs 2 or more "
            "(hold out more with --val-fraction, or give more rows)"
        )
    if config.data.train_on_all:
        log(
            "--train-on-all: the validation examples are among the training ones, so "
            "val numbers are on seen data; the run keeps the last epoch's weights; "
            "evaluate on the test split"
        )
    if speed:
        log(f"speed (auto): {speed}")
