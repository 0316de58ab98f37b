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

A `Quota` caps how many chosen designs may come from a group of the pool (the library's designs carrying
a structural alert, `genmbo.selection.alert_quota`): once the cap is reached the group's other designs
are passed over, and the shortlist admits at most ``ceil(shortlist_factor * limit)`` of them, so that the
designs outside the group fill the rest of it. The selection stops early when nothing the quotas allow
is left.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from genmbo.metrics.design_distance import DistanceKind, distance_matrix


@dataclass(frozen=True)
class Quota:
    """At most `limit` of the chosen designs may be rows of the pool where `members` (a bool `n` tensor)
    is true."""

    members: torch.Tensor
    limit: int


def select_diverse(
    acquisition: torch.Tensor,
    features: torch.Tensor,
    kind: DistanceKind,
    count: int,
    diversity_weight: float = 0.3,
    shortlist_factor: float = 3.0,
    quotas: Sequence[Quota] = (),
) -> list[int]:
    """Indices into the pool of the chosen designs, in selection (rank) order.

    Args:
        acquisition: a `n` tensor, higher is better (NaN and infinite values rank last).
        features: `n x ...` design features (`design_distance.design_features`).
        kind: their distance kind.
        count: designs to choose (fewer if the pool is smaller).
        diversity_weight: ``w`` above, in [0, 1].
        shortlist_factor: the shortlist holds ``ceil(shortlist_factor * count)`` designs.
        quotas: caps on groups of the pool (see the module docstring).
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
    shortlist_size = min(size, max(count, math.ceil(shortlist_factor * count)))
    shortlist = _shortlist(order, shortlist_size, shortlist_factor, quotas)
    if shortlist.shape[0] == 0:
        return []
    scaled = _unit_scale(values[shortlist])
    candidates = features[shortlist]

    def distances_from(row: int) -> torch.Tensor:
        # One row at a time: memory stays linear in the shortlist, not quadratic.
        return distance_matrix(kind, candidates[row : row + 1], candidates)[0]

    members = [quota.members[shortlist] for quota in quotas]
    room = [quota.limit for quota in quotas]
    available = torch.ones(shortlist.shape[0], dtype=torch.bool)

    def take(row: int) -> None:
        available[row] = False
        for group, rows in enumerate(members):
            if rows[row]:
                room[group] -= 1
                if room[group] <= 0:
                    available[rows] = False

    chosen = [0]  # the shortlist's first row is the best design the quotas allow
    take(0)
    nearest_chosen = distances_from(0)
    while len(chosen) < count and bool(available.any()):
        largest = nearest_chosen[available].max()
        spread = nearest_chosen / largest if largest > 0 else torch.zeros_like(nearest_chosen)
        blend = (1 - diversity_weight) * scaled + diversity_weight * spread
        blend[~available] = -math.inf
        pick = int(torch.argmax(blend))  # first maximum: ties go to the better-ranked design
        chosen.append(pick)
        take(pick)
        nearest_chosen = torch.minimum(nearest_chosen, distances_from(pick))
    return shortlist[chosen].tolist()


def _shortlist(
    order: torch.Tensor, size: int, shortlist_factor: float, quotas: Sequence[Quota]
) -> torch.Tensor:
    """The first `size` rows of `order` (best first), holding at most ``ceil(shortlist_factor * limit)``
    members of each quota's group."""
    if not quotas:
        return order[:size]
    allowance = [math.ceil(shortlist_factor * max(quota.limit, 0)) for quota in quotas]
    rows = []
    for row in order.tolist():
        groups = [group for group, quota in enumerate(quotas) if quota.members[row]]
        if any(allowance[group] <= 0 for group in groups):
            continue
        for group in groups:
            allowance[group] -= 1
        rows.append(row)
        if len(rows) == size:
            break
    return torch.tensor(rows, dtype=torch.long)


def _unit_scale(values: torch.Tensor) -> torch.Tensor:
    """Min-max scaling to [0, 1] over the finite values; non-finite ones become 0 (ranked last)."""
    finite = torch.isfinite(values)
    if not finite.any():
        return torch.zeros_like(values)
    low, high = values[finite].min(), values[finite].max()
    scaled = (values - low) / (high - low) if high > low else torch.ones_like(values)
    return torch.where(finite, scaled, torch.zeros_like(values))
