"""Energy distance and MMD: zero for a set against itself, hand-computed point masses, blocks equal direct."""

from __future__ import annotations

import math

import pytest
import torch

from genmbo.metrics.vector_realism import (
    EnergyDistance,
    MaximumMeanDiscrepancy,
    energy_distance,
    gaussian_mmd,
    mean_over_pairs,
    median_heuristic,
    vector_realism,
)
from genmbo.spaces import ContinuousSpace


def _gaussian_designs(count: int, dim: int, shift: float, seed: int) -> list[tuple[float, ...]]:
    generator = torch.Generator().manual_seed(seed)
    return [tuple(row) for row in (torch.randn(count, dim, generator=generator) + shift).tolist()]


def _value(metric, *batches) -> float:
    for batch in batches:
        metric.update(batch)
    return float(metric.compute())


def test_a_set_against_itself_gives_zero() -> None:
    space = ContinuousSpace(3)
    designs = _gaussian_designs(100, 3, 0.0, seed=0)
    values = vector_realism(designs, designs, space)
    assert set(values) == {"energy_distance", "mmd"}
    assert values["energy_distance"] == pytest.approx(0.0, abs=1e-12)
    assert values["mmd"] == pytest.approx(0.0, abs=1e-12)


def test_energy_distance_of_two_point_masses() -> None:
    # A constant reference keeps unit scale, so the distance stays d: 2 E|X - Y| = 2d, the other terms 0.
    distance = 2.5
    space = ContinuousSpace(1)
    assert _value(EnergyDistance([(distance,)] * 4, space), [(0.0,)] * 3) == pytest.approx(2 * distance)


def test_mmd_of_two_point_masses() -> None:
    # Reference at 0 and 2 (-1 and 1 once standardized: distance 2, bandwidth 2); generated all at 0 (-1):
    # k(x, x') = 1, E k(y, y') = (1 + 1 + 2 e^{-1/2}) / 4, E k(x, y) = (1 + e^{-1/2}) / 2.
    space = ContinuousSpace(1)
    kernel_far = math.exp(-(2.0**2) / (2 * 2.0**2))
    expected = 1 + (2 + 2 * kernel_far) / 4 - (1 + kernel_far)
    assert _value(MaximumMeanDiscrepancy([(0.0,), (2.0,)], space), [(0.0,), (0.0,)]) == pytest.approx(
        expected
    )


def test_shifted_sample_is_farther_than_an_unshifted_one() -> None:
    space = ContinuousSpace(4)
    reference = _gaussian_designs(200, 4, 0.0, seed=1)
    unshifted = vector_realism(_gaussian_designs(200, 4, 0.0, seed=2), reference, space)
    shifted = vector_realism(_gaussian_designs(200, 4, 1.0, seed=3), reference, space)
    assert shifted["energy_distance"] > 5 * unshifted["energy_distance"] > 0
    assert shifted["mmd"] > 5 * unshifted["mmd"] > 0


def test_standardized_on_the_reference() -> None:
    # Scaling one coordinate of both sets alike changes nothing, whatever the space's own statistics.
    reference = _gaussian_designs(50, 2, 0.0, seed=4)
    designs = _gaussian_designs(40, 2, 0.5, seed=5)
    scaled = [[(x * 1000.0, y) for x, y in batch] for batch in (reference, designs)]
    base = vector_realism(designs, reference, ContinuousSpace(2))
    rescaled = vector_realism(scaled[1], scaled[0], ContinuousSpace(2, mean=[3.0, 1.0], std=[7.0, 2.0]))
    assert rescaled == pytest.approx(base, rel=1e-5)


def test_order_and_batches_do_not_change_values() -> None:
    space = ContinuousSpace(3)
    reference = _gaussian_designs(80, 3, 0.0, seed=6)
    designs = _gaussian_designs(60, 3, 0.3, seed=7)
    shuffled = [designs[index] for index in torch.randperm(60, generator=torch.Generator().manual_seed(8))]
    for make in (lambda: EnergyDistance(reference, space), lambda: MaximumMeanDiscrepancy(reference, space)):
        whole = _value(make(), designs)
        assert _value(make(), shuffled) == pytest.approx(whole, rel=1e-9)
        assert _value(make(), designs[:25], [None], designs[25:]) == pytest.approx(whole, rel=1e-9)


def test_blocks_equal_the_direct_computation() -> None:
    generator = torch.Generator().manual_seed(9)
    x, y = torch.randn(37, 3, generator=generator).double(), torch.randn(23, 3, generator=generator).double()
    direct = torch.cdist(x, y)
    assert float(mean_over_pairs(x, y, torch.exp, max_block_elements=50)) == pytest.approx(
        float(direct.exp().mean()), rel=1e-12
    )
    bandwidth = median_heuristic(y)
    assert bandwidth == pytest.approx(float(torch.pdist(y).median()))

    def kernel_mean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-torch.cdist(a, b).square() / (2 * bandwidth**2)).mean()

    mmd = kernel_mean(x, x) + kernel_mean(y, y) - 2 * kernel_mean(x, y)
    assert float(gaussian_mmd(x, y, bandwidth)) == pytest.approx(float(mmd), rel=1e-10)
    energy = 2 * direct.mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()
    assert float(energy_distance(x, y)) == pytest.approx(float(energy), rel=1e-10)


def test_nan_before_any_design_and_empty_reference_rejected() -> None:
    space = ContinuousSpace(2)
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert math.isnan(float(EnergyDistance([(0.0, 1.0)], space).compute()))
    with pytest.raises(ValueError, match="no design"):
        MaximumMeanDiscrepancy([], space)
