"""PCA, the linear autoencoder of seed 002: minimise ||x - W W^T x||^2 over orthonormal W.

Fitted in closed form (an eigendecomposition of the data covariance), not by gradient descent.
Codes are whitened (z = W^T (x - m) / s, s the component standard deviations) so that on the
training data they have mean 0 and unit variance; decoding x = W (s * z) + m. With the discarded
variance as isotropic noise this is probabilistic PCA (Tipping & Bishop 1999), so N(0, I) samples
through the decoder are samples of a real (linear-Gaussian) model.
"""

from __future__ import annotations

import torch

from vaekit.config.model import ModelConfig
from vaekit.core.errors import VaekitError
from vaekit.models.base import Autoencoder, LossTerms
from vaekit.models.distributions import Gaussian, PointMass


class PCA(Autoencoder):
    """Probabilistic PCA fitted in closed form (``fit``): the linear-Gaussian model whose
    codes are the whitened principal coordinates; trained by no optimiser."""

    regularised_latent = True  # whitened codes: the N(0, I) prior matches them by construction
    closed_form = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        d, z = self.input_size, config.latent_dim
        if z > d:
            raise VaekitError(
                f"--latent-dim {z}: PCA keeps at most as many components as the data has "
                f"dimensions ({d})"
            )
        self.register_buffer("center", torch.zeros(d))
        self.register_buffer("components", torch.zeros(d, z))  # W: orthonormal columns
        self.register_buffer("scales", torch.ones(z))  # s: sqrt of the kept eigenvalues
        self.register_buffer("noise_var", torch.ones(()))  # mean discarded eigenvalue

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Closed-form fit on training data (N, *input_shape), in float64 for accuracy."""
        flat = x.flatten(1).double()
        n, d = flat.shape
        z = self.latent_dim
        if z > min(d, n - 1):
            raise VaekitError(
                f"--latent-dim {z}: PCA keeps at most min(data dimension {d}, examples - 1 "
                f"= {n - 1}) components"
            )
        center = flat.mean(0)
        centered = flat - center
        cov = centered.T @ centered / (n - 1)  # (D, D)
        eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # ascending
        order = torch.argsort(eigenvalues, descending=True)
        eigenvalues, eigenvectors = eigenvalues[order].clamp(min=0), eigenvectors[:, order]
        # Sign convention: the largest entry of each component is positive (reproducible).
        signs = torch.sign(eigenvectors.gather(0, eigenvectors.abs().argmax(0, keepdim=True)))
        eigenvectors = eigenvectors * signs
        kept = eigenvalues[:z]
        discarded = eigenvalues[z:]
        noise = discarded.mean() if len(discarded) else torch.tensor(0.0, dtype=torch.float64)
        self.center.copy_(center)
        self.components.copy_(eigenvectors[:, :z])
        self.scales.copy_(kept.sqrt().clamp(min=1e-6))
        self.noise_var.copy_(noise.clamp(min=1e-6))

    def encode(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> PointMass:
        """The whitened principal coordinates of x (PCA takes no condition)."""
        self.check_condition(condition, len(x))
        return PointMass((x.flatten(1) - self.center) @ self.components / self.scales)

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> Gaussian:
        """p(x|z) = N(W S z + mean, noise variance)."""
        self.check_condition(condition, z.shape[-2] if z.ndim > 1 else 1)
        mean = (z * self.scales) @ self.components.T + self.center  # (..., D)
        mean = mean.unflatten(-1, self.input_shape)
        return Gaussian(mean, 0.5 * torch.log(self.noise_var), len(self.input_shape))

    def loss(
        self,
        x: torch.Tensor,
        beta: float = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        condition: torch.Tensor | None = None,
    ) -> LossTerms:
        """-log p(x | z = the code): the Gaussian reconstruction term; ``kl`` is zero."""
        recon = -self.decode(self.encode(x, condition).mean).log_prob(x)
        return LossTerms(loss=recon.mean(), recon=recon, kl=torch.zeros_like(recon))

    def parameter_count(self) -> int:
        """The fitted numbers: components, centre and scales."""
        return self.components.numel() + self.center.numel() + self.scales.numel()
