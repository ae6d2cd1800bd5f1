"""vaekit: variational autoencoders and their family, from training to honest numbers.

import vaekit
run = vaekit.load("runs/digits")
images = run.model.sample(16)
"""

__version__ = "0.1.0"

from vaekit.numerics import reproducible_mkl  # noqa: E402

reproducible_mkl()  # before anything of vaekit's runs a matrix product: MKL takes it only then

from vaekit.config import DataConfig, ModelConfig, RunConfig, TrainConfig  # noqa: E402
from vaekit.errors import VaekitError  # noqa: E402
from vaekit.runs import Run, load  # noqa: E402
from vaekit.train import train  # noqa: E402

__all__ = [
    "DataConfig",
    "ModelConfig",
    "Run",
    "RunConfig",
    "TrainConfig",
    "VaekitError",
    "load",
    "train",
    "__version__",
]
