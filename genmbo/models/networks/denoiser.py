"""The noise-prediction network of the latent diffusion prior: a residual MLP over latent vectors.

It predicts the noise ``eps_theta(z_t, t, y)`` of Ho et al. 2020 (arXiv 2006.11239, eq. 14) from a noisy
latent, its integer timestep and an optional scalar condition (a standardized score, as in DDOM,
Krishnamoorthy et al. ICML 2023). The network knows nothing of the noise schedule: that lives in the
diffusers scheduler.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Transformer-style sinusoidal features of integer timesteps (Vaswani et al. 2017, sec. 3.5).

    Args:
        timesteps: a `n` tensor of (integer) timesteps.
        dim: the embedding width (even).
    Returns:
        A `n x dim` float tensor ``[cos(t w_k), sin(t w_k)]`` with geometrically spaced frequencies ``w_k``.
    """
    half = dim // 2
    frequencies = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half
    )
    angles = timesteps.float()[:, None] * frequencies[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class ResidualBlock(nn.Module):
    """``h + W2 silu(W1 silu(norm(h)) + E emb)``: the timestep/condition embedding shifts every block."""

    def __init__(self, width: int, embedding_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.in_layer = nn.Linear(width, width)
        self.embedding_layer = nn.Linear(embedding_dim, width)
        self.out_layer = nn.Linear(width, width)

    def forward(self, hidden: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        update = self.in_layer(F.silu(self.norm(hidden))) + self.embedding_layer(embedding)
        return hidden + self.out_layer(F.silu(update))


class LatentDenoiser(nn.Module):
    """``eps_theta(z_t, t[, y])`` for `latent_dim`-dimensional latents.

    With `conditional=True` it also takes a scalar condition per row and owns a learned null embedding
    that replaces the condition where it is dropped (classifier-free guidance, Ho & Salimans 2022).
    """

    def __init__(
        self,
        latent_dim: int,
        hidden_dim: int = 256,
        num_blocks: int = 3,
        embedding_dim: int = 128,
        conditional: bool = False,
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.embedding_dim = embedding_dim
        self.conditional = conditional
        self.time_mlp = nn.Sequential(
            nn.Linear(embedding_dim, embedding_dim), nn.SiLU(), nn.Linear(embedding_dim, embedding_dim)
        )
        if conditional:
            self.condition_mlp = nn.Sequential(
                nn.Linear(1, embedding_dim), nn.SiLU(), nn.Linear(embedding_dim, embedding_dim)
            )
            self.null_condition = nn.Parameter(torch.zeros(embedding_dim))
        self.input_layer = nn.Linear(latent_dim, hidden_dim)
        self.blocks = nn.ModuleList(ResidualBlock(hidden_dim, embedding_dim) for _ in range(num_blocks))
        self.output_norm = nn.LayerNorm(hidden_dim)
        self.output_layer = nn.Linear(hidden_dim, latent_dim)
        # A zero output layer starts the model at eps_theta = 0, the mean of the target noise, which keeps
        # the first steps of training from producing huge losses.
        nn.init.zeros_(self.output_layer.weight)
        nn.init.zeros_(self.output_layer.bias)

    def forward(
        self,
        latents: torch.Tensor,
        timesteps: torch.Tensor,
        condition: torch.Tensor | None = None,
        keep_condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the noise in `latents`.

        Args:
            latents: a `n x latent_dim` tensor of noisy latents ``z_t``.
            timesteps: a `n` (or scalar) integer tensor of diffusion timesteps.
            condition: a `n` tensor of standardized scores, or None for the unconditional model.
            keep_condition: a `n` bool tensor; False rows use the null embedding (condition dropout).
        Returns:
            A `n x latent_dim` tensor of predicted noise.
        """
        timesteps = timesteps.reshape(-1).expand(latents.shape[0])
        embedding = self.time_mlp(sinusoidal_embedding(timesteps, self.embedding_dim).to(latents.dtype))
        if self.conditional:
            embedding = embedding + self._condition_embedding(latents, condition, keep_condition)
        elif condition is not None:
            raise ValueError("this denoiser was built without conditioning; pass condition=None")
        hidden = self.input_layer(latents)
        for block in self.blocks:
            hidden = block(hidden, embedding)
        return self.output_layer(F.silu(self.output_norm(hidden)))

    def _condition_embedding(
        self, latents: torch.Tensor, condition: torch.Tensor | None, keep_condition: torch.Tensor | None
    ) -> torch.Tensor:
        null = self.null_condition.to(latents.dtype).expand(latents.shape[0], -1)
        if condition is None:
            return null
        embedded = self.condition_mlp(condition.reshape(-1, 1).to(latents.dtype))
        if keep_condition is None:
            return embedded
        return torch.where(keep_condition.reshape(-1, 1), embedded, null)
