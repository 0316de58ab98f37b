"""The one call every search method answers: start points, surrogate, prior, budget, generator -> latents.

Methods are small objects configured at construction (their hyperparameters, with documented defaults
and sources) and called as

    candidates = method(SearchProblem(...), budget, generator)

returning a `budget x latent_dim` tensor of candidate latents (or normalized inputs, for the identity
autoencoder). They never score with an oracle. Callers that make designs ask for `method.candidates(...)`
instead, which adds the designs when a method chose them itself: the flagship decodes (to choose among
its candidates as designs, `genmbo.search.design_selection`) and may return polished designs that the
autoencoder does not reconstruct, whose latents (their encodings) decode to other designs. Everything
else is decoded by the caller (`Candidates.designs_from`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from genmbo.models.design_surrogate import DesignSurrogate
from genmbo.models.prior import Prior
from genmbo.models.surrogate_protocol import Surrogate
from genmbo.spaces.base import DesignSpace


@dataclass
class SearchProblem:
    """Everything a method may use. `latents`/`scores`: the offline designs' latent codes (`n x d`) and
    scores (`n`, higher is better). `prior` may be None for methods that do not need it. `designs` (the
    offline designs, in the rows of `latents`) and their `space` tell a method which decoded designs are
    already measured; without them, no decoded design counts as measured. `design_surrogate`, when the
    method asks for one (`uses_design_surrogate`) and the space has design features, predicts scores from
    the designs themselves."""

    latents: torch.Tensor
    scores: torch.Tensor
    surrogate: Surrogate
    prior: Prior | None = None
    designs: Sequence[Any] | None = None
    space: DesignSpace | None = None
    design_surrogate: DesignSurrogate | None = None

    def design_key(self, design: Any) -> Hashable:
        """The identity of a design for duplicates and novelty: the space's key, or the design itself."""
        return design if self.space is None else self.space.key(design)

    def offline_keys(self) -> set[Hashable]:
        """The keys of the offline designs (empty without `designs`)."""
        return {self.design_key(design) for design in self.designs or ()}

    def top_latents(self, count: int) -> torch.Tensor:
        """The `count` best offline latents, best first: the usual start points."""
        order = torch.argsort(self.scores, descending=True, stable=True)[:count]
        return self.latents[order]


@dataclass
class Candidates:
    """A method's `budget` candidates: latents (`budget x d`) and, when the method chose the designs
    itself, the designs in the same order (None: the caller decodes the latents)."""

    latents: torch.Tensor
    designs: list[Any] | None = None

    def designs_from(self, autoencoder: Any) -> list[Any]:
        """The designs: the method's own, else `autoencoder`'s decoding of the latents."""
        if self.designs is not None:
            return self.designs
        return autoencoder.decode_latents(self.latents.detach())


class SearchMethod(ABC):
    name: str
    # Whether the method samples a score-conditioned diffusion prior (the prior must then be trained so).
    needs_condition: bool = False
    # Whether the method uses `SearchProblem.design_surrogate` (the caller then trains one where it can).
    uses_design_surrogate: bool = False

    @abstractmethod
    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x latent_dim` tensor of candidate latents."""

    def candidates(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> Candidates:
        """The call's latents with the designs the method chose, if it chose any (by default none)."""
        return Candidates(self(problem, budget, generator))
