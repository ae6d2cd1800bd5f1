"""Encoder and decoder bodies. The MLP flattens its input; the reference 784-400-20 VAE is
``mlp(784, [400], 2 * 20)`` for the encoder and ``mlp(20, [400], 784)`` for the decoder."""

from __future__ import annotations

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
