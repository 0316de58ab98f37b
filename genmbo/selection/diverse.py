"""Choose a library from a candidate pool: high predicted scores, spread out over design space.

Greedy max-min selection (Gonzalez's farthest-point heuristic, Theor. Comput. Sci. 1985; in chemistry,
MaxMin diversity picking, Ashton et al., Quant. Struct.-Act. Relat. 2002) restricted to high scorers and
blended with the score, in the spirit of maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998):

1. rank the pool by the pessimistic acquisition ``mean - kappa * std`` of the surrogate and keep the top
   ``shortlist_factor * count`` (the high scorers);
2. take the best one; then, repeatedly, the shortlisted design maximizing
   ``(1 - w) * a_i + w * d_i``, where ``a_i`` is its acquisition min-max scaled to [0, 1] over the
   shortlist and ``d_i`` its distance to the nearest design already chosen, divided by the largest such
   distance among the remaining ones.

``w = 0`` returns the shortlist's best designs in order; ``w = 1`` is pure max-min picking among them.
The selection order is the library's rank, so any prefix of the library is itself a diverse, high-scoring
set. Ties go to the lower pool index, so the choice is deterministic.
"""

from __future__ import annotations

import math

import torch

from genmbo.metrics.design_distance import DistanceKind, distance_matrix


def select_diverse(
    acquisition: torch.Tensor,
    features: torch.Tensor,
    kind: DistanceKind,
    count: int,
    diversity_weight: float = 0.3,
    shortlist_factor: float = 3.0,
) -> list[int]:
    """Indices into the pool of the chosen designs, in selection (rank) order.

    Args:
        acquisition: a `n` tensor, higher is better (NaN and infinite values rank last).
        features: `n x ...` design features (`design_distance.design_features`).
        kind: their distance kind.
        count: designs to choose (fewer if the pool is smaller).
        diversity_weight: ``w`` above, in [0, 1].
        shortlist_factor: the shortlist holds ``ceil(shortlist_factor * count)`` designs.
    """
    if not 0 <= diversity_weight <= 1:
        raise ValueError(f"diversity_weight must be in [0, 1], got {diversity_weight}")
    size = acquisition.shape[0]
    count = min(count, size)
    if count <= 0:
        return []
    values = acquisition.double()
    values = torch.where(torch.isfinite(values), values, torch.full_like(values, -math.inf))  # NaN, inf last
    order = torch.argsort(values, descending=True, stable=True)
    shortlist = order[: min(size, max(count, math.ceil(shortlist_factor * count)))]
    scaled = _unit_scale(values[shortlist])
    candidates = features[shortlist]

    def distances_from(row: int) -> torch.Tensor:
        # One row at a time: memory stays linear in the shortlist, not quadratic.
        return distance_matrix(kind, candidates[row : row + 1], candidates)[0]

    chosen = [0]  # the shortlist's first row is the pool's best
    available = torch.ones(shortlist.shape[0], dtype=torch.bool)
    available[0] = False
    nearest_chosen = distances_from(0)
    while len(chosen) < count:
        largest = nearest_chosen[available].max()
        spread = nearest_chosen / largest if largest > 0 else torch.zeros_like(nearest_chosen)
        blend = (1 - diversity_weight) * scaled + diversity_weight * spread
        blend[~available] = -math.inf
        pick = int(torch.argmax(blend))  # first maximum: ties go to the better-ranked design
        chosen.append(pick)
        available[pick] = False
        nearest_chosen = torch.minimum(nearest_chosen, distances_from(pick))
    return shortlist[chosen].tolist()


def _unit_scale(values: torch.Tensor) -> torch.Tensor:
    """Min-max scaling to [0, 1] over the finite values; non-finite ones become 0 (ranked last)."""
    finite = torch.isfinite(values)
    if not finite.any():
        return torch.zeros_like(values)
    low, high = values[finite].min(), values[finite].max()
    scaled = (values - low) / (high - low) if high > low else torch.ones_like(values)
    return torch.where(finite, scaled, torch.zeros_like(values))
