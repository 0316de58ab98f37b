"""DDOM's score reweighting, checked by hand on tiny score sets, and the weighted training sampler."""

from __future__ import annotations

import math

import pytest
import torch

from genmbo.data.score_weighting import adaptive_temperature, ddom_weights
from genmbo.data.weighted_latent_datamodule import WeightedLatentDataModule


def test_hand_computed_weights_on_two_bins() -> None:
    # Bins [0, 1) = {0} and [1, 2] = {1, 2}: fractions 1/3, 2/3; the tilt of the upper edges 1 and 2 at
    # tau = 1 is (e^-1, 1) / (1 + e^-1); with K = 0 that is the bin mass, shared by the bin's rows:
    # row 0 gets e^-1 / (1 + e^-1) and rows 1, 2 get (1/2) / (1 + e^-1).
    weights = ddom_weights(torch.tensor([0.0, 1.0, 2.0]), num_bins=2, k=0.0, tau=1.0)
    low = math.exp(-1) / (1 + math.exp(-1))
    high = 0.5 / (1 + math.exp(-1))
    assert torch.allclose(weights, torch.tensor([low, high, high]))
    assert weights.sum().item() == pytest.approx(1.0)


def test_weights_rise_toward_high_scores_and_sum_to_one() -> None:
    scores = torch.arange(10.0)
    weights = ddom_weights(scores, num_bins=10, k=0.001, tau=2.0)
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert (weights > 0).all()
    assert (weights.diff() > 0).all()
    # One row per bin, all bins equal: consecutive rows differ by exactly the tilt exp(0.9 / 2)
    # (the upper edges are 0.9 apart).
    assert torch.allclose(weights[1:] / weights[:-1], torch.full((9,), math.exp(0.9 / 2.0)))


def bin_mass_ratio(scores: list[float], k: float) -> float:
    """Total weight of the bottom bin over that of the top bin, for two bins over [0, 2]."""
    values = torch.tensor(scores)
    weights = ddom_weights(values, num_bins=2, k=k, tau=1.0, max_relative_weight=None)
    return float(weights[values < 1].sum() / weights[values >= 1].sum())


def test_a_bin_with_more_points_gets_more_mass_at_the_same_distance() -> None:
    # The bottom bin [0, 1) holds 1 of 4 rows in `sparse`, 3 of 6 in `dense`; the distance of its upper
    # edge to the maximum is 1 in both. Mass ratio bottom / top = e^-1 (f0 / (f0 + K)) / (f1 / (f1 + K)).
    sparse, dense = [0.0, 1.0, 2.0, 2.0], [0.0, 0.0, 0.0, 1.0, 2.0, 2.0]
    k = 1.0
    assert bin_mass_ratio(sparse, k) == pytest.approx(math.exp(-1) * (0.25 / 1.25) / (0.75 / 1.75), rel=1e-5)
    assert bin_mass_ratio(dense, k) == pytest.approx(math.exp(-1), rel=1e-5)
    assert bin_mass_ratio(dense, k) > bin_mass_ratio(sparse, k)
    # Without damping the count does not matter, only the distance.
    assert bin_mass_ratio(sparse, 0.0) == pytest.approx(bin_mass_ratio(dense, 0.0), rel=1e-5)


def test_adaptive_temperature_is_the_90th_percentile_distance_below_the_max() -> None:
    scores = torch.arange(11.0)  # distances below the max: 10, ..., 0; 90th percentile: -1
    assert adaptive_temperature(scores) == pytest.approx(1.0)
    assert torch.allclose(ddom_weights(scores), ddom_weights(scores, tau=1.0))


def test_a_lone_top_row_is_capped_at_five_times_uniform() -> None:
    # A flat tilt (huge tau) and K = 0 give the two nonempty bins mass 1/2 each: relative weights
    # 0.5 / 0.99 for the 99 bottom rows (50 in all) and 0.5 / 0.01 = 50 for the top row, capped to 5.
    scores = torch.tensor([0.0] * 99 + [10.0])
    capped = ddom_weights(scores, k=0.0, tau=1e9)
    assert capped[-1].item() == pytest.approx(5.0 / 55.0, rel=1e-5)
    assert capped[0].item() == pytest.approx((50.0 / 99.0) / 55.0, rel=1e-5)
    uncapped = ddom_weights(scores, k=0.0, tau=1e9, max_relative_weight=None)
    assert uncapped[-1].item() == pytest.approx(0.5, rel=1e-5)


def test_equal_scores_give_uniform_weights_and_bad_input_is_rejected() -> None:
    assert torch.equal(ddom_weights(torch.full((4,), 3.0)), torch.full((4,), 0.25))
    with pytest.raises(ValueError, match="tau"):
        ddom_weights(torch.arange(3.0), tau=0.0)
    with pytest.raises(ValueError, match="scores"):
        ddom_weights(torch.zeros(2, 2))


def draw_counts(weights: torch.Tensor, seed: int = 0, epochs: int = 20) -> torch.Tensor:
    latents = torch.arange(8.0)[:, None]
    data = WeightedLatentDataModule(
        latents,
        torch.arange(8.0),
        batch_size=4,
        val_fraction=0.0,
        seed=seed,
        weights=weights,
        samples_per_epoch=500,
    )
    loader = data.train_dataloader()
    drawn = torch.cat([latents_batch[:, 0] for _ in range(epochs) for latents_batch, _ in loader])
    return torch.bincount(drawn.long(), minlength=8)


def test_weighted_datamodule_draws_high_weight_rows_more_often() -> None:
    weights = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 13.0])  # row 7: 13 / 20 of the mass
    counts = draw_counts(weights)
    assert counts.sum() == 10_000
    assert counts[7] / counts.sum() == pytest.approx(0.65, abs=0.02)
    assert (counts[:7] / counts.sum() - 0.05).abs().max() < 0.015
    assert torch.equal(counts, draw_counts(weights))  # seeded
    assert not torch.equal(counts, draw_counts(weights, seed=1))


def test_weighted_datamodule_uses_training_rows_only_and_falls_back_to_shuffling() -> None:
    latents = torch.arange(10.0)[:, None]
    weights = torch.ones(10)
    data = WeightedLatentDataModule(latents, val_fraction=0.3, weights=weights)
    assert data.train_weights is not None and data.train_weights.shape == (7,)
    drawn = torch.cat([batch[0][:, 0] for batch in data.train_dataloader()])
    assert set(drawn.long().tolist()) <= set(data.train_indices.tolist())
    plain = WeightedLatentDataModule(latents, val_fraction=0.3)
    assert plain.train_weights is None and len(plain.train_dataloader().dataset) == 7
    with pytest.raises(ValueError, match="nonnegative"):
        WeightedLatentDataModule(latents, weights=-weights)
