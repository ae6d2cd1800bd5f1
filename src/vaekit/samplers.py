"""Where to draw codes from when sampling: the N(0, I) prior, or a Gaussian mixture fitted to the
training codes — the honest choice for an autoencoder whose latent space was never regularised
(seed 001: points drawn at random from such a space often decode to nothing meaningful)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vaekit.errors import fail
from vaekit.files import atomic_write


class GaussianMixtureSampler:
    """A full-covariance Gaussian mixture over codes: weights (M,), means (M, Z), L (M, Z, Z)."""

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor):
        self.weights, self.means, self.scale_tril = weights, means, scale_tril

    @classmethod
    def fit(cls, codes: np.ndarray, components: int = 10, seed: int = 0) -> GaussianMixtureSampler:
        from sklearn.mixture import GaussianMixture

        if len(codes) < 2:  # too few codes for a mixture: a unit Gaussian around them
            dim = codes.shape[1]
            mean = torch.as_tensor(codes, dtype=torch.float32).mean(0, keepdim=True)
            return cls(torch.ones(1), mean, torch.eye(dim).unsqueeze(0))
        components = max(1, min(components, len(codes) // 2))
        gmm = GaussianMixture(
            components, covariance_type="full", random_state=seed, reg_covar=1e-5, max_iter=200
        ).fit(codes.astype(np.float64))
        tril = np.linalg.cholesky(gmm.covariances_)
        return cls(
            *(torch.as_tensor(a, dtype=torch.float32) for a in (gmm.weights_, gmm.means_, tril))
        )

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        which = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.means.shape[1], generator=generator)
        return self.means[which] + (self.scale_tril[which] @ eps.unsqueeze(-1)).squeeze(-1)

    def save(self, path: Path) -> None:
        tensors = {"weights": self.weights, "means": self.means, "scale_tril": self.scale_tril}
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp)))

    @classmethod
    def load(cls, path: Path) -> GaussianMixtureSampler:
        try:
            t = load_file(str(path))
            return cls(t["weights"], t["means"], t["scale_tril"])
        except Exception as err:  # noqa: BLE001 - any problem with the file is one line
            raise fail(path, f"not a readable sampler file ({type(err).__name__})") from None
