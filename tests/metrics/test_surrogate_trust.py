"""Surrogate trust on known answers: a perfect ranking, a shuffled one, hand-counted calibration."""

import math

import pytest
import torch

from genmbo.metrics.surrogate_trust import SurrogateTrust, better_than_chance


def trust_of(mean, std, scores):
    metric = SurrogateTrust()
    metric.update(torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(std), torch.as_tensor(scores))
    return metric.compute()


def test_a_perfectly_ranked_surrogate_has_spearman_one_and_is_trusted():
    scores = torch.arange(20, dtype=torch.float64)
    trust = trust_of(2 * scores + 5, torch.ones(20), scores)  # any increasing map ranks perfectly
    assert trust["spearman"] == pytest.approx(1.0) and trust["better_than_chance"] and trust["rows"] == 20


def test_a_shuffled_surrogate_is_no_better_than_chance():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(2000, generator=generator, dtype=torch.float64)
    shuffled = scores[torch.randperm(2000, generator=generator)]
    trust = trust_of(shuffled, torch.ones(2000), scores)
    assert abs(trust["spearman"]) < 0.06 and not trust["better_than_chance"]


def test_calibration_counts_scores_inside_one_and_two_stds():
    # errors 0.5, 1.5, 2.5, 0.0 against std 1: inside 1 std 2 of 4, inside 2 std 3 of 4
    trust = trust_of([0.0, 0.0, 0.0, 3.0], [1.0, 1.0, 1.0, 1.0], [0.5, 1.5, -2.5, 3.0])
    assert trust["within_1_std"] == pytest.approx(0.5) and trust["within_2_std"] == pytest.approx(0.75)


def test_the_chance_test_follows_the_fisher_transform():
    # atanh(rho) * sqrt((n - 3) / 1.06) against 1.645: n = 20, rho 0.4 gives 1.70 (yes), 0.38 gives 1.61 (no)
    assert math.atanh(0.4) * math.sqrt(17 / 1.06) > 1.6449 > math.atanh(0.38) * math.sqrt(17 / 1.06)
    assert better_than_chance(0.4, 20) and not better_than_chance(0.38, 20)
    assert not better_than_chance(1.0, 3) and not better_than_chance(float("nan"), 50)
    one = trust_of([1.0], [1.0], [1.0])
    assert one["rows"] == 1 and one["spearman"] is None and not one["better_than_chance"]


def test_the_conformal_std_scale_is_the_rank_of_the_normalized_errors():
    # normalized errors |y - mean| / std: 0.5, 3.0, 1.0, 2.0, 0.25 (n = 5); rank ceil(6 * 0.6827) = 5
    trust = trust_of([0.0] * 5, [1.0, 1.0, 2.0, 0.5, 4.0], [0.5, -3.0, 2.0, 1.0, 1.0])
    assert trust["std_scale"] == pytest.approx(3.0)
    # with n = 9 the rank is ceil(10 * 0.6827) = 7: the seventh smallest of 1..9
    nine = trust_of([0.0] * 9, [1.0] * 9, [float(value) for value in range(1, 10)])
    assert nine["std_scale"] == pytest.approx(7.0)
    # an honest Gaussian std needs no widening
    generator = torch.Generator().manual_seed(0)
    gaussian = trust_of(torch.zeros(4000), torch.ones(4000), torch.randn(4000, generator=generator))
    assert abs(gaussian["std_scale"] - 1.0) < 0.05


def test_the_std_scale_needs_enough_rows_and_positive_stds():
    assert trust_of([0.0, 0.0], [1.0, 1.0], [1.0, 2.0])["std_scale"] is None  # rank 3 of 2 rows
    assert trust_of([0.0] * 4, [1.0, 0.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0])["std_scale"] is None
