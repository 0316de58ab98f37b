"""Non-dominated sorting and the Pareto ranking on hand-made fronts."""

import math

import torch

from genmbo.selection.pareto_ranking import front_ranks, pareto_ranking


def test_front_ranks_on_a_hand_made_set():
    values = torch.tensor(
        [
            [3.0, 1.0],  # front 0
            [1.0, 3.0],  # front 0
            [2.0, 2.0],  # front 0
            [1.0, 1.0],  # dominated by all of front 0, by nothing else: front 1
            [2.0, 0.5],  # dominated by (3, 1) and (2, 2): front 1
            [0.5, 0.5],  # dominated by (1, 1): front 2
            [2.0, 2.0],  # equal to a front-0 design: dominated by none, front 0
            [math.nan, 9.0],  # not finite: last
        ]
    )
    assert front_ranks(values).tolist() == [0, 0, 0, 1, 1, 2, 0, 3]


def test_ranking_keeps_fronts_and_breaks_ties_by_the_acquisition():
    values = torch.tensor([[1.0, 1.0], [3.0, 1.0], [1.0, 3.0], [0.0, 0.0]])
    tie_break = torch.tensor([10.0, 0.0, 1.0, 100.0])  # the dominated design has the best tie-break
    ranking = pareto_ranking(values, tie_break)
    order = torch.argsort(ranking, descending=True).tolist()
    assert order == [2, 1, 0, 3]  # front 0 (by tie-break), then front 1, then front 2
    assert ranking.max() - ranking.min() < 3  # three fronts, tie-breaks within 0.99 each


def test_infeasible_designs_rank_after_every_feasible_one():
    # An infeasible design's objectives are -inf (genmbo.data.objectives): it joins no front and ranks
    # after the worst feasible one, whatever it would have dominated.
    values = torch.tensor([[9.0, 9.0], [1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])
    infeasible = torch.tensor([True, False, False, False])
    masked = torch.where(infeasible.unsqueeze(1), torch.full_like(values, -math.inf), values)
    assert front_ranks(masked).tolist() == [2, 0, 0, 1]
    order = torch.argsort(pareto_ranking(masked, torch.tensor([5.0, 0.0, 1.0, 2.0])), descending=True)
    assert order.tolist() == [2, 1, 3, 0]
