"""Numbers that say how good a model is, computed in batches without gradients."""

from __future__ import annotations

import torch

from vaekit.models import Autoencoder


@torch.no_grad()
def elbo_terms(
    model: Autoencoder, x: torch.Tensor, batch_size: int = 1024, seed: int = 0
) -> dict[str, float]:
    """Mean ELBO (beta = 1) and its parts over ``x``, nats per example.

    One z per example from q(z|x), drawn with a fixed seed so repeated calls agree exactly.
    """
    was_training = model.training
    model.eval()
    device = model.device
    gen = torch.Generator(device=device).manual_seed(seed)
    recon = torch.zeros((), device=device, dtype=torch.float64)
    kl = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(0, len(x), batch_size):
        terms = model.loss(x[start : start + batch_size].to(device), generator=gen)
        recon += terms.recon.sum(dtype=torch.float64)
        kl += terms.kl.sum(dtype=torch.float64)
    model.train(was_training)
    n = len(x)
    recon_mean, kl_mean = recon.item() / n, kl.item() / n
    return {"elbo": -(recon_mean + kl_mean), "recon": recon_mean, "kl": kl_mean}
