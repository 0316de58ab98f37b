"""Choosing a search's candidates as designs, not latents: decode, keep what is new, score what is made.

A latent optimizer ends at latents, but a campaign makes (and a benchmark scores) their decoded designs.
Three things differ between the two, and this module accounts for each:

- several latents decode to one design, so distinct latents can be a smaller set of distinct designs;
- a latent can decode to a design already in the offline data, a wasted experiment (on TFBind8, 14 to
  45% of the gradient-ascent end points did: `docs/BENCHMARKS.md`, "Choosing designs, not latents");
- the surrogate's value at an ascended latent is not its value at the decoded design's own encoding
  ``E(D(z))``, the only kind of input the surrogate was trained on. On TFBind8 (seed 0, the flagship
  choosing by latents, without its policy) the mean prediction for the candidates fell from 0.47 at
  their latents to 0.39 at their designs' encodings, and its correlation with the oracle rose from 0.07
  to 0.47; among guided molecular samples, from 0.04-0.30 to 0.34-0.69.

So each candidate's design is decoded, identified by the space's key (`SearchProblem.design_key`),
dropped if undecodable, rejected by the space (as the campaign's filter drops it: a SMILES outside the
vocabulary, say), already measured or already chosen, and valued by the pessimistic objective at its
re-encoding; `NewDesigns.polished` then lets each chosen design climb through its one-edit neighbors
(steepest-ascent hill climbing, Russell & Norvig, "Artificial Intelligence: A Modern Approach",
Sec. 4.1.1, on a random sample of the neighbors) that stay within the offline designs' support
(`DesignSpace.supported`, our guard: the decoder no longer vouches for a polished design, which need not
be one the autoencoder reconstructs). The choosing is our construction, not taken from a
paper; the round trip ``E(D(z))`` is the encoder-decoder consistency that latent-space optimizers such
as LOL-BO (Maus et al., NeurIPS 2022, arXiv 2201.11872) keep by retraining the autoencoder, here used
only to value candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from genmbo.errors import InvalidDesign
from genmbo.progress import showing_progress
from genmbo.search.base import SearchProblem


@dataclass
class DesignChoice:
    """Candidates chosen as designs: their latents (`n x d`: each decodes to its design, except a
    polished design's, its encoding, when the autoencoder does not reconstruct it), the objective's
    value at each design (`n`), and the designs."""

    latents: torch.Tensor
    values: torch.Tensor
    designs: list[Any]

    @classmethod
    def empty(cls, dim: int, device: torch.device | str = "cpu") -> DesignChoice:
        return cls(torch.zeros(0, dim, device=device), torch.zeros(0, device=device), [])

    def __len__(self) -> int:
        return self.latents.shape[0]

    def __add__(self, other: DesignChoice) -> DesignChoice:
        return DesignChoice(
            torch.cat([self.latents, other.latents.to(self.latents)]),
            torch.cat([self.values, other.values.to(self.values)]),
            self.designs + other.designs,
        )

    def split(self, rows: int) -> tuple[DesignChoice, DesignChoice]:
        """The first `rows` rows and the rest, in order."""
        return (
            DesignChoice(self.latents[:rows], self.values[:rows], self.designs[:rows]),
            DesignChoice(self.latents[rows:], self.values[rows:], self.designs[rows:]),
        )

    def best_first(self, count: int | None = None) -> DesignChoice:
        """The `count` (all) rows with the highest values, best first (ties: the earlier row)."""
        order = torch.argsort(self.values.nan_to_num(nan=-torch.inf), descending=True, stable=True)[:count]
        return DesignChoice(
            self.latents[order], self.values[order], [self.designs[row] for row in order.tolist()]
        )


class NewDesigns:
    """Decodes latents of `problem` and keeps the designs not seen before: not offline, not yet taken.

    Args:
        problem: supplies the autoencoder (its prior's), the offline designs and the design keys.
        objective: `n x d` latents -> `n` values, applied to the designs' encodings.
    """

    def __init__(self, problem: SearchProblem, objective: Callable[[torch.Tensor], torch.Tensor]):
        if problem.prior is None or problem.prior.autoencoder is None:
            raise ValueError("choosing designs needs the prior's autoencoder; this search problem has none")
        self.problem = problem
        self.autoencoder = problem.prior.autoencoder
        self.objective = objective
        self.taken: set[Hashable] = problem.offline_keys()

    def last_on_paths(self, path: torch.Tensor) -> DesignChoice:
        """From each ascent of `path` (`k x n x d`: `k` iterates of `n` ascents, oldest first), its latest
        iterate whose design is new; ascents claim designs in order (ascent 0 first), and an ascent whose
        every iterate decodes to a known design contributes nothing."""
        steps, count, dim = path.shape
        pending = list(range(count))
        chosen: dict[int, tuple[torch.Tensor, Any]] = {}
        for step in reversed(range(steps)):
            if not pending:
                break
            designs = self._decode(path[step, pending])
            still_pending = []
            for ascent, design in zip(pending, designs, strict=True):
                if self._take(design):
                    chosen[ascent] = (path[step, ascent], design)
                else:
                    still_pending.append(ascent)
            pending = still_pending
        if not chosen:
            return DesignChoice.empty(dim, path.device)
        latents = torch.stack([chosen[ascent][0] for ascent in sorted(chosen)])
        designs = [chosen[ascent][1] for ascent in sorted(chosen)]
        return DesignChoice(latents, self.values(designs, latents), designs)

    def best(self, latents: torch.Tensor, count: int) -> DesignChoice:
        """Up to `count` of `latents` (`n x d`) with new designs, the highest values first (ties: the
        earlier row); one latent per design, the best."""
        designs = [design if self._valid(design) else None for design in self._decode(latents)]
        decodable = [row for row, design in enumerate(designs) if design is not None]
        if not decodable or count <= 0:
            return DesignChoice.empty(latents.shape[1], latents.device)
        values = torch.full((latents.shape[0],), -torch.inf, device=latents.device)
        values[decodable] = self.values([designs[row] for row in decodable], latents).to(values)
        kept: list[int] = []
        for row in torch.argsort(values.nan_to_num(nan=-torch.inf), descending=True, stable=True).tolist():
            if len(kept) == count:
                break
            # Invalid rows are None already: claim without parsing the design a second time.
            if designs[row] is not None and self._claim(designs[row]):
                kept.append(row)
        return DesignChoice(latents[kept], values[kept], [designs[row] for row in kept])

    def polished(
        self,
        choice: DesignChoice,
        rounds: int,
        max_neighbors: int,
        generator: torch.Generator,
        reconstructed_only: bool = False,
        within_support: bool = True,
    ) -> DesignChoice:
        """`choice` after at most `rounds` of hill climbing in the design space, each design on its own:
        every round, up to ``max_neighbors // len(choice)`` of each design's new neighbors
        (`DesignSpace.neighbors`, drawn in a random order from `generator`; with `within_support`, only
        those the space's `supported` test passes on the offline designs) are valued (by the problem's
        `design_surrogate` when it has one, the chosen designs then revalued by it too; else at their
        encodings), and the best replaces the design if it is better (the climb stops early when no design
        has a new neighbor left). The latent kept for a polished design is its encoding, which decodes to
        another design when the autoencoder does not reconstruct it; `reconstructed_only` keeps only
        neighbors it reconstructs exactly. Each design keeps its own line, so the choice stays as spread
        out as it was (replacing the choice with the best of all neighbors collapsed Ehrlich libraries
        onto one poor region). A space without neighbors leaves the choice as it is."""
        space = self.problem.space
        count = len(choice)
        per_design = max_neighbors // count if count else 0
        if space is None or per_design == 0:
            return choice
        latents, values, designs = choice.latents.clone(), choice.values.clone(), list(choice.designs)
        by_design = self._design_values(designs)
        if by_design is not None:  # one scale for the designs and their neighbors
            values = by_design.to(values)
        supported = space.supported(self.problem.designs) if within_support and self.problem.designs else None
        for _ in range(rounds):
            candidates, owners = self._new_neighbors(designs, per_design, generator, supported)
            if not candidates:
                break
            with torch.no_grad(), showing_progress(False):
                encoded = self.autoencoder.encode_designs(candidates).float().to(latents)
                by_design = self._design_values(candidates)
                candidate_values = (self.objective(encoded) if by_design is None else by_design).to(values)
                if reconstructed_only:
                    decoded = self.autoencoder.decode_latents(encoded)
                    for index, (candidate, design) in enumerate(zip(candidates, decoded, strict=True)):
                        if design is None or self.problem.design_key(design) != self.problem.design_key(
                            candidate
                        ):
                            candidate_values[index] = -torch.inf
            for index, candidate in enumerate(candidates):
                row = owners[index]
                if candidate_values[index] > values[row]:
                    latents[row], values[row] = encoded[index], candidate_values[index]
                    designs[row] = candidate
        return DesignChoice(latents, values, designs)

    def _new_neighbors(
        self,
        designs: Sequence[Any],
        per_design: int,
        generator: torch.Generator,
        supported: Callable[[Any], bool] | None,
    ) -> tuple[list[Any], list[int]]:
        """Up to `per_design` new neighbors of each of `designs` (then taken) that `supported` passes (all,
        without it), in a random order from `generator`, and the row of the design each came from."""
        space = self.problem.space
        assert space is not None  # `polished` returns before asking without a space
        candidates, owners = [], []
        for row, design in enumerate(designs):
            neighbors = space.neighbors(design)
            found = 0
            order = torch.randperm(len(neighbors), generator=generator, device=generator.device)
            for index in order.tolist():
                neighbor = neighbors[index]
                if (supported is None or supported(neighbor)) and self._claim(neighbor):
                    candidates.append(neighbor)
                    owners.append(row)
                    found += 1
                    if found == per_design:
                        break
        return candidates, owners

    def _design_values(self, designs: Sequence[Any]) -> torch.Tensor | None:
        """The objective's pessimistic value by the problem's design surrogate (same `kappa` and score
        scale), or None without one."""
        scorer = self.problem.design_surrogate
        if scorer is None:
            return None
        mean, std = scorer.predict(designs)
        kappa = getattr(self.objective, "kappa", 0.0)
        return (mean - kappa * std) / getattr(self.objective, "score_scale", 1.0)

    def values(self, designs: Sequence[Any], like: torch.Tensor) -> torch.Tensor:
        """The objective at the encodings of `designs` (none None), on `like`'s device and dtype."""
        # No bars: these are small batches inside the search stage.
        with torch.no_grad(), showing_progress(False):
            return self.objective(self.autoencoder.encode_designs(designs).to(like))

    def _decode(self, latents: torch.Tensor) -> list[Any]:
        with showing_progress(False):
            return self.autoencoder.decode_latents(latents)

    def _valid(self, design: Any) -> bool:
        """Whether `design` decoded to something the problem's space accepts (any design, without one)."""
        if design is None or self.problem.space is None:
            return design is not None
        try:
            self.problem.space.parse(design)
        except InvalidDesign:
            return False
        return True

    def _take(self, design: Any) -> bool:
        """Whether `design` is new (then it is taken): False for invalid and for known designs."""
        return self._valid(design) and self._claim(design)

    def _claim(self, design: Any) -> bool:
        """Whether the valid `design` is not known yet (then it is taken)."""
        key = self.problem.design_key(design)
        if key in self.taken:
            return False
        self.taken.add(key)
        return True
