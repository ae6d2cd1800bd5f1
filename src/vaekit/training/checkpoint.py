"""Everything needed to continue training exactly where it stopped, in one safetensors file.

RUN/checkpoint.safetensors holds the model weights (``model.*``), the optimiser's state tensors
(``optimizer.*``), every random generator's state (``rng.*``) and, mid-epoch, that epoch's data
order and partial sums; its JSON metadata holds the counters, the optimiser's hyper-parameters
and the metrics history. One file, written atomically, so weights and state can never disagree:
a crash at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vaekit.core.errors import fail
from vaekit.core.records import NUMBER, check_fields
from vaekit.core.tensorfiles import check_tensors, read_tensors, write_tensors
from vaekit.training.adam import FusedAdam

FORMAT = 1


@dataclass
class TrainingState:
    """Counters and buffers of the training loop that a resume must restore."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimiser steps taken
    position: int = 0  # examples of the current epoch already consumed (0 at an epoch boundary)
    best_score: float = float("-inf")
    order: torch.Tensor | None = None  # the current epoch's permutation, mid-epoch only
    totals: torch.Tensor | None = None  # the current epoch's partial (loss, recon, kl) sums
    history: list[dict[str, Any]] = field(default_factory=list)  # metrics rows so far


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: FusedAdam,
    generators: dict[str, torch.Generator],
    state: TrainingState,
    world: int = 1,
    ranks: list[dict[str, torch.Tensor]] | None = None,
) -> None:
    """``ranks``: under torchrun, every rank's own random state and partial sums (rank 0 writes
    them all, so each rank resumes with its own noise stream)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, slots in opt["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    for name, gen in generators.items():
        tensors[f"rng.{name}"] = gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    if state.position:
        tensors["epoch.order"] = state.order.cpu().contiguous()
        tensors["epoch.totals"] = state.totals.cpu().contiguous()
    for rank, own in enumerate(ranks or []):
        for key, value in own.items():
            if key != "totals" or state.position:
                tensors[f"rank{rank}.{key}"] = value.cpu().contiguous()
    meta = {
        "format": FORMAT,
        "epoch": state.epoch,
        "step": state.step,
        "position": state.position,
        "best_score": state.best_score,
        "world": world,  # processes that trained it: resumed by as many
        "param_groups": opt["param_groups"],
        "optimizer_scalars": scalars,
        "history": state.history,
    }
    write_tensors(path, tensors, {"vaekit": json.dumps(meta)})


def load_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: FusedAdam,
    generators: dict[str, torch.Generator],
    device: torch.device,
    rank: int = 0,
    world: int = 1,
    examples: int | None = None,
) -> TrainingState:
    """Restore model, optimiser and generators from ``path``; return the loop's counters.
    ``examples``: the training set's size, which a mid-epoch data order must permute."""
    if not path.exists():
        raise fail(path, "no checkpoint to resume from")
    tensors, metadata = read_tensors(path, "checkpoint")
    meta = _read_meta(path, metadata)
    if meta.get("world", 1) != world:
        raise fail(
            path,
            f"written by {meta.get('world', 1)} process(es), resumed by {world}: resume it with "
            f"the same number (vaekit train --resume RUN --nproc {meta.get('world', 1)})",
        )
    if world > 1:  # this rank's own random state and partial sums
        names = {"totals": "epoch.totals", "noise": "rng.noise", "torch": "rng.torch"}
        for key in [k for k in tensors if k.startswith(f"rank{rank}.")]:
            own = names.get(key.split(".", 1)[1])
            if own is None:
                raise fail(path, f"unexpected tensor {key}")
            tensors[own] = tensors[key]
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    check_tensors(path, weights, model.state_dict(), "the model in config.json")
    mid_epoch = meta["position"] > 0
    try:
        _restore(weights, tensors, meta, model, optimizer, generators)
        if mid_epoch:
            _check_epoch_buffers(tensors, examples)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise fail(path, f"the checkpoint does not fit this run ({reason})") from None
    return TrainingState(
        epoch=meta["epoch"],
        step=meta["step"],
        position=meta["position"],
        best_score=meta["best_score"],
        order=tensors["epoch.order"].to(device) if mid_epoch else None,
        totals=tensors["epoch.totals"].to(device) if mid_epoch else None,
        history=meta["history"],
    )


META_FIELDS = {
    "format": "whole number",
    "epoch": "whole number",
    "step": "whole number",
    "position": "whole number",
    "best_score": NUMBER,
    "world": "whole number",
    "param_groups": "list",
    "optimizer_scalars": "object",
    "history": "list",
}


def _read_meta(path: Path, metadata: dict[str, str]) -> dict[str, Any]:
    """The checkpoint's counters, refused unless each has its type and the format is known."""
    try:
        meta = json.loads(metadata["vaekit"])
    except (KeyError, ValueError):
        raise fail(
            path, "not a vaekit checkpoint (its metadata has no readable counters)"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise fail(path, f"checkpoint format {found!r} is not supported")
    check_fields(meta, META_FIELDS, path)
    if min(meta["epoch"], meta["step"], meta["position"]) < 0 or meta["world"] < 1:
        raise fail(path, "checkpoint counters are negative")
    if not all(isinstance(row, dict) for row in meta["history"]):
        raise fail(path, "checkpoint history rows must be objects")
    return meta


def _restore(
    weights: dict[str, torch.Tensor],
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    model: torch.nn.Module,
    optimizer: FusedAdam,
    generators: dict[str, torch.Generator],
) -> None:
    """Load weights, optimiser state and random states; a slot that does not match its
    parameter's shape raises ValueError (torch would only fail at the next step)."""
    model.load_state_dict(weights)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    slots: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            param = params[int(index)]
            if value.dim() and (value.shape != param.shape or value.dtype != param.dtype):
                raise ValueError(f"{key} has shape {tuple(value.shape)}, not {tuple(param.shape)}")
            slots.setdefault(int(index), {})[name] = value
    for index, extra in meta["optimizer_scalars"].items():
        slots.setdefault(int(index), {}).update(extra)
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    for name, gen in generators.items():
        gen.set_state(tensors[f"rng.{name}"])
    torch.set_rng_state(tensors["rng.torch"])


def _check_epoch_buffers(tensors: dict[str, torch.Tensor], examples: int | None) -> None:
    """A mid-epoch checkpoint's data order must hold each training example once (row ids; a
    streamed file's ids skip its validation rows), and its running sums must be the three
    float64 totals the loop adds to."""
    order, totals = tensors["epoch.order"], tensors["epoch.totals"]
    n = len(order) if examples is None else examples
    if (
        order.shape != (n,)
        or order.dtype != torch.int64
        or (n and int(order.min()) < 0)
        or len(torch.unique(order)) != n
    ):
        raise ValueError(f"epoch.order is not an order of the {n} training examples")
    if totals.shape != (3,) or totals.dtype != torch.float64:
        raise ValueError("epoch.totals is not the epoch's three running sums")
