"""Encoder and decoder bodies: MLP (any data) and convolutional (images of any size).

An encoder maps (B, *input_shape) to (B, outputs). A decoder maps (..., Z) to
(..., params, *input_shape): ``params`` numbers per data value (1 for a Bernoulli logit or a
fixed-variance mean, 2 for mean and variance). The reference 784-400-20 VAE is the MLP with
``hidden=[400]``: encoder 784-400-40, decoder 20-400-784.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def mlp(inputs: int, hidden: list[int], outputs: int) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    width = inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    def __init__(self, input_shape: tuple[int, ...], hidden: list[int], outputs: int) -> None:
        super().__init__()
        self.net = mlp(math.prod(input_shape), hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class MLPDecoder(nn.Module):
    def __init__(
        self, latent_dim: int, hidden: list[int], input_shape: tuple[int, ...], params: int
    ) -> None:
        super().__init__()
        self.out_shape = (params, *input_shape)
        self.net = mlp(latent_dim, hidden[::-1], math.prod(self.out_shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).unflatten(-1, self.out_shape)  # (..., P, *input_shape)


class ConvEncoder(nn.Module):
    """Stride-2 3x3 convolutions (each halves H and W, rounding up), then a linear layer."""

    def __init__(self, input_shape: tuple[int, ...], channels: list[int], outputs: int) -> None:
        super().__init__()
        c, h, w = input_shape
        layers: list[nn.Module] = []
        for width in channels:
            layers += [nn.Conv2d(c, width, kernel_size=3, stride=2, padding=1), nn.ReLU()]
            c, h, w = width, (h + 1) // 2, (w + 1) // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c * h * w, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """The mirror: a linear layer to a small feature map, stride-2 transposed convolutions that
    double H and W, then a crop to the input size (so odd sizes such as 7x7 work)."""

    def __init__(
        self, latent_dim: int, channels: list[int], input_shape: tuple[int, ...], params: int
    ) -> None:
        super().__init__()
        c, h, w = input_shape
        self.input_shape = tuple(input_shape)
        self.params = params
        for _ in channels:
            h, w = (h + 1) // 2, (w + 1) // 2
        widths = channels[::-1]
        self.start = (widths[0], h, w)
        self.head = nn.Linear(latent_dim, math.prod(self.start))
        layers: list[nn.Module] = []
        for i, width in enumerate(widths):
            nxt = widths[i + 1] if i + 1 < len(widths) else params * c
            layers.append(nn.ConvTranspose2d(width, nxt, kernel_size=4, stride=2, padding=1))
            if i + 1 < len(widths):
                layers.append(nn.ReLU())
        self.body = nn.Sequential(nn.ReLU(), *layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        lead = z.shape[:-1]
        c, h, w = self.input_shape
        maps = self.head(z.reshape(-1, z.shape[-1])).unflatten(-1, self.start)
        out = self.body(maps)[..., :h, :w]  # (N, P*C, H, W) after the crop
        return out.reshape(*lead, self.params, c, h, w)


def build_encoder(
    arch: str, input_shape: tuple[int, ...], hidden: list[int], channels: list[int], outputs: int
) -> nn.Module:
    if arch == "conv":
        return ConvEncoder(input_shape, channels, outputs)
    return MLPEncoder(input_shape, hidden, outputs)


def build_decoder(
    arch: str,
    latent_dim: int,
    hidden: list[int],
    channels: list[int],
    input_shape: tuple[int, ...],
    params: int,
) -> nn.Module:
    if arch == "conv":
        return ConvDecoder(latent_dim, channels, input_shape, params)
    return MLPDecoder(latent_dim, hidden, input_shape, params)
