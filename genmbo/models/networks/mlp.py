"""Multi-layer perceptrons: the encoder and decoder of the vector VAE, and building blocks elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


class MLP(nn.Sequential):
    """``Linear -> SiLU (-> LayerNorm)`` for each hidden width, then a final ``Linear`` with no activation.

    Maps a `... x in_dim` tensor to a `... x out_dim` tensor. The output is left unbounded because callers
    read it as a Gaussian mean, a log-variance or a noise prediction.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], out_dim: int, layer_norm: bool = False):
        layers: list[nn.Module] = []
        width = in_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            if layer_norm:
                layers.append(nn.LayerNorm(hidden))
            width = hidden
        layers.append(nn.Linear(width, out_dim))
        super().__init__(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim
