"""Pareto metrics on hand-computed fronts: hypervolume, the reference point, dominance by offline data."""

import pytest
import torch

from genmbo.metrics.pareto import (
    ParetoMetrics,
    hypervolume,
    pareto_front,
    reference_point,
    undominated_share,
)

STAIRCASE = torch.tensor([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])


def test_the_hypervolume_of_a_staircase_is_the_sum_of_its_steps():
    # above (0, 0): columns 0-1 up to 3, 1-2 up to 2, 2-3 up to 1
    assert hypervolume(STAIRCASE, torch.zeros(2)) == pytest.approx(6.0)
    # a dominated point, a repeat and a point below the reference add nothing
    more = torch.cat([STAIRCASE, torch.tensor([[1.0, 1.0], [2.0, 2.0], [-1.0, 5.0]])])
    assert hypervolume(more, torch.zeros(2)) == pytest.approx(6.0)
    assert hypervolume(torch.tensor([[-1.0, -1.0]]), torch.zeros(2)) == 0.0


def test_three_objectives_match_the_union_of_boxes():
    points = torch.tensor([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0]])
    # two 2 x 1 x 1 boxes sharing a 1 x 1 x 1 cube
    assert hypervolume(points, torch.zeros(3)) == pytest.approx(3.0)


def test_the_reference_point_is_the_offline_nadir_pushed_out_by_a_tenth_of_the_range():
    offline = torch.cat([STAIRCASE, torch.tensor([[0.5, 0.5]])])  # the dominated row does not move it
    assert reference_point(offline).tolist() == pytest.approx([0.8, 0.8])
    assert len(pareto_front(offline)) == 3


def test_the_undominated_share_counts_library_rows_no_offline_row_dominates():
    library = torch.tensor([[4.0, 0.0], [2.0, 2.0], [1.5, 1.5], [0.0, 4.0]])
    # (2, 2) equals an offline design: not dominated; (1.5, 1.5) is dominated by (2, 2)
    assert undominated_share(library, STAIRCASE) == pytest.approx(0.75)


def test_the_metric_reports_library_and_offline_hypervolumes_from_one_reference():
    metric = ParetoMetrics(STAIRCASE, ["a", "b"])
    metric.update(torch.tensor([[3.0, 3.0]]))
    metric.update(torch.tensor([[1.0, 1.0]]))
    result = metric.compute()
    # reference (0.8, 0.8): the offline staircase as three boxes, left to right
    offline = (1.0 - 0.8) * (3.0 - 0.8) + (2.0 - 1.0) * (2.0 - 0.8) + (3.0 - 2.0) * (1.0 - 0.8)
    assert result["offline_hypervolume"] == pytest.approx(offline)
    assert result["hypervolume"] == pytest.approx((3.0 - 0.8) ** 2)
    assert result["hypervolume_ratio"] == pytest.approx((3.0 - 0.8) ** 2 / offline)
    assert result["undominated_share"] == pytest.approx(0.5)
    assert result["objectives"]["a"] == {"100th": 3.0, "50th": 2.0}
    assert result["reference_point"] == pytest.approx([0.8, 0.8])


def test_bad_shapes_are_one_clear_error():
    with pytest.raises(ValueError, match="2 objective names for 3"):
        ParetoMetrics(torch.zeros(4, 3), ["a", "b"])
    metric = ParetoMetrics(STAIRCASE, ["a", "b"])
    with pytest.raises(ValueError, match="expected 2"):
        metric.update(torch.zeros(2, 3))
