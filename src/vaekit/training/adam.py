"""Adam for vaekit's training: torch's fused Adam kernel (``torch._fused_adam_``), called the way
``torch.optim.Adam(fused=True)`` calls it, with the same state, so the same bits.

Why not torch.optim.Adam itself: the first call of any torch.optim method imports
torch._dynamo, two seconds that every ``vaekit train`` paid before its first step (a digits run
trains in under one). This class is the part vaekit uses (plain Adam: no weight decay, AMSGrad
or maximising), with torch's ``param_groups``, ``state`` and ``state_dict`` layout, so
checkpoints written with torch.optim.Adam load into it and the compiled step can own its state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import torch

# torch.optim.Adam's group options for plain fused Adam, as its state_dict writes them
PLAIN_ADAM = {
    "weight_decay": 0.0,
    "amsgrad": False,
    "maximize": False,
    "foreach": None,
    "capturable": False,
    "differentiable": False,
    "fused": True,
    "decoupled_weight_decay": False,
}


class FusedAdam:
    """Adam (Kingma & Ba 2015) with learning rate ``lr`` (changed between steps through
    ``param_groups[0]["lr"]``), ``betas`` and ``eps``: one fused kernel per step and group.
    ``params`` is the parameters, or torch's list of groups (dicts with ``params`` and any of
    ``lr``, ``betas``, ``eps`` of their own), as for torch.optim.Adam."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        given = list(params)
        groups = given if given and isinstance(given[0], dict) else [{"params": given}]
        defaults = {"lr": lr, "betas": betas, "eps": eps, **PLAIN_ADAM}
        self.param_groups: list[dict[str, Any]] = [
            {**defaults, **group, "params": list(group["params"])} for group in groups
        ]
        self.state: defaultdict[torch.Tensor, dict[str, torch.Tensor]] = defaultdict(dict)

    @property
    def params(self) -> list[torch.nn.Parameter]:
        """The parameters of every group, in their order in ``state_dict``."""
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (None, or zeros with ``set_to_none=False``)."""
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient (as torch: one without is
        skipped, and its step count stays)."""
        for group in self.param_groups:
            self._step_group(group)

    def _step_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        by_device: dict[tuple, list[torch.Tensor]] = {}
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:  # created at the first step, as torch.optim.Adam creates it
                state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            by_device.setdefault((p.device, p.dtype), []).append(p)
        for params in by_device.values():
            states = [self.state[p] for p in params]
            steps = [s["step"] for s in states]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                params,
                [p.grad for p in params],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [],
                steps,
                amsgrad=False,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=0.0,
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )

    def state_dict(self) -> dict[str, Any]:
        """torch.optim's layout: per-parameter state by index (counted through the groups),
        and each group's options."""
        index = {p: i for i, p in enumerate(self.params)}
        groups = [
            {
                **{k: v for k, v in group.items() if k != "params"},
                "params": [index[p] for p in group["params"]],
            }
            for group in self.param_groups
        ]
        return {
            "state": {index[p]: dict(s) for p, s in self.state.items() if s},
            "param_groups": groups,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the state of a ``state_dict`` (this class's or torch.optim.Adam's). Raises
        ValueError for another optimiser's options or a parameter count that differs."""
        groups = state_dict["param_groups"]
        sizes = [len(group["params"]) for group in groups]
        if sizes != [len(group["params"]) for group in self.param_groups]:
            raise ValueError("optimizer state: not the groups of this model's parameters")
        for group, mine in zip(groups, self.param_groups, strict=True):
            for key in ("weight_decay", "amsgrad", "maximize"):
                if group.get(key, PLAIN_ADAM[key]) != PLAIN_ADAM[key]:
                    raise ValueError(f"optimizer state: {key}={group[key]!r}, not plain Adam")
            mine.update(lr=group["lr"], betas=tuple(group["betas"]), eps=group["eps"])
        self.state.clear()
        for index, slots in state_dict["state"].items():
            p = self.params[int(index)]
            self.state[p] = {
                # the step count stays float32 (on the parameter's device, as fused Adam keeps it)
                key: torch.as_tensor(value)
                .to(p.device, torch.float32 if key == "step" else p.dtype)
                .clone()
                for key, value in slots.items()
            }
