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
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from vaekit.errors import fail
from vaekit.files import atomic_write

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
    optimizer: torch.optim.Optimizer,
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
    metadata = {"vaekit": json.dumps(meta)}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    device: torch.device,
    rank: int = 0,
    world: int = 1,
) -> TrainingState:
    """Restore model, optimiser and generators from ``path``; return the loop's counters."""
    if not path.exists():
        raise fail(path, "no checkpoint to resume from")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["vaekit"])
        tensors = load_file(str(path))
    except (SafetensorError, OSError, KeyError, ValueError) as err:
        raise fail(path, f"not a readable checkpoint ({type(err).__name__}: {err})") from None
    if meta.get("format") != FORMAT:
        raise fail(path, f"checkpoint format {meta.get('format')!r} is not supported")
    if meta.get("world", 1) != world:
        raise fail(
            path,
            f"written by {meta.get('world', 1)} process(es), resumed by {world}: resume it with "
            f"the same number (vaekit train --resume RUN --nproc {meta.get('world', 1)})",
        )
    if world > 1:  # this rank's own random state and partial sums
        names = {"totals": "epoch.totals", "noise": "rng.noise", "torch": "rng.torch"}
        for key in [k for k in tensors if k.startswith(f"rank{rank}.")]:
            tensors[names[key.split(".", 1)[1]]] = tensors[key]
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    expected = model.state_dict()
    if weights.keys() != expected.keys() or any(
        weights[k].shape != expected[k].shape for k in expected
    ):
        raise fail(path, "checkpoint weights do not match the model in config.json")
    model.load_state_dict(weights)
    slots: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            slots.setdefault(int(index), {})[name] = value
    for index, extra in meta["optimizer_scalars"].items():
        slots.setdefault(int(index), {}).update(extra)
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    for name, gen in generators.items():
        gen.set_state(tensors[f"rng.{name}"])
    torch.set_rng_state(tensors["rng.torch"])
    mid_epoch = meta["position"] > 0
    return TrainingState(
        epoch=meta["epoch"],
        step=meta["step"],
        position=meta["position"],
        best_score=meta["best_score"],
        order=tensors["epoch.order"].to(device) if mid_epoch else None,
        totals=tensors["epoch.totals"].to(device) if mid_epoch else None,
        history=meta["history"],
    )
