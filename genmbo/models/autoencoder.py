"""The interface every latent prior's autoencoder offers to search: designs to latents and back.

Search methods (gradient ascent, PGS, guided diffusion) work on `n x latent_dim` tensors and only need
these three members, so a sequence VAE, a vector VAE, and the identity map over a normalized continuous
space are interchangeable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from genmbo.spaces.base import DesignSpace


@runtime_checkable
class LatentAutoencoder(Protocol):
    space: DesignSpace
    latent_dim: int

    def encode_designs(self, designs: Sequence[Any]) -> torch.Tensor:
        """Posterior means of canonical designs: a `n x latent_dim` tensor."""
        ...

    def decode_latents(self, latents: torch.Tensor) -> list[Any]:
        """Greedy decoding of a `n x latent_dim` tensor to canonical designs (`None` if undecodable)."""
        ...
