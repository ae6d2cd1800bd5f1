"""A run's configuration: plain dataclasses, their option declarations, and reading, merging
and upgrading config files."""

from vaekit.config.model import ModelConfig
from vaekit.config.run import DataConfig, RunConfig, TrainConfig

__all__ = ["DataConfig", "ModelConfig", "RunConfig", "TrainConfig"]
