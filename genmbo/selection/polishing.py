"""Polishing: each chosen design climbs, on its own, through its one-edit neighbors in the design space.

Steepest-ascent hill climbing (Russell & Norvig, "Artificial Intelligence: A Modern Approach", Sec.
4.1.1), departing from it in valuing a random sample of at most `POLISH_NEIGHBORS` new neighbors per design
and round (every one of a TFBind8 design's 24), for a given number of rounds (4 on tuning seeds, against 2
and 8). Neighbors are the space's single edits (`DesignSpace.neighbors`: one token substituted for
sequences; molecules and vectors have none, and are left as they are) that stay within the offline
designs' support (`DesignSpace.supported`: for sequences no pair of adjacent tokens that no offline design
has, which on Ehrlich functions keeps every candidate feasible) and that the library's `NewDesigns` admits.
They are valued by the library's `DesignValues` (the design surrogate, where there is one). Each design
keeps its own line, so the library stays as spread out as it was (replacing it with the best of all
neighbors collapsed Ehrlich libraries onto one poor region). A polished design need not be one the
autoencoder reconstructs; the library holds the design itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from genmbo.selection.filtering import NewDesigns
from genmbo.selection.valuing import DesignValues
from genmbo.spaces.base import DesignSpace

POLISH_NEIGHBORS = 32


def polish(
    designs: Sequence[Any],
    rounds: int,
    space: DesignSpace,
    offline: Sequence[Any],
    values: DesignValues,
    new: NewDesigns,
    generator: torch.Generator,
) -> list[Any]:
    """`designs` after at most `rounds` of climbing, in their rows (the climb stops early when no design
    has a new neighbor left); `generator` orders the neighbors."""
    designs = list(designs)
    if rounds == 0 or not designs:
        return designs
    acquisition = values.acquisition(*values.predict(designs))
    supported = space.supported(offline)
    for _ in range(rounds):
        candidates, owners = _new_neighbors(space, designs, supported, new, generator)
        if not candidates:
            break
        candidate_values = values.acquisition(*values.predict(candidates))
        for index, candidate in enumerate(candidates):
            row = owners[index]
            if candidate_values[index] > acquisition[row]:
                designs[row], acquisition[row] = candidate, candidate_values[index]
    return designs


def _new_neighbors(
    space: DesignSpace,
    designs: Sequence[Any],
    supported: Callable[[Any], bool],
    new: NewDesigns,
    generator: torch.Generator,
) -> tuple[list[Any], list[int]]:
    """Up to `POLISH_NEIGHBORS` admitted neighbors of each of `designs` within the support, in a random
    order from `generator`, and the row of the design each came from."""
    candidates, owners = [], []
    for row, design in enumerate(designs):
        neighbors = space.neighbors(design)
        found = 0
        for index in torch.randperm(len(neighbors), generator=generator, device=generator.device).tolist():
            neighbor = neighbors[index]
            if supported(neighbor) and new.admits(neighbor):
                candidates.append(neighbor)
                owners.append(row)
                found += 1
                if found == POLISH_NEIGHBORS:
                    break
    return candidates, owners
