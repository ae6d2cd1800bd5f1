"""One optimisation step of vaekit's training loop, as an object: ``fit`` calls it for every
batch, and ``benchmarks/throughput.py`` times exactly this code against the textbook loop.

A step draws the loss's random numbers, evaluates the loss (eagerly or through torch.compile,
under bf16 autocast when asked), back-propagates, flags non-finite values on the device (read by
the loop only every few steps), clips, updates with fused Adam, and adds the batch's loss, recon
and KL to the epoch's running sums, all without a host sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from vaekit.config import TrainConfig
from vaekit.errors import VaekitError
from vaekit.models import Autoencoder, LossTerms
from vaekit.progress import log

# loss(x, beta, noise) -> LossTerms: the module's loss, eager or compiled
LossFunction = Callable[[torch.Tensor, float, torch.Tensor | None], LossTerms]


def build_optimizer(params: list[torch.nn.Parameter], opts: TrainConfig) -> torch.optim.Adam:
    # Fused Adam: one kernel for the whole update instead of one per operation and tensor.
    return torch.optim.Adam(params, lr=opts.lr, fused=True)


class TrainingStep:
    def __init__(
        self,
        model: Autoencoder,
        trainer: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
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
        self.loss = compiled_loss(trainer, device, main) if opts.compile else eager_loss(trainer)
        self.autocast = torch.autocast(
            device.type, torch.bfloat16, enabled=opts.precision == "bf16"
        )
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=device)

    def __call__(self, batch: torch.Tensor, beta: float, totals: torch.Tensor) -> LossTerms:
        """Train on ``batch``; add [loss x B, sum of recon, sum of KL] to ``totals`` (float64)."""
        # The loss's random numbers come from noise_gen here, outside the (possibly compiled)
        # loss: the same numbers in the same order as if the loss drew them itself.
        noise = self.model.draw_noise(batch, self.noise_gen)
        with self.autocast:
            terms = self.loss(batch, beta, noise)  # model.loss
        self.optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        self.nonfinite |= ~torch.isfinite(terms.loss.detach())
        if self.clip_grad is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.params, self.clip_grad)
            self.nonfinite |= ~torch.isfinite(norm)
        self.optimizer.step()
        with torch.no_grad():
            parts = [terms.loss.detach() * len(batch), terms.recon.sum(), terms.kl.sum()]
            totals += torch.stack(parts).double()
        return terms


def eager_loss(trainer: torch.nn.Module) -> LossFunction:
    """The training loss as the module computes it: ``loss(x, beta, noise) -> LossTerms``."""

    def loss(x: torch.Tensor, beta: float, noise: torch.Tensor | None) -> LossTerms:
        return trainer(x, beta=beta, noise=noise)

    return loss


def compiled_loss(trainer: torch.nn.Module, device: torch.device, main: bool) -> LossFunction:
    """The training loss through torch.compile (forward and backward become generated, fused
    kernels). beta goes in as a tensor so a beta schedule does not recompile every step; the
    first call compiles, and a failure there is one clear error, not a compiler traceback."""
    if main:
        log("compiling the training step (torch.compile): the first steps take some seconds")
    # DistributedDataParallel's profiler annotations are skipped by the compiler, which says so
    # on every rank: harmless, and not something a user can act on.
    logging.getLogger("torch._dynamo.variables.ctx_manager").setLevel(logging.ERROR)
    compiled = torch.compile(trainer)
    compiled_once = False

    def loss(x: torch.Tensor, beta: float, noise: torch.Tensor | None) -> LossTerms:
        nonlocal compiled_once
        beta_tensor = torch.tensor(beta, device=device)
        if compiled_once:
            return compiled(x, beta=beta_tensor, noise=noise)
        try:
            terms = compiled(x, beta=beta_tensor, noise=noise)
        except Exception as err:  # noqa: BLE001 - no C++ compiler, unsupported op, ...
            reason = (str(err).strip().splitlines() or [""])[0][:200]
            raise VaekitError(
                f"--compile: torch.compile could not compile the training step here "
                f"({type(err).__name__}: {reason}); train without --compile"
            ) from err
        compiled_once = True
        return terms

    return loss
