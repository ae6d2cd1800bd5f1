"""Training: set-up, the loop, one optimisation step, Adam, the speed rule, checkpoints,
graceful stops."""

from vaekit.training.train import resume, train

__all__ = ["resume", "train"]
