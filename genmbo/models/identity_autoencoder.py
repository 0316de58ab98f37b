"""The identity "autoencoder": search the standardized design space itself, with no VAE.

Where vectors have few dimensions, a learned latent space only adds reconstruction error, so the latent
of a design is its standardized vector ``(x - mean) / std`` and decoding inverts that (and clips to the
bounds). It offers the same `LatentAutoencoder` interface as the VAEs, so search and the latent diffusion
prior do not need to know which one they got.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from genmbo.spaces import ContinuousSpace, space_from_dict


class IdentityAutoencoder:
    """``encode_designs = space.encode``, ``decode_latents = space.decode``; `latent_dim` is `space.dim`.

    It has no weights, so it is not a LightningModule and has no checkpoint: `to_dict()` /
    `from_dict()` (the space's own description) rebuild it.
    """

    def __init__(self, space: ContinuousSpace | dict[str, Any]):
        space = space_from_dict(space) if isinstance(space, dict) else space
        if not isinstance(space, ContinuousSpace):
            raise TypeError(f"the identity autoencoder needs a ContinuousSpace, got {type(space).__name__}")
        self.space = space
        self.latent_dim = space.dim

    def encode_designs(self, designs: Sequence[Any]) -> torch.Tensor:
        """Standardized vectors: a `n x dim` tensor."""
        return self.space.encode(designs)

    def decode_latents(self, latents: torch.Tensor) -> list[tuple[float, ...]]:
        """Designs of a `n x dim` tensor of standardized vectors, clipped to the bounds."""
        return self.space.decode(latents)

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space.to_dict()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> IdentityAutoencoder:
        return cls(state["space"])
