import pytest
import torch

from genmbo.metrics.reconstruction import ExactMatch, MeanKL, TokenAccuracy

# Row 0 matches on every non-pad target token (5, 6, EOS); row 1 only on its first token (5 of 5, 6, 7, EOS).
TARGETS = torch.tensor([[5, 6, 2, 0], [5, 6, 7, 2]])
PREDICTIONS = torch.tensor([[5, 6, 2, 9], [5, 7, 9, 9]])


def test_token_accuracy_counts_non_pad_target_positions():
    metric = TokenAccuracy()
    metric.update(PREDICTIONS, TARGETS)
    assert metric.compute().item() == pytest.approx(4 / 7)


def test_exact_match_ignores_predictions_under_target_padding():
    metric = ExactMatch()
    metric.update(PREDICTIONS, TARGETS)
    assert metric.compute().item() == pytest.approx(0.5)


def test_wider_predictions_are_cut_and_narrower_ones_are_wrong_where_missing():
    wide = torch.cat([PREDICTIONS, torch.full((2, 3), 4)], dim=1)
    accuracy, exact = TokenAccuracy(), ExactMatch()
    accuracy.update(wide, TARGETS)
    exact.update(wide, TARGETS)
    assert accuracy.compute().item() == pytest.approx(4 / 7)
    assert exact.compute().item() == pytest.approx(0.5)

    narrow = TokenAccuracy()
    narrow.update(TARGETS[:, :2], TARGETS)
    assert narrow.compute().item() == pytest.approx(4 / 7)


def test_metrics_accumulate_over_batches():
    accuracy, exact = TokenAccuracy(), ExactMatch()
    for row in range(2):
        accuracy.update(PREDICTIONS[row : row + 1], TARGETS[row : row + 1])
        exact.update(PREDICTIONS[row : row + 1], TARGETS[row : row + 1])
    assert accuracy.compute().item() == pytest.approx(4 / 7)
    assert exact.compute().item() == pytest.approx(0.5)


def test_mean_kl_is_the_mean_per_sequence():
    metric = MeanKL()
    metric.update(torch.tensor([1.0, 2.0]))
    metric.update(torch.tensor([6.0]))
    assert metric.compute().item() == pytest.approx(3.0)


def test_mismatched_batch_sizes_are_rejected():
    with pytest.raises(ValueError):
        TokenAccuracy().update(PREDICTIONS[:1], TARGETS)
