"""The model family behind one interface, its networks, distributions, objectives and samplers."""

from vaekit.models.base import Autoencoder, LossTerms
from vaekit.models.registry import MODELS, build_model

__all__ = ["MODELS", "Autoencoder", "LossTerms", "build_model"]
