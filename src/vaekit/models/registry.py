"""The model family behind one interface (see :class:`vaekit.models.base.Autoencoder`).

A model is one entry in :data:`MODELS`; variants that differ only in a number or an option
(sparse/denoising AE, beta-VAE, IWAE, the noisy AE, the disentangling VAEs) share a class and
differ in ``ModelConfig``; a VAE with ``lower_latent_dim`` is the two-stochastic-layer
:class:`TwoLayerVAE`.
"""

from __future__ import annotations

from vaekit.config.model import ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.autoencoder import AE
from vaekit.models.base import Autoencoder
from vaekit.models.pca import PCA
from vaekit.models.two_layer import TwoLayerVAE
from vaekit.models.vae import VAE

MODELS: dict[str, type[Autoencoder]] = {
    "pca": PCA,
    "ae": AE,
    "sparse-ae": AE,
    "denoising-ae": AE,
    "noisy-ae": VAE,
    "vae": VAE,
    "beta-vae": VAE,
    "iwae": VAE,
    "beta-tcvae": VAE,
    "factor-vae": VAE,
    "dip-vae": VAE,
}


def model_class(config: ModelConfig) -> type[Autoencoder]:
    """The class that ``config.model`` names: ask it what the model is (``kl_weighted``,
    ``closed_form``, ``probabilistic``) rather than branching on the name."""
    if config.model not in MODELS:
        raise VaekitError(f"model: unknown model {config.model!r} (known: {', '.join(MODELS)})")
    return TwoLayerVAE if config.lower_latent_dim else MODELS[config.model]


def build_model(config: ModelConfig) -> Autoencoder:
    """Build an untrained model from its config (``input_shape`` must be filled in)."""
    cls = model_class(config)
    if not config.input_shape:
        raise VaekitError("model.input_shape: not set; it is filled in from the data")
    if config.arch == "conv" and len(config.input_shape) != 3:
        raise VaekitError("--arch conv: needs image data (C, H, W); use --arch mlp for tables")
    if config.condition_dim and cls.closed_form:
        raise VaekitError(
            "--condition: pca has no conditional form; use any other model (vae, beta-vae, "
            "iwae, noisy-ae, ae, sparse-ae, denoising-ae)"
        )
    if config.prior == "vamp" and config.condition_dim:
        raise VaekitError(
            "--prior vamp: not for a conditional run (its pseudo-inputs carry no condition); "
            "use --prior conditional or standard"
        )
    if config.prior == "conditional" and not config.condition_dim:
        raise VaekitError("--prior conditional: needs a conditional run (--condition COLUMN)")
    return cls(config)
