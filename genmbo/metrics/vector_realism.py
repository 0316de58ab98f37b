"""Realism of generated vectors: two-sample distances between generated designs and held-out data.

- `EnergyDistance`: the squared energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (Székely & Rizzo,
  J. Stat. Plan. Inference 143(8), 2013), estimated by V-statistics (means over all pairs,
  a point with itself included), so a set against itself gives exactly 0.
- `MaximumMeanDiscrepancy`: the squared MMD with the Gaussian kernel ``exp(-|x - y|^2 / (2 sigma^2))``,
  by the biased estimate ``MMD_b^2`` (Gretton et al., JMLR 13, 2012, eq. 5; eq. 3 is the unbiased one,
  which can be negative), so a set against itself gives exactly 0. ``sigma`` is the median heuristic
  (ibid., Sec. 8) taken on the reference alone, so it does not move with the generated designs: the
  median distance over the distinct pairs of the reference, or of a seeded random subset of
  `_MEDIAN_SUBSET` reference designs when there are more.

Both measure in the reference's standardized units (``space.fit(reference)``: each coordinate minus the
reference mean, over the reference standard deviation), so every dimension counts equally whatever the
space's own standardization. Pairwise terms are summed in blocks of at most `_MAX_BLOCK_ELEMENTS` pairs
(16 MiB of float64 per block matrix), so 10,000 x 10,000 pairs never sit in memory at once.

Distributed use: the generated features are a tensor state reduced by ``"cat"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchmetrics import Metric

from genmbo.metrics.samples import _cat_or_empty, measure
from genmbo.spaces.continuous import ContinuousSpace

# Pairs in one block of distances; a block and its few temporaries stay well under 64 MB.
_MAX_BLOCK_ELEMENTS = 1 << 21
# Reference designs the median heuristic looks at (about half a million pairs).
_MEDIAN_SUBSET = 1000


def mean_over_pairs(
    x: torch.Tensor,
    y: torch.Tensor,
    transform: Callable[[torch.Tensor], torch.Tensor],
    max_block_elements: int = _MAX_BLOCK_ELEMENTS,
) -> torch.Tensor:
    """Mean of ``transform(|x_i - y_j|)`` over all pairs, in blocks of rows of `x`.

    Args:
        x: a `n x d` tensor; y: a `m x d` tensor.
        transform: maps a block of Euclidean distances elementwise (it may do so in place).
        max_block_elements: the most pairs in one block.

    Returns:
        A float64 scalar tensor.
    """
    x, y = x.double(), y.double()
    rows_per_block = max(1, max_block_elements // max(1, y.shape[0]))
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], rows_per_block):
        total += transform(torch.cdist(x[start : start + rows_per_block], y)).sum()
    return total / (x.shape[0] * y.shape[0])


def _identity(distances: torch.Tensor) -> torch.Tensor:
    return distances


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared energy distance (V-statistic) between `n x d` and `m x d` samples."""
    cross, within_x, within_y = (mean_over_pairs(a, b, _identity) for a, b in ((x, y), (x, x), (y, y)))
    return 2 * cross - within_x - within_y


def gaussian_mmd(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """Biased squared MMD (Gretton et al. 2012, eq. 5) with a Gaussian kernel of width `bandwidth`."""

    def kernel(distances: torch.Tensor) -> torch.Tensor:
        # In place: the block of distances is a fresh tensor, and temporaries would double its memory.
        return distances.square_().mul_(-1 / (2 * bandwidth**2)).exp_()

    return mean_over_pairs(x, x, kernel) + mean_over_pairs(y, y, kernel) - 2 * mean_over_pairs(x, y, kernel)


def median_heuristic(reference: torch.Tensor, seed: int = 0) -> float:
    """Median Euclidean distance over the distinct pairs of a `n x d` reference (of a seeded random subset
    of `_MEDIAN_SUBSET` rows when larger); 1.0 when that median is 0 (a constant reference)."""
    if reference.shape[0] > _MEDIAN_SUBSET:
        generator = torch.Generator().manual_seed(seed)
        reference = reference[torch.randperm(reference.shape[0], generator=generator)[:_MEDIAN_SUBSET]]
    distances = torch.pdist(reference.double())
    median = float(distances.median()) if distances.numel() else 0.0
    return median if median > 0 else 1.0


class _ReferenceVectorMetric(Metric):
    """Keeps the reference and the generated designs in the reference's standardized units."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, reference: Sequence[Sequence[float]], space: ContinuousSpace, **kwargs: Any):
        super().__init__(**kwargs)
        if len(reference) == 0:
            raise ValueError("the reference set has no design")
        self.standardized_space = space.fit(reference)
        self.register_buffer("reference", self._encode(reference), persistent=False)
        self.add_state("features", default=[], dist_reduce_fx="cat")

    def _encode(self, designs: Sequence[Sequence[float]]) -> torch.Tensor:
        return self.standardized_space.encode([design for design in designs if design is not None]).double()

    def update(self, designs: Sequence[Sequence[float]]) -> None:
        """Add a batch of generated designs (None entries, failed decodes, are skipped)."""
        self.features.append(self._encode(designs).to(self.device))

    def _distance(self, features: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute(self) -> torch.Tensor:
        """The distance of all designs seen to the reference (NaN before any design)."""
        features = _cat_or_empty(self.features, self.reference.shape[1])
        if features.shape[0] == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return self._distance(features.double(), self.reference.to(features.device))


class EnergyDistance(_ReferenceVectorMetric):
    """Squared energy distance (V-statistic) of the generated designs to `reference`.

    Args:
        reference: held-out designs of `space`.
        space: the continuous space (its own standardization is replaced by the reference's).
    """

    def _distance(self, features: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return energy_distance(features, reference)


class MaximumMeanDiscrepancy(_ReferenceVectorMetric):
    """Biased squared MMD, Gaussian kernel, median-heuristic width on `reference`.

    Args:
        reference: held-out designs of `space`.
        space: the continuous space (its own standardization is replaced by the reference's).
    """

    def __init__(self, reference: Sequence[Sequence[float]], space: ContinuousSpace, **kwargs: Any):
        super().__init__(reference, space, **kwargs)
        self.bandwidth = median_heuristic(self.reference)

    def _distance(self, features: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return gaussian_mmd(features, reference, self.bandwidth)


def vector_realism(
    designs: Sequence[Sequence[float]], reference: Sequence[Sequence[float]], space: ContinuousSpace
) -> dict[str, float]:
    """Energy distance and MMD of `designs` to held-out `reference`: ``{"energy_distance", "mmd"}``."""
    metrics: dict[str, Metric] = {
        "energy_distance": EnergyDistance(reference, space),
        "mmd": MaximumMeanDiscrepancy(reference, space),
    }
    return measure(metrics, designs)
