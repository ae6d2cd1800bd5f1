"""Encoder and decoder bodies: MLP (any data) and convolutional (images of any size).

An encoder maps (B, *input_shape) to (B, outputs). A decoder maps (..., Z) to
(..., params, *input_shape): ``params`` numbers per data value (1 for a Bernoulli logit or a
fixed-variance mean, 2 for mean and variance). The reference 784-400-20 VAE is the MLP with
``hidden=[400]``: encoder 784-400-40, decoder 20-400-784.

A conditional model (``condition_dim`` > 0) also gives each network the example's condition c
(B, C) (Sohn et al. 2015): every linear layer of an MLP reads [input, c]; the conv encoder's
last layer reads [features, c] and the conv decoder's first [z, c]. With no condition the
networks are exactly the unconditional ones.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def mlp(inputs: int, hidden: list[int], outputs: int, condition_dim: int = 0) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last); with ``condition_dim``,
    every linear layer also reads the condition (see :func:`run_mlp`)."""
    layers: list[nn.Module] = []
    width = inputs
    for size in hidden:
        layers += [nn.Linear(width + condition_dim, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width + condition_dim, outputs))
    return nn.Sequential(*layers)


def run_mlp(net: nn.Sequential, h: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
    """An :func:`mlp` on h, the condition joined to the input of every linear layer: a class
    then shapes the output layer directly, not only through the first layer's features (on
    MNIST at 20 epochs: 91.4 % of samples on target against 90.8 % with c in the first layer
    only, 2,000 samples — within noise, and no worse)."""
    if condition is None:
        return net(h)
    for layer in net:
        h = layer(with_condition(h, condition) if isinstance(layer, nn.Linear) else h)
    return h


def with_condition(h: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
    """[h, c] along the last dimension, c broadcast over h's extra leading dimensions (the K
    importance samples of (K, B, Z) codes); h itself when there is no condition."""
    if condition is None:
        return h
    condition = condition.to(h.dtype).expand(*h.shape[:-1], condition.shape[-1])
    return torch.cat([h, condition], dim=-1)


class MLPEncoder(nn.Module):
    def __init__(
        self, input_shape: tuple[int, ...], hidden: list[int], outputs: int, condition_dim: int = 0
    ) -> None:
        super().__init__()
        self.net = mlp(math.prod(input_shape), hidden, outputs, condition_dim)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return run_mlp(self.net, x.flatten(1), condition)


class MLPDecoder(nn.Module):
    def __init__(
        self,
        latent_dim: int,
        hidden: list[int],
        input_shape: tuple[int, ...],
        params: int,
        condition_dim: int = 0,
    ) -> None:
        super().__init__()
        self.out_shape = (params, *input_shape)
        self.net = mlp(latent_dim, hidden[::-1], math.prod(self.out_shape), condition_dim)

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        out = run_mlp(self.net, z, condition)
        return out.unflatten(-1, self.out_shape)  # (..., P, *input_shape)


class ConvEncoder(nn.Module):
    """Stride-2 3x3 convolutions (each halves H and W, rounding up), then a linear layer."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        channels: list[int],
        outputs: int,
        condition_dim: int = 0,
    ) -> None:
        super().__init__()
        c, h, w = input_shape
        layers: list[nn.Module] = []
        for width in channels:
            layers += [nn.Conv2d(c, width, kernel_size=3, stride=2, padding=1), nn.ReLU()]
            c, h, w = width, (h + 1) // 2, (w + 1) // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c * h * w + condition_dim, outputs)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(with_condition(self.features(x).flatten(1), condition))


class ConvDecoder(nn.Module):
    """The mirror: a linear layer to a small feature map, stride-2 transposed convolutions that
    double H and W, then a crop to the input size (so odd sizes such as 7x7 work)."""

    def __init__(
        self,
        latent_dim: int,
        channels: list[int],
        input_shape: tuple[int, ...],
        params: int,
        condition_dim: int = 0,
    ) -> None:
        super().__init__()
        c, h, w = input_shape
        self.input_shape = tuple(input_shape)
        self.params = params
        for _ in channels:
            h, w = (h + 1) // 2, (w + 1) // 2
        widths = channels[::-1]
        self.start = (widths[0], h, w)
        self.head = nn.Linear(latent_dim + condition_dim, math.prod(self.start))
        layers: list[nn.Module] = []
        for i, width in enumerate(widths):
            nxt = widths[i + 1] if i + 1 < len(widths) else params * c
            layers.append(nn.ConvTranspose2d(width, nxt, kernel_size=4, stride=2, padding=1))
            if i + 1 < len(widths):
                layers.append(nn.ReLU())
        self.body = nn.Sequential(nn.ReLU(), *layers)

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        lead = z.shape[:-1]
        c, h, w = self.input_shape
        z = with_condition(z, condition)
        maps = self.head(z.reshape(-1, z.shape[-1])).unflatten(-1, self.start)
        out = self.body(maps)[..., :h, :w]  # (N, P*C, H, W) after the crop
        return out.reshape(*lead, self.params, c, h, w)


def build_encoder(
    arch: str,
    input_shape: tuple[int, ...],
    hidden: list[int],
    channels: list[int],
    outputs: int,
    condition_dim: int = 0,
) -> nn.Module:
    """The encoder body: (B, *input_shape) [and (B, condition_dim)] -> (B, outputs)."""
    if arch == "conv":
        return ConvEncoder(input_shape, channels, outputs, condition_dim)
    return MLPEncoder(input_shape, hidden, outputs, condition_dim)


def build_decoder(
    arch: str,
    latent_dim: int,
    hidden: list[int],
    channels: list[int],
    input_shape: tuple[int, ...],
    params: int,
    condition_dim: int = 0,
) -> nn.Module:
    """The decoder body: (..., Z) [and (..., condition_dim)] -> (..., params, *input_shape)."""
    if arch == "conv":
        return ConvDecoder(latent_dim, channels, input_shape, params, condition_dim)
    return MLPDecoder(latent_dim, hidden, input_shape, params, condition_dim)
