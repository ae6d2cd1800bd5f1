"""Penalties that push a VAE's code towards independent dimensions, one factor each (the seed
notes' interpretable latent space), added to the ELBO by :class:`vaekit.models.vae.VAE`:

- ``beta-tcvae`` (Chen et al. 2018): the KL's total-correlation part,
  TC = KL(q(z) || prod_d q(z_d)), weighted beta - 1 on top of the KL, so beta = 1 is the VAE;
  q(z) is estimated on the batch by minibatch-weighted sampling, which needs the dataset size.
- ``factor-vae`` (Kim & Mnih 2018): TC estimated by a discriminator that tells codes from codes
  whose dimensions were shuffled independently over the batch (the density-ratio trick),
  weighted gamma; the discriminator learns at the same step from detached codes.
- ``dip-vae`` (Kumar et al. 2018): the covariance of the posterior means (I) or of the aggregate
  posterior (II) pulled towards the identity.
- capacity annealing (Burgess et al. 2018, ``beta-vae --capacity``): gamma |KL - C|, with the
  target C growing linearly from 0 (:func:`vaekit.models.objectives.capacity_at`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from vaekit.models.distributions import normal_log_density
from vaekit.models.nets import mlp

DISCRIMINATOR_BETAS = (0.5, 0.9)  # Kim & Mnih's Adam for the discriminator


def total_correlation(
    z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, dataset_size: int
) -> torch.Tensor:
    """(B,) log q(z_i) - sum_d log q(z_id) at the batch's codes, q(z) the aggregate posterior
    estimated by minibatch-weighted sampling (Chen et al. 2018, eq. S6): the batch's posteriors
    stand for the ``dataset_size`` examples, each weighted 1 / (N B)."""
    batch = z.shape[0]
    pairs = normal_log_density(z[:, None, :], mean[None], logvar[None])  # (B, B, Z)
    log_weight = math.log(dataset_size * batch)
    log_joint = torch.logsumexp(pairs.sum(-1), dim=1) - log_weight
    log_marginals = (torch.logsumexp(pairs, dim=1) - log_weight).sum(-1)
    return log_joint - log_marginals


def dip_penalty(
    mean: torch.Tensor, logvar: torch.Tensor, kind: str, lambda_od: float, lambda_d: float
) -> torch.Tensor:
    """Scalar: lambda_od sum_{i != j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2, C the batch's
    covariance of the posterior means (DIP-VAE-I) or, adding the mean posterior variance, of
    the aggregate posterior (DIP-VAE-II)."""
    centred = mean - mean.mean(0)
    cov = centred.T @ centred / mean.shape[0]
    if kind == "ii":
        cov = cov + torch.diag(torch.exp(logvar).mean(0))
    diagonal = torch.diagonal(cov)
    off = cov - torch.diag(diagonal)
    return lambda_od * (off**2).sum() + lambda_d * ((diagonal - 1) ** 2).sum()


def shuffle_dimensions(z: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Each dimension of ``z`` (B, Z) permuted over the batch on its own, by the order of
    ``keys`` (B, Z) drawn with the step's noise: samples of prod_d q(z_d)."""
    return torch.gather(z, 0, torch.argsort(keys, dim=0))


class Discriminator(nn.Module):
    """FactorVAE's discriminator: one logit per code, log D / (1 - D) that the code came from
    q(z) rather than from the product of its marginals — an estimate of TC at that code."""

    def __init__(self, latent_dim: int, hidden: list[int]) -> None:
        super().__init__()
        self.net = mlp(latent_dim, hidden, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B,) logits."""
        return self.net(z).squeeze(-1)

    def total_correlation(self, z: torch.Tensor) -> torch.Tensor:
        """(B,) the TC estimate at ``z`` with the discriminator held fixed: gradients reach the
        codes (the encoder), never the discriminator's weights."""
        fixed = {name: p.detach() for name, p in self.named_parameters()}
        return functional_call(self, fixed, (z,))

    def loss(self, z: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Scalar: the discriminator's cross-entropy on detached codes (label 1) and their
        dimension-shuffled copies (label 0); gradients reach only its weights."""
        z = z.detach()
        real, shuffled = self(z), self(shuffle_dimensions(z, keys))
        return 0.5 * (F.softplus(-real).mean() + F.softplus(shuffled).mean())
