"""Multi-objective quality of a library against the offline data: hypervolume and dominance.

Objective values are `n x m` tensors with every objective maximized (a minimized one enters negated, as
a campaign orients its scores). BoTorch's `botorch.utils.multi_objective` does the geometry:

- `reference_point`: the point hypervolumes are measured from, derived from the offline data alone:
  ``nadir - 0.1 * (ideal - nadir)`` of the offline Pareto front (`infer_reference_point` with its default
  margin, which BoTorch's documentation attributes to Ishibuchi et al. 2011 as a robust choice). A design
  worse than it in some objective adds no volume. Fixing it by the offline data makes the library's and
  the data's hypervolumes comparable, and a benchmark's ratio to the full data's front too.
- `hypervolume`: the Lebesgue measure of the region the non-dominated points dominate above the
  reference (Zitzler & Thiele, PPSN 1998), by BoTorch's dimension sweep (Fonseca et al., CEC 2006).
- `undominated_share`: the share of library designs that no offline design dominates (at least as good in
  every objective, better in one); a design equal to an offline one is dominated by none and counts.

`ParetoMetrics` accumulates a library's values and computes these with each objective's 100th and 50th
percentiles (over the rows with finite values), beside the offline data's own hypervolume. A row with
a non-finite value (an infeasible design's ``-inf``: `genmbo.data.objectives`) adds no volume, is not
counted as undominated and joins no percentile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from botorch.utils.multi_objective import Hypervolume, infer_reference_point, is_non_dominated
from torchmetrics import Metric

from genmbo.metrics.samples import _cat_or_empty

# Share of each objective's range between the offline front's nadir and the reference point.
REFERENCE_MARGIN = 0.1


def _values(values: torch.Tensor | Sequence[Sequence[float]]) -> torch.Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float64)
    if tensor.dim() != 2:
        raise ValueError(f"objective values must be a `n x m` table, got shape {tuple(tensor.shape)}")
    return tensor


def pareto_front(values: torch.Tensor) -> torch.Tensor:
    """The distinct non-dominated rows of `n x m` values (maximized)."""
    values = _values(values)
    finite = values[torch.isfinite(values).all(1)]
    return finite[is_non_dominated(finite, deduplicate=True)] if len(finite) else finite


def reference_point(offline: torch.Tensor) -> torch.Tensor:
    """The `m` reference point for the offline data's `n x m` values (see the module docstring)."""
    front = pareto_front(offline)
    if len(front) == 0:
        raise ValueError("no offline design has finite values in every objective")
    return infer_reference_point(front, scale=REFERENCE_MARGIN)


def hypervolume(values: torch.Tensor, reference: torch.Tensor) -> float:
    """The hypervolume `n x m` values dominate above `reference` (0 when none beats it everywhere)."""
    front = pareto_front(values)
    reference = torch.as_tensor(reference, dtype=torch.float64)
    front = front[(front > reference).all(1)]
    return float(Hypervolume(reference).compute(front)) if len(front) else 0.0


def dominates(rows: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """`r x n`: whether each of `rows` dominates each row of `values` (>= everywhere, > somewhere)."""
    at_least = (rows.unsqueeze(1) >= values.unsqueeze(0)).all(-1)
    better = (rows.unsqueeze(1) > values.unsqueeze(0)).any(-1)
    return at_least & better


def undominated_share(library: torch.Tensor, offline: torch.Tensor) -> float:
    """The share of `library` rows that no `offline` row dominates (a row with a non-finite value, such
    as an infeasible design's ``-inf``, is not counted as undominated)."""
    library, front = _values(library), pareto_front(offline)
    if len(library) == 0:
        return float("nan")
    finite = torch.isfinite(library).all(1)
    if len(front) == 0:
        return float(finite.double().mean())
    # The front dominates whatever the data dominate.
    return float((finite & ~dominates(front, library).any(0)).double().mean())


class ParetoMetrics(Metric):
    """`update(values)` with a library's `n x m` objective values; `compute()` returns a dict of the
    library's `hypervolume`, the offline data's `offline_hypervolume` and their `hypervolume_ratio`,
    `undominated_share`, the `reference_point`, and per objective (`names`) its `100th` and `50th`
    percentiles. Everything is in the maximized orientation."""

    full_state_update = False

    def __init__(self, offline: torch.Tensor, names: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offline = _values(offline)
        if self.offline.shape[1] != len(names):
            raise ValueError(f"{len(names)} objective names for {self.offline.shape[1]} objectives")
        self.names = list(names)
        self.reference = reference_point(self.offline)
        self.offline_hypervolume = hypervolume(self.offline, self.reference)
        self.add_state("values", default=[], dist_reduce_fx="cat")

    def update(self, values: torch.Tensor) -> None:
        values = _values(values)
        if values.shape[1] != len(self.names):
            raise ValueError(f"values have {values.shape[1]} objectives, expected {len(self.names)}")
        self.values.append(values)

    def compute(self) -> dict[str, Any]:
        values = _values(_cat_or_empty(self.values, len(self.names)))
        library, offline = hypervolume(values, self.reference), self.offline_hypervolume
        finite = values[torch.isfinite(values).all(1)]
        return {
            "hypervolume": library,
            "offline_hypervolume": offline,
            "hypervolume_ratio": library / offline if offline > 0 else None,
            "undominated_share": undominated_share(values, self.offline),
            "reference_point": self.reference.tolist(),
            "objectives": {
                name: {
                    "100th": float(finite[:, column].max()) if len(finite) else None,
                    "50th": float(finite[:, column].quantile(0.5)) if len(finite) else None,
                }
                for column, name in enumerate(self.names)
            },
        }
