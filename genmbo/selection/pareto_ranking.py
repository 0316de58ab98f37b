"""Ranking a multi-objective pool: non-dominated sorting, then the scalarized value within each front.

Non-dominated sorting (Deb et al., NSGA-II, IEEE Trans. Evol. Comput. 2002, Sec. III-A): front 0 is the
designs no other design dominates, front 1 those dominated only by front 0, and so on. Designs are sorted
on their pessimistic predictions ``mean - kappa * std`` per objective, so an uncertain design does not
reach the first front on optimism. Within a front the tie-break is the design's scalar acquisition (the
weighted Chebyshev scalarization of the objectives, `genmbo.data.objectives`), scaled to [0, 0.99] so it
never lifts a design over a better front. The diverse selection (`genmbo.selection.diverse`) blends this
ranking with distance, so the library fills the first fronts with designs spread over design space.
Departure from NSGA-II: no crowding distance in objective space; diversity is measured between designs.
"""

from __future__ import annotations

import torch

from genmbo.metrics.pareto import dominates

# The tie-break's span within a front: below 1, so no tie-break outranks a better front.
TIE_BREAK_SPAN = 0.99
# Rows compared with all others at once: memory stays linear in the set's size.
BLOCK_ROWS = 1024


def front_ranks(values: torch.Tensor, until: int | None = None) -> torch.Tensor:
    """The non-dominated front of each row of `n x m` values (maximized): 0 for the first front.

    NSGA-II's fast non-dominated sort (Deb et al. 2002, Sec. III-A): count for each row the rows that
    dominate it, then peel the rows whose count is zero, front by front, discounting what each peeled row
    dominates. Rows equal to each other dominate neither. With `until`, peeling stops once at least that
    many rows have a front; the rest share the next one. Rows with a non-finite value rank last."""
    values = values.double()
    count = values.shape[0]
    finite = torch.isfinite(values).all(1)
    dominators = torch.zeros(count, dtype=torch.long)
    for rows in torch.arange(count).split(BLOCK_ROWS):
        dominators += (dominates(values[rows], values) & finite).sum(0)
    ranks = torch.full((count,), -1, dtype=torch.long)
    remaining = finite.clone()
    front = 0
    while remaining.any():
        current = remaining & (dominators == 0)
        ranks[current] = front
        remaining &= ~current
        front += 1
        if until is not None and int((ranks >= 0).sum()) >= until:
            break
        for rows in torch.nonzero(current).flatten().split(BLOCK_ROWS):
            dominators -= (dominates(values[rows], values) & finite).sum(0)
    ranks[remaining] = front
    ranks[~finite] = front + (1 if remaining.any() else 0)
    return ranks


def pareto_ranking(pessimistic: torch.Tensor, tie_break: torch.Tensor) -> torch.Tensor:
    """A `n` ranking value (higher is better): ``-front`` plus the tie-break scaled within [0, 0.99]."""
    ranks = front_ranks(pessimistic).double()
    values = tie_break.double()
    finite = torch.isfinite(values)
    if finite.any():
        low, high = values[finite].min(), values[finite].max()
        scaled = (values - low) / (high - low) if high > low else torch.ones_like(values)
    else:
        scaled = torch.zeros_like(values)
    scaled = torch.where(finite, scaled, torch.zeros_like(values))
    return -ranks + TIE_BREAK_SPAN * scaled
