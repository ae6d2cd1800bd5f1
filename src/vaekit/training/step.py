"""One optimisation step of vaekit's training loop, as an object: ``fit`` calls it for every
batch, and ``benchmarks/throughput.py`` times exactly this code against the textbook loop.

A step draws the loss's random numbers, evaluates the loss (under bf16 autocast when asked),
back-propagates, flags non-finite values on the device (read by the loop only every few steps),
clips, updates with Adam, and adds the batch's loss, recon and KL to the epoch's running sums, all
without a host sync. Two implementations (``training_step`` picks):

- ``TrainingStep``: eager autograd and fused Adam; with ``--compile`` under DDP, the loss alone
  goes through torch.compile (DDP's gradient hooks need the eager backward).
- ``CompiledStep`` (``--compile``, one process): loss, gradients (torch.func), clipping and Adam
  as one compiled graph: no autograd graph to build and walk, gradients never stored in
  ``.grad``, the bf16 weight gradients fed straight into the Adam update.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable

import torch
from torch.func import functional_call, grad_and_value

from vaekit.config.run import TrainConfig
from vaekit.core.errors import VaekitError
from vaekit.core.progress import log
from vaekit.models.base import Autoencoder, LossTerms
from vaekit.training.adam import FusedAdam

# loss(x, beta, noise, condition) -> LossTerms: the module's loss, eager or compiled
LossFunction = Callable[[torch.Tensor, float, torch.Tensor | None, torch.Tensor | None], LossTerms]


def build_optimizer(groups: list[dict], opts: TrainConfig) -> FusedAdam:
    """Adam with ``--lr`` over the model's parameter groups: fused (one kernel for the whole
    update instead of one per operation and tensor), without importing torch.optim's compiler
    machinery (see vaekit.training.adam)."""
    return FusedAdam(groups, lr=opts.lr)


def training_step(
    model: Autoencoder,
    trainer: torch.nn.Module,
    optimizer: FusedAdam,
    opts: TrainConfig,
    device: torch.device,
    noise_gen: torch.Generator,
    main: bool = True,
    fallback: bool = False,
) -> TrainingStep | CompiledStep:
    """The step ``fit`` runs: ``CompiledStep`` for ``--compile on`` in one process, else
    ``TrainingStep``. ``fallback`` (compile chosen by auto, not by the user): if torch.compile
    fails, train eagerly instead of stopping."""
    # --compile auto never chooses "on" here (vaekit.training.speed); the user's choice is refused
    if opts.compile == "on" and len(optimizer.param_groups) > 1:
        raise VaekitError(
            f"--compile: the compiled step has one Adam; {model.config.model} trains a "
            "second part by its own, so train it without --compile"
        )
    if opts.compile == "on" and trainer is model:
        eager = None
        if fallback:
            eager_opts = dataclasses.replace(opts, compile="off")

            def eager() -> TrainingStep:
                return TrainingStep(model, trainer, optimizer, eager_opts, device, noise_gen, main)

        return CompiledStep(model, optimizer, opts, device, noise_gen, main, eager)
    return TrainingStep(model, trainer, optimizer, opts, device, noise_gen, main)


def add_to_totals(totals: torch.Tensor, terms: LossTerms, batch_size: int) -> None:
    """[loss x B, sum of recon, sum of KL] of a batch into the epoch's float64 running sums."""
    with torch.no_grad():
        parts = [terms.loss.detach() * batch_size, terms.recon.sum(), terms.kl.sum()]
        totals += torch.stack(parts).double()


class TrainingStep:
    def __init__(
        self,
        model: Autoencoder,
        trainer: torch.nn.Module,
        optimizer: FusedAdam,
        opts: TrainConfig,
        device: torch.device,
        noise_gen: torch.Generator,
        main: bool = True,
    ) -> None:
        """``trainer`` is the module whose call is the loss: the model, or its DDP wrapper."""
        self.model = model
        self.optimizer = optimizer
        self.noise_gen = noise_gen
        self.params = list(model.parameters())
        self.clip_grad = opts.clip_grad
        compiled = opts.compile == "on"
        self.loss = compiled_loss(trainer, device, main) if compiled else eager_loss(trainer)
        self.autocast = torch.autocast(
            device.type, torch.bfloat16, enabled=opts.precision == "bf16"
        )
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=device)

    def __call__(
        self,
        batch: torch.Tensor,
        beta: float,
        totals: torch.Tensor,
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """Train on ``batch`` (with its ``condition`` for a conditional model); add
        [loss x B, sum of recon, sum of KL] to ``totals`` (float64)."""
        # The loss's random numbers come from noise_gen here, outside the (possibly compiled)
        # loss: the same numbers in the same order as if the loss drew them itself.
        noise = self.model.draw_noise(batch, self.noise_gen)
        with self.autocast:
            terms = self.loss(batch, beta, noise, condition)  # model.loss
        self.optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        self.nonfinite |= ~torch.isfinite(terms.loss.detach())
        if self.clip_grad is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.params, self.clip_grad)
            self.nonfinite |= ~torch.isfinite(norm)
        self.optimizer.step()
        add_to_totals(totals, terms, len(batch))
        return terms


