"""The one call every search method answers: start points, surrogate, prior, budget, generator -> latents.

Methods are small objects configured at construction (their hyperparameters, with documented defaults
and sources) and called as

    method.fit(problem, budget, generator, run_dir)      # optional: train what the method learns first
    candidates = method.candidates(problem, budget, generator)

returning `Candidates`: a `budget x latent_dim` tensor of candidate latents (or normalized inputs, for the
identity autoencoder) and, when the method chose designs itself, those designs. They never score with an
oracle. What happens to the candidates next (decoding, filtering, the design stages, selection) is the
pipeline's (`genmbo.campaign.pipeline`); a method says what it needs from it through the class attributes
below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genmbo.models.prior import Prior
from genmbo.models.surrogates.protocol import Surrogate
from genmbo.spaces.base import DesignSpace


@dataclass
class SearchProblem:
    """Everything a method may use. `latents`/`scores`: the offline designs' latent codes (`n x d`) and
    scores (`n`, higher is better). `prior` may be None for methods that do not need it. `designs` (the
    offline designs, in the rows of `latents`) and their `space` tell which decoded designs are already
    measured; without them, no decoded design counts as measured. `kappa` is the campaign's pessimism
    (the config's `selection.kappa`): the pipeline values designs by ``mean - kappa * std``, and a method
    without a published objective of its own (the flagship) climbs the same value. `acceptable` is the
    campaign's test of a decoded design (the space parses it and it meets the configured constraints, new
    or not), for methods that handle constraints; None accepts every decodable design."""

    latents: torch.Tensor
    scores: torch.Tensor
    surrogate: Surrogate
    prior: Prior | None = None
    designs: Sequence[Any] | None = None
    space: DesignSpace | None = None
    kappa: float = 1.0
    acceptable: Callable[[Any], bool] | None = None

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
    # Whether the method proposes offline designs on purpose (D(best)): the pipeline then keeps them.
    proposes_offline_designs: bool = False
    # The pipeline's design stages the method is meant to run with (`genmbo.config.StagesConfig`; a
    # config's `stages` keys override them): the share of the library given to gradient ascents from the
    # best offline designs, and the rounds of polishing by single edits.
    portfolio: float = 0.0
    polish_rounds: int = 0

    def fit(
        self, problem: SearchProblem, budget: int, generator: torch.Generator, run_dir: Path | None = None
    ) -> None:
        """Train what the method learns before searching (by default nothing), drawing from `generator`,
        with checkpoints and logs in `run_dir` (a temporary folder when None). A later call on the same
        problem uses it; a call without `fit` fits first."""
        return None

    def realism_weight_for(self, prior: Prior | None) -> float:
        """The weight of the prior's realism critic in the method's search objective: by default 0 (the
        method does not use one); a weight the prior cannot serve is a `ConfigError`."""
        return 0.0

    @abstractmethod
    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x latent_dim` tensor of candidate latents."""

    def candidates(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> Candidates:
        """The call's latents with the designs the method chose, if it chose any (by default none)."""
        return Candidates(self(problem, budget, generator))
