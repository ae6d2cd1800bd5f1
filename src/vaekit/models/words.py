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
