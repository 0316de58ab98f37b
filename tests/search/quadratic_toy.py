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


class GridAutoencoder:
    """Decodes a latent to the nearest point of a grid of spacing `step` (a tuple), encodes a design as
    itself: many latents, one design, as for token designs; a row decodes to None where its first
    coordinate exceeds `undecodable_above`."""

    def __init__(self, step: float = 1.0, undecodable_above: float = float("inf")):
        self.step = step
        self.undecodable_above = undecodable_above

    def decode_latents(self, latents: torch.Tensor) -> list[tuple[float, ...] | None]:
        snapped = (latents.detach() / self.step).round() * self.step
        return [
            None if float(row[0]) > self.undecodable_above else tuple(float(value) for value in row)
            for row in snapped
        ]

    def encode_designs(self, designs) -> torch.Tensor:
        return torch.tensor([list(design) for design in designs], dtype=torch.float32)