class CompiledStep:
    """The whole training step as one torch.compile graph: the loss (through
    ``torch.func.functional_call``), its gradients (``torch.func.grad_and_value``), clipping
    and Adam, which updates the parameters and the optimiser's own state tensors in place, so
    checkpoints, resuming and the learning-rate schedule work as with ``TrainingStep``.

    Adam here is torch.optim.Adam's update written out (the fused kernel's arithmetic: lerp for
    the first moment, bias corrections, eps outside the square root), so a compiled run follows
    the eager one to float rounding. A parameter the loss does not use, which eager Adam skips
    (it has no gradient), gets a zero gradient here: it stays unchanged with zero moments, and
    only its step count differs.
    """

    def __init__(
        self,
        model: Autoencoder,
        optimizer: FusedAdam,
        opts: TrainConfig,
        device: torch.device,
        noise_gen: torch.Generator,
        main: bool = True,
        eager: Callable[[], TrainingStep] | None = None,
    ) -> None:
        """``eager`` (given when auto chose to compile) builds the eager step that takes over if
        torch.compile fails at the first step."""
        group = optimizer.param_groups[0]
        if group["weight_decay"] or group["amsgrad"] or group["maximize"]:
            raise VaekitError("--compile: the compiled step implements plain Adam only")
        self.model = model
        self.optimizer = optimizer
        self.noise_gen = noise_gen
        self.device = device
        names = [name for name, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        for p in self.params:  # the state Adam creates at its first step, unless resumed
            state = optimizer.state[p]
            if not state:
                state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        # Adam's step size and bias correction, the same for every parameter: computed here
        # once per step (in double, as the fused kernel does) and handed to the graph as
        # tensors, not recomputed for every element of every weight (pow in the inner loop
        # made the generated update 3x slower than torch's fused Adam).
        self.betas = group["betas"]
        self.steps_done = max(int(optimizer.state[p]["step"]) for p in self.params)
        self.step_size = torch.zeros((), dtype=torch.float32, device=device)
        self.bias2_sqrt = torch.zeros((), dtype=torch.float32, device=device)
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=device)
        update = whole_step(model, names, group, opts, device)
        self.update = _compile_once(update, main)
        self.eager = eager
        self.fallen_back: TrainingStep | None = None
        self.main = main

    def __call__(
        self,
        batch: torch.Tensor,
        beta: float,
        totals: torch.Tensor,
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """Train on ``batch`` (with its ``condition`` for a conditional model); add
        [loss x B, sum of recon, sum of KL] to ``totals`` (float64)."""
        if self.fallen_back is not None:
            return self.fallen_back(batch, beta, totals, condition)
        if self.eager is None:
            return self._step(batch, beta, totals, condition)
        before = self.noise_gen.get_state()  # the first call compiles: it may fail
        try:
            terms = self._step(batch, beta, totals, condition)
        except VaekitError as err:
            self.noise_gen.set_state(before)  # the eager step draws this batch's noise again
            self.fallen_back = self.eager()
            self.fallen_back.nonfinite = self.nonfinite  # the flag fit reads, shared
            if self.main:
                log(f"note: {err}".replace("; train without --compile", "") + "; training eagerly")
            return self.fallen_back(batch, beta, totals, condition)
        self.eager = None  # compiled: no fallback needed from here on
        return terms

    @property
    def compiled(self) -> bool:
        """Whether the steps run compiled (False after a fallback to the eager step)."""
        return self.fallen_back is None

    def _step(self, batch, beta, totals, condition) -> LossTerms:
        noise = self.model.draw_noise(batch, self.noise_gen)  # as TrainingStep draws it
        # the lr schedule's rate at this step, and the bias corrections, without recompiling
        self.steps_done += 1
        beta1, beta2 = self.betas
        lr = self.optimizer.param_groups[0]["lr"]
        self.step_size.fill_(lr / (1 - beta1**self.steps_done))
        self.bias2_sqrt.fill_(math.sqrt(1 - beta2**self.steps_done))
        states = [self.optimizer.state[p] for p in self.params]
        terms, nonfinite = self.update(
            self.params,
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [s["step"] for s in states],
            batch,
            noise,
            torch.tensor(beta, device=self.device),
            self.step_size,
            self.bias2_sqrt,
            condition,
        )
        self.nonfinite |= nonfinite
        add_to_totals(totals, terms, len(batch))
        return terms


def whole_step(
    model: Autoencoder, names: list[str], group: dict, opts: TrainConfig, device: torch.device
) -> Callable:
    """update(params, exp_avgs, exp_avg_sqs, steps, x, noise, beta, step_size, bias2_sqrt,
    condition) ->
    (LossTerms, non-finite flag): one training step as a function of tensors, for
    torch.compile."""
    beta1, beta2 = group["betas"]
    eps = group["eps"]
    clip = opts.clip_grad
    buffers = dict(model.named_buffers())
    bf16 = opts.precision == "bf16"

    def loss_of(params, x, noise, beta, condition):
        with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            weights = (dict(zip(names, params, strict=True)), buffers)
            options = {"beta": beta, "noise": noise, "condition": condition}
            terms = functional_call(model, weights, (x,), options)
        return terms.loss, (terms.recon.detach(), terms.kl.detach())

    def update(
        params, exp_avgs, exp_avg_sqs, steps, x, noise, beta, step_size, bias2_sqrt, condition
    ):
        grads, (loss, (recon, kl)) = grad_and_value(loss_of, has_aux=True)(
            params, x, noise, beta, condition
        )
        nonfinite = ~torch.isfinite(loss)
        if clip is not None:  # as torch.nn.utils.clip_grad_norm_
            norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
            norm = torch.linalg.vector_norm(norms)
            nonfinite |= ~torch.isfinite(norm)
            scale = torch.clamp(clip / (norm + 1e-6), max=1.0)
            grads = [g * scale for g in grads]
        with torch.no_grad():
            for param, grad, exp_avg, exp_avg_sq, step in zip(
                params, grads, exp_avgs, exp_avg_sqs, steps, strict=True
            ):
                grad = grad.to(param.dtype)
                step.add_(1)
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.sqrt() / bias2_sqrt + eps
                param.sub_(step_size * exp_avg / denom)
        return LossTerms(loss=loss.detach(), recon=recon, kl=kl), nonfinite

    return update


def eager_loss(trainer: torch.nn.Module) -> LossFunction:
    """The training loss as the module computes it:
    ``loss(x, beta, noise, condition) -> LossTerms``."""

    def loss(x: torch.Tensor, beta: float, noise, condition) -> LossTerms:
        return trainer(x, beta=beta, noise=noise, condition=condition)

    return loss


def compiled_loss(trainer: torch.nn.Module, device: torch.device, main: bool) -> LossFunction:
    """The training loss through torch.compile (forward and backward become generated, fused
    kernels). beta goes in as a tensor so a beta schedule does not recompile every step."""
    compiled = _compile_once(trainer, main)

    def loss(x: torch.Tensor, beta: float, noise, condition) -> LossTerms:
        return compiled(x, beta=torch.tensor(beta, device=device), noise=noise, condition=condition)

    return loss


def _compile_once(function: Callable, main: bool) -> Callable:
    """torch.compile(function), whose first call compiles: a failure there is one clear error,
    not a compiler traceback."""
    if main:
        log("compiling the training step (torch.compile): the first steps take some seconds")
    # DistributedDataParallel's profiler annotations are skipped by the compiler, which says so
    # on every rank: harmless, and not something a user can act on.
    logging.getLogger("torch._dynamo.variables.ctx_manager").setLevel(logging.ERROR)
    compiled = torch.compile(function)
    compiled_once = False

    def call(*args, **kwargs):
        nonlocal compiled_once
        if compiled_once:
            return compiled(*args, **kwargs)
        try:
            result = compiled(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - no C++ compiler, unsupported op, ...
            reason = (str(err).strip().splitlines() or [""])[0][:200]
            raise VaekitError(
                f"--compile: torch.compile could not compile the training step here "
                f"({type(err).__name__}: {reason}); train without --compile"
            ) from err
        compiled_once = True
        return result

    return call
