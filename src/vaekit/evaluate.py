"""Numbers that say how good a model is, computed in batches without gradients."""

from __future__ import annotations

import torch

from vaekit.models import Autoencoder


@torch.no_grad()
def validation_metrics(
    model: Autoencoder, x: torch.Tensor, batch_size: int = 1024, seed: int = 0
) -> dict[str, float | None]:
    """Mean per-example numbers over ``x``, in nats (``mse`` in squared data units):

    recon: -log p(x|z), one z ~ q(z|x) per example; kl: KL(q(z|x) || N(0, I));
    elbo: -(recon + kl) where the model defines one, else None;
    mse: squared error of the reconstruction at the posterior mean (comparable across models).
    The noise is drawn with a fixed seed, so repeated calls agree exactly.
    """
    was_training = model.training
    model.eval()
    device = model.device
    gen = torch.Generator(device=device).manual_seed(seed)
    sums = torch.zeros(3, device=device, dtype=torch.float64)  # recon, kl, mse
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size].to(device)
        terms = model.loss(batch, generator=gen)
        squared = (model.reconstruct(batch) - batch).pow(2).flatten(1).sum(-1)
        sums += torch.stack([terms.recon.sum(), terms.kl.sum(), squared.sum()]).double()
    model.train(was_training)
    recon, kl, mse = (sums / len(x)).tolist()
    elbo = -(recon + kl) if model.probabilistic else None
    return {"elbo": elbo, "recon": recon, "kl": kl, "mse": mse}
