"""What search methods need from a surrogate: a differentiable predictive mean and standard deviation.

Like BoTorch's `Model.posterior`, one method: `predict(latents)` returns the predicted score (higher is
better) and its uncertainty for a `n x latent_dim` tensor, both `n` tensors, differentiable with respect
to `latents` so gradient-based search and classifier guidance can use them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Surrogate(Protocol):
    latent_dim: int

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation (each a `n` tensor) of the score at `n x latent_dim` latents."""
        ...
