"""vaekit: variational autoencoders and their family, from training to honest numbers.

import vaekit
run = vaekit.load("runs/digits")
images = run.model.sample(16)
"""

# First: importing vaekit.core.numerics turns on MKL's reproducible mode before any product.
from vaekit.core import numerics as _numerics  # noqa: F401  isort: skip
from vaekit.api import fit, train
from vaekit.config.model import ModelConfig
from vaekit.config.run import DataConfig, RunConfig, TrainConfig
from vaekit.core.errors import VaekitError
from vaekit.core.version import __version__
from vaekit.runs.run import Run, load

__all__ = [
    "DataConfig",
    "ModelConfig",
    "Run",
    "RunConfig",
    "TrainConfig",
    "VaekitError",
    "fit",
    "load",
    "train",
    "__version__",
]
