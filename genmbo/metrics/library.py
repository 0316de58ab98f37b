"""Library metrics on feature tensors (see `genmbo.metrics.design_distance`): how close a candidate
library stays to the offline data, and how spread out it is.

- `NearestReferenceValue`: the mean, over candidates, of the kernel value of each candidate's nearest
  offline design: mean nearest-neighbour Tanimoto similarity for molecules (MOSES reports the same
  quantity as "SNN" against its test set; Polykovskiy et al., 2020, Sec. 3), mean distance to the
  nearest offline design for sequences (Hamming) and vectors (Euclidean).
- `MeanPairwiseDistance`: the mean distance over distinct ordered pairs of candidates (``i != j``), the
  diversity of sequence and vector libraries (molecules use MOSES' IntDiv, `metrics.samples`).

Both keep tensor states reduced by concatenation, so they synchronize across processes like any
torchmetrics metric.
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import Metric

from genmbo.metrics.design_distance import DistanceKind, distance_matrix, nearest
from genmbo.metrics.samples import _cat_or_empty

# Rows of one block of the pairwise distance matrix.
_PAIR_BLOCK_ROWS = 256


class NearestReferenceValue(Metric):
    """Mean kernel value between each candidate and its nearest reference design.

    Args:
        kind: the kernel (`design_distance.distance_kind` of the space).
        reference: feature rows of the reference (offline) designs.
    """

    is_differentiable = False
    full_state_update = False

    def __init__(self, kind: DistanceKind, reference: torch.Tensor, **kwargs: Any):
        super().__init__(**kwargs)
        self.kind = kind  # higher is better for Tanimoto similarity, lower for distances
        self.register_buffer("reference", reference, persistent=False)
        self.add_state("values", default=[], dist_reduce_fx="cat")

    def update(self, features: torch.Tensor) -> None:
        values, _ = nearest(self.kind, features, self.reference)
        self.values.append(values.to(self.device))

    def compute(self) -> torch.Tensor:
        values = _cat_or_empty(self.values).double()
        return values.mean() if values.numel() else torch.tensor(float("nan"), dtype=torch.float64)


class MeanPairwiseDistance(Metric):
    """Mean distance over the distinct ordered pairs of all feature rows seen (NaN below two rows)."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, kind: DistanceKind, **kwargs: Any):
        super().__init__(**kwargs)
        self.kind = kind
        self.add_state("features", default=[], dist_reduce_fx="cat")

    def update(self, features: torch.Tensor) -> None:
        self.features.append(features.to(self.device))

    def compute(self) -> torch.Tensor:
        if isinstance(self.features, list) and not self.features:
            return torch.tensor(float("nan"), dtype=torch.float64)
        features = _cat_or_empty(self.features)
        count = features.shape[0]
        if count < 2:
            return torch.tensor(float("nan"), dtype=torch.float64)
        total = torch.zeros((), dtype=torch.float64)
        for start in range(0, count, _PAIR_BLOCK_ROWS):
            total += distance_matrix(self.kind, features[start : start + _PAIR_BLOCK_ROWS], features).sum()
        # The diagonal is zero for every kind, so the sum over all pairs is the sum over distinct ones.
        return total / (count * (count - 1))


class VectorNovelty(Metric):
    """Share of vectors farther than `tolerance` (Euclidean) from every reference vector.

    The novelty of real vectors: exact equality would call a design that went through a float32 encoder
    and back "new"; features are expected in standardized units, where the default tolerance (1e-4) is
    far above float32 round-off and far below any search step.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, reference: torch.Tensor, tolerance: float = 1e-4, **kwargs: Any):
        super().__init__(**kwargs)
        self.tolerance = tolerance
        self.register_buffer("reference", reference, persistent=False)
        self.add_state("novel", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, features: torch.Tensor) -> None:
        distances, _ = nearest("euclidean", features, self.reference)
        self.novel += int((distances > self.tolerance).sum())
        self.total += features.shape[0]

    def compute(self) -> torch.Tensor:
        return self.novel.double() / self.total if self.total > 0 else torch.tensor(float("nan"))
