"""Where to draw codes from when sampling: the N(0, I) prior, or a Gaussian mixture fitted to the
training codes — the honest choice for an autoencoder whose latent space was never regularised
(seed 001: points drawn at random from such a space often decode to nothing meaningful)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaekit.errors import fail
from vaekit.tensorfiles import read_tensors, write_tensors


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
        write_tensors(
            path, {"weights": self.weights, "means": self.means, "scale_tril": self.scale_tril}
        )

    @classmethod
    def load(cls, path: Path, latent_dim: int | None = None) -> GaussianMixtureSampler:
        """Read a sampler file, refusing it (one line naming the file) unless it is a mixture
        over ``latent_dim``-dimensional codes: weights (M,) summing to one, means (M, Z), and
        lower-triangular scales (M, Z, Z) with a positive diagonal."""
        t, _ = read_tensors(path, "sampler")
        if set(t) != {"weights", "means", "scale_tril"}:
            raise fail(path, "not a sampler file: needs tensors weights, means and scale_tril")
        weights, means, tril = t["weights"], t["means"], t["scale_tril"]
        m, z = means.shape if means.ndim == 2 else (0, 0)
        if (
            m < 1
            or weights.shape != (m,)
            or tril.shape != (m, z, z)
            or (latent_dim is not None and z != latent_dim)
            or any(x.dtype != torch.float32 for x in (weights, means, tril))
        ):
            shapes = ", ".join(f"{k} {tuple(v.shape)} {v.dtype}" for k, v in sorted(t.items()))
            need = "Z" if latent_dim is None else str(latent_dim)
            raise fail(
                path,
                f"a mixture needs float32 weights (M,), means (M, {need}) and scale_tril "
                f"(M, {need}, {need}); the file has {shapes}",
            )
        diagonal = torch.diagonal(tril, dim1=-2, dim2=-1)
        if (weights < 0).any() or abs(float(weights.sum()) - 1) > 1e-3 or (diagonal <= 0).any():
            raise fail(
                path,
                "not a valid mixture: weights must be shares summing to 1 and scales positive "
                "on the diagonal",
            )
        return cls(weights, means, tril)
