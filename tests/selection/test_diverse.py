"""Greedy diverse selection: pure score order at w = 0, max-min spread at w = 1, deterministic."""

import torch

from genmbo.selection.diverse import Quota, select_diverse


def line_points():
    # Ten points on a line; scores fall with position, so the best designs crowd together at 0.
    positions = torch.tensor([[0.0], [0.1], [0.2], [0.3], [5.0], [5.1], [10.0], [2.0], [7.0], [9.0]])
    scores = torch.tensor([10.0, 9.9, 9.8, 9.7, 5.0, 4.9, 1.0, 8.0, 3.0, 2.0])
    return positions, scores


def test_zero_diversity_weight_is_score_order():
    positions, scores = line_points()
    chosen = select_diverse(scores, positions, "euclidean", 4, diversity_weight=0.0)
    assert chosen == [0, 1, 2, 3]


def test_full_diversity_weight_is_max_min_picking_among_the_shortlist():
    positions, scores = line_points()
    chosen = select_diverse(scores, positions, "euclidean", 3, diversity_weight=1.0, shortlist_factor=10)
    # Best first (position 0), then the farthest (10.0), then the farthest from both (5.0).
    assert chosen == [0, 6, 4]


def test_shortlist_keeps_low_scorers_out():
    positions, scores = line_points()
    chosen = select_diverse(scores, positions, "euclidean", 2, diversity_weight=1.0, shortlist_factor=2)
    # The shortlist is the top 4 (positions 0 to 0.3): the farthest of them from 0 is 0.3.
    assert chosen == [0, 3]


def test_blend_trades_score_for_spread_and_is_deterministic():
    positions, scores = line_points()
    first = select_diverse(scores, positions, "euclidean", 5, diversity_weight=0.5, shortlist_factor=2)
    assert first == select_diverse(
        scores, positions, "euclidean", 5, diversity_weight=0.5, shortlist_factor=2
    )
    assert len(set(first)) == 5 and first[0] == 0
    assert 7 in first  # position 2.0 (score 8) beats the crowded 0.1-0.3 once spread counts


def test_small_pool_and_non_finite_scores():
    positions = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    scores = torch.tensor([1.0, float("nan"), 2.0, float("inf")])
    # NaN and +inf (a surrogate that overflowed) rank last, not first.
    assert select_diverse(scores, positions, "euclidean", 5, diversity_weight=0.0) == [2, 0, 1, 3]
    assert select_diverse(torch.zeros(0), torch.zeros(0, 1), "euclidean", 3) == []


def test_a_quota_caps_its_group_and_the_others_fill_the_library():
    positions, scores = line_points()
    crowd = torch.tensor([True, True, True] + [False] * 7)  # positions 0, 0.1, 0.2
    chosen = select_diverse(scores, positions, "euclidean", 4, 0.0, quotas=[Quota(crowd, 1)])
    assert chosen == [0, 3, 7, 4]  # one of the crowd, then the best of the rest in score order
    assert select_diverse(scores, positions, "euclidean", 4, 0.0, quotas=[Quota(crowd, 0)]) == [3, 7, 4, 5]


def test_a_full_quota_ends_the_selection_early():
    positions, scores = line_points()
    everyone = torch.ones(10, dtype=torch.bool)
    assert select_diverse(scores, positions, "euclidean", 5, 0.0, quotas=[Quota(everyone, 2)]) == [0, 1]
    assert select_diverse(scores, positions, "euclidean", 5, 0.0, quotas=[Quota(everyone, 0)]) == []


def test_the_shortlist_holds_a_capped_group_in_proportion():
    positions, scores = line_points()
    crowd = torch.tensor([True, True, True, True] + [False] * 6)  # the top four, positions 0 to 0.3
    # Without the quota the shortlist of 4 is the crowd (test above: [0, 3]); with a cap of 1, it holds
    # ceil(2 * 1) = 2 of the crowd (0 and 0.1) and the next best others (2.0 and 5.0), farthest 5.0.
    chosen = select_diverse(
        scores, positions, "euclidean", 2, 1.0, shortlist_factor=2, quotas=[Quota(crowd, 1)]
    )
    assert chosen == [0, 4]
