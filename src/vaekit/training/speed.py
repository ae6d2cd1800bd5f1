"""What ``--precision auto`` and ``--compile auto`` (the defaults) become for one run on the
machine at hand.

The choice is a rule, not a stopwatch: the same command on the same machine must choose the same
path, and so write the same bits, which a measured step time (disturbed by whatever else runs)
would not guarantee. The rule's inputs are what the run will do: the matrix-product FLOPs of one
training step (counted on one example), the number of steps and the number of parameter tensors
(compile time grows with the graph); and what the device has: bfloat16 matrix units, a compiler.
Its constants come from step and compile times measured on a 2-core Xeon with AMX for MLP and
convolutional VAEs from 0.009 to 3.4 GFLOP per step (docs/performance.md has the table).

The choice is written into the run's config.json, so ``--resume`` continues on the same path.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
from dataclasses import dataclass

import torch

from vaekit.config.run import RunConfig
from vaekit.core.numerics import cpu_has_native_bf16

# Below this many matrix-product GFLOPs per step, bf16's casts cost more than its faster
# products gain (measured: a 0.10 GFLOP step 18 % slower in bf16, a 0.42 GFLOP step 16 % faster).
BF16_MIN_GFLOP = 0.25
# torch.compile's one-off cost on a CPU, in seconds: measured 10-15 s for a one-hidden-layer MLP
# VAE (8 parameter tensors), 18-22 s for two hidden layers (12), 23-26 s for the conv VAE.
COMPILE_FIXED_S = 6.0
COMPILE_PER_TENSOR_S = 1.0
# What a compiled step saves against the eager one: a fixed part (kernel launches, autograd's
# graph, the optimiser's loop; measured 1.2-1.4 ms) and, for an MLP, a part that grows with the
# products' work (the element-wise kernels around them, fused; measured 1-2 ms per GFLOP). Both
# rounded down. A conv network's work is in its convolutions, which compiling does not speed up
# (measured: 0.8 ms of 26 ms per bf16 step), so it is counted with the fixed part only.
SAVED_PER_STEP_S = 1.0e-3
SAVED_PER_MLP_GFLOP_S = 1.0e-3


@dataclass(frozen=True)
class SpeedChoice:
    """The path a run trains on: ``precision`` ("fp32"/"bf16"), ``compile`` ("on"/"off"), and
    ``reason``, one line for the log saying why (empty when the user chose both)."""

    precision: str
    compile: str
    reason: str


def choose_speed(
    precision: str,
    compile: str,
    gflop_per_step: float,
    steps: int,
    parameter_tensors: int,
    native_bf16: bool,
    compiler: bool,
    distributed: bool = False,
    conv: bool = False,
    one_optimizer: bool = True,
) -> SpeedChoice:
    """Resolve ``precision`` ("auto"/"fp32"/"bf16") and ``compile`` ("auto"/"on"/"off") for a
    run of ``steps`` optimiser steps of ``gflop_per_step`` matrix-product GFLOPs each, on a device
    with or without bf16 matrix units (``native_bf16``) and a working ``compiler``; ``conv``: the
    network is convolutional; ``one_optimizer``: False where a part of the model learns by an
    Adam of its own (FactorVAE's discriminator), which the compiled step cannot run."""
    reasons = []
    if precision == "auto":
        if not native_bf16:
            precision = "fp32"
            reasons.append("fp32: this device has no bfloat16 matrix units")
        elif gflop_per_step < BF16_MIN_GFLOP:
            precision = "fp32"
            reasons.append(
                f"fp32: a step's matrix products ({gflop_per_step:.3g} GFLOP) are too small "
                "for bf16 to gain"
            )
        else:
            precision = "bf16"
            reasons.append(
                f"bf16 matrix products: this device has bf16 units and a step is "
                f"{gflop_per_step:.3g} GFLOP"
            )
    if compile == "auto":
        cost = COMPILE_FIXED_S + COMPILE_PER_TENSOR_S * parameter_tensors
        per_gflop = 0.0 if conv else SAVED_PER_MLP_GFLOP_S
        saved = steps * (SAVED_PER_STEP_S + per_gflop * gflop_per_step)
        if distributed:
            compile = "off"
            reasons.append("not compiled: auto compiles one-process runs only")
        elif not one_optimizer:
            compile = "off"
            reasons.append("not compiled: a part of this model learns by an Adam of its own")
        elif not compiler:
            compile = "off"
            reasons.append("not compiled: no compiler for torch.compile here")
        elif saved < cost:
            compile = "off"
            reasons.append(
                f"not compiled: {steps:,} steps would save ~{saved:.0f} s, less than a "
                f"~{cost:.0f} s compile"
            )
        else:
            compile = "on"
            reasons.append(
                f"compiled: {steps:,} steps save ~{saved:.0f} s for a ~{cost:.0f} s compile"
            )
    return SpeedChoice(precision, compile, "; ".join(reasons))


def device_has_native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16() is True


def compiler_available(device: torch.device) -> bool:
    """Whether torch.compile can generate code for ``device``: a C++ compiler for the CPU,
    Triton for a GPU."""
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    return any(name and shutil.which(name) for name in names)


@torch.no_grad()
def step_gflop(
    model: torch.nn.Module, example: torch.Tensor, condition: torch.Tensor | None, batch: int
) -> float:
    """Matrix-product GFLOPs of one training step at ``batch`` examples: the forward products
    of the loss (its Linear, Conv2d and ConvTranspose2d layers) counted on one ``example``
    (1, *input_shape), times the batch, times 3 (the backward pass runs about two products per
    forward one). Counted with forward hooks, not torch's FlopCounterMode, whose first use
    imports torch._dynamo (two seconds of every run's start)."""
    flops = 0

    def count(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal flops
        if isinstance(module, torch.nn.Linear):
            flops += 2 * output.numel() * module.in_features
        elif isinstance(module, torch.nn.Conv2d):  # each output value: in/groups x kh x kw
            fan_in = module.in_channels // module.groups * math.prod(module.kernel_size)
            flops += 2 * output.numel() * fan_in
        elif isinstance(module, torch.nn.ConvTranspose2d):  # each input value scatters
            fan_out = module.out_channels // module.groups * math.prod(module.kernel_size)
            flops += 2 * inputs[0].numel() * fan_out

    hooks = [module.register_forward_hook(count) for module in model.modules()]
    noise = model.draw_noise(example, torch.Generator(example.device).manual_seed(0))
    try:
        # A loss that draws nothing from ``noise`` may use the global generator: leave it be.
        with torch.random.fork_rng(devices=[]):
            model(example, beta=1.0, noise=noise, condition=condition)
    finally:
        for hook in hooks:
            hook.remove()
    return 3 * batch * flops / 1e9


def resolve_speed(
    config: RunConfig,
    model: torch.nn.Module,
    example: torch.Tensor,
    condition: torch.Tensor | None,
    examples: int,
    device: torch.device,
    world: int = 1,
    gflop: float | None = None,
) -> str:
    """Set ``config.train.precision`` and ``.compile`` to what this run will use (auto resolved
    for ``model`` trained on ``examples`` rows, one of them ``example``, on ``device`` in
    ``world`` processes; ``gflop``: :func:`step_gflop`'s count where the caller has it); return
    the log line saying why ("" when the user chose both)."""
    opts = config.train
    if opts.precision != "auto" and opts.compile != "auto":
        return ""
    if hasattr(model, "fit"):  # closed form (PCA): no training steps
        opts.precision, opts.compile = "fp32", "off"
        return ""
    global_batch = opts.batch_size * world
    used = examples - examples % global_batch if world > 1 else examples
    steps = math.ceil(used / global_batch) * opts.epochs
    if gflop is None:
        gflop = step_gflop(model, example.to(device), condition, opts.batch_size)
    choice = choose_speed(
        opts.precision,
        opts.compile,
        gflop,
        steps,
        len(list(model.parameters())),
        device_has_native_bf16(device),
        compiler_available(device),
        world > 1,
        config.model.arch == "conv",
        len(model.parameter_groups()) == 1,
    )
    opts.precision, opts.compile = choice.precision, choice.compile
    return choice.reason
