"""The model family behind one interface (see :class:`vaekit.models.base.Autoencoder`).

A model is one module and one entry in :data:`MODELS`; its options live in ``ModelConfig``.
"""

from __future__ import annotations

from vaekit.config import ModelConfig
from vaekit.errors import VaekitError
from vaekit.models.base import Autoencoder, LossTerms
from vaekit.models.vae import VAE

MODELS: dict[str, type[Autoencoder]] = {"vae": VAE}


def build_model(config: ModelConfig) -> Autoencoder:
    """Build an untrained model from its config (``input_shape`` must be filled in)."""
    if config.model not in MODELS:
        raise VaekitError(f"model: unknown model {config.model!r} (known: {', '.join(MODELS)})")
    if not config.input_shape:
        raise VaekitError("model.input_shape: not set; it is filled in from the data")
    return MODELS[config.model](config)


__all__ = ["MODELS", "Autoencoder", "LossTerms", "VAE", "build_model"]
