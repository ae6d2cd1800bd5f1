"""A model's config in words, written once for the start line, ``vaekit info``, the report and
picture titles."""

from __future__ import annotations

from vaekit.config.model import ModelConfig
from vaekit.models.registry import model_class


def network_words(model: ModelConfig) -> str:
    """The network in a few words, e.g. "mlp, hidden 400"; a two-layer model's stochastic
    layers too."""
    if model_class(model).closed_form:
        return "linear (closed-form PCA)"
    if model.arch == "conv":
        words = "conv, channels " + " ".join(map(str, model.channels))
    else:
        words = "mlp, hidden " + " ".join(map(str, model.hidden))
    if model.lower_latent_dim:
        words += (
            f"; two stochastic layers, z1 {model.lower_latent_dim} (x side) and z2 "
            f"{model.latent_dim} (the code), hidden "
            + " ".join(map(str, model.lower_hidden))
            + " between them"
        )
    return words


def likelihood_words(model: ModelConfig) -> str:
    """p(x|z) in words: the likelihood's name, or PCA's linear-Gaussian model."""
    if model_class(model).closed_form:
        return "linear-Gaussian (probabilistic PCA)"
    if model.likelihood == "discretised":
        return f"discretised logistic over {model.levels} grey levels"
    return model.likelihood


def prior_words(model: ModelConfig) -> str:
    """What the prior is, for picture titles: N(0, I) or the learned p(z|c)."""
    return "p(z|c), learned" if model.prior == "conditional" else "N(0, I)"


def prior_row_words(model: ModelConfig) -> str:
    """The VampPrior in words (empty for N(0, I); a conditional run's prior is said with its
    condition)."""
    if model.prior != "vamp":
        return ""
    return f"VampPrior, a mixture over {model.pseudo_inputs:,} learned pseudo-inputs"


def posterior_words(model: ModelConfig) -> str:
    """q(z|x) in words where it is not the diagonal Gaussian (empty otherwise; only the VAEs
    that learn their posterior take another, see ModelConfig.posterior)."""
    if model.posterior == "diagonal":
        return ""
    if model.posterior == "full":
        return "full-covariance Gaussian (a Cholesky factor per example)"
    return (
        f"diagonal Gaussian through {model.flow_steps} inverse autoregressive flow steps "
        f"({model.flow_hidden} hidden units each)"
    )


def objective_words(model: ModelConfig) -> str:
    """The disentangling penalty in words (empty for the others' objectives)."""
    if model.capacity:
        steps = f"{model.capacity_steps:,} steps" if model.capacity_steps else "the whole run"
        return (
            f"gamma {model.resolved_gamma():g} x |KL - C|, the target C rising from 0 to "
            f"{model.capacity:g} nats over {steps} (capacity annealing)"
        )
    if model.model == "beta-tcvae":
        return (
            f"the ELBO + {model.resolved_beta() - 1:g} x total correlation (beta "
            f"{model.resolved_beta():g}; q(z) over {model.dataset_size:,} training examples)"
        )
    if model.model == "factor-vae":
        layers = model.discriminator_hidden
        shape = f"{len(layers)} x {layers[0]}" if len(set(layers)) == 1 else str(layers)
        return (
            f"the ELBO + gamma {model.resolved_gamma():g} x total correlation, from a "
            f"discriminator ({shape} hidden, its own Adam at lr {model.discriminator_lr:g})"
        )
    if model.model == "dip-vae":
        return (
            f"DIP-VAE-{model.dip.upper()}: the ELBO + {model.lambda_od:g} x off-diagonal + "
            f"{model.resolved_lambda_d():g} x diagonal distance of the covariance from I"
        )
    return ""
