"""The one call every search method answers: start points, surrogate, prior, budget, generator -> latents.

Methods are small objects configured at construction (their hyperparameters, with documented defaults
and sources) and called as

    candidates = method(SearchProblem(...), budget, generator)

returning a `budget x latent_dim` tensor of candidate latents (or normalized inputs, for the identity
autoencoder). They never decode or score with an oracle: the campaign does that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch

from genmbo.models.prior import Prior
from genmbo.models.surrogate_protocol import Surrogate


@dataclass
class SearchProblem:
    """Everything a method may use. `latents`/`scores`: the offline designs' latent codes (`n x d`) and
    scores (`n`, higher is better). `prior` may be None for methods that do not need it."""

    latents: torch.Tensor
    scores: torch.Tensor
    surrogate: Surrogate
    prior: Prior | None = None

    def top_latents(self, count: int) -> torch.Tensor:
        """The `count` best offline latents, best first: the usual start points."""
        order = torch.argsort(self.scores, descending=True, stable=True)[:count]
        return self.latents[order]


class SearchMethod(ABC):
    name: str
    # Whether the method samples a score-conditioned diffusion prior (the prior must then be trained so).
    needs_condition: bool = False

    @abstractmethod
    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x latent_dim` tensor of candidate latents."""
