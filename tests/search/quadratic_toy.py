"""The analytic toy several search tests share: a quadratic surrogate and anisotropic offline latents."""

from __future__ import annotations

import torch

CENTER = torch.tensor([3.0, -1.0])


class QuadraticSurrogate:
    """mean = -||z - CENTER||^2, std = 0.1 ||z||: its optimum is CENTER, its least uncertain point 0."""

    latent_dim = 2

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return -((latents - CENTER) ** 2).sum(dim=1), 0.1 * latents.norm(dim=1)


def offline_latents(count: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """`count` latents ~ N((1, -2), diag(2, 0.5)^2): not unit scale, mostly short of CENTER. Drawn from
    `generator` (a test that goes on drawing passes its own), else from one seeded with 0."""
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    return torch.tensor([1.0, -2.0]) + torch.tensor([2.0, 0.5]) * torch.randn(count, 2, generator=generator)
