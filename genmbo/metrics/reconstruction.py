"""Reconstruction metrics of a sequence autoencoder: token accuracy, exact match, and the KL term.

Predictions and targets are token-id tensors in the layout of `genmbo.spaces.vocabulary`; positions where
the target is padding do not count, so EOS does (a reconstruction that stops early or late is wrong).
Predictions may be wider than targets (greedy decoding fills the full `max_length + 2` width while a
training batch is trimmed to its longest row); the extra columns are padding in the target, so ignored.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

from genmbo.spaces.vocabulary import PAD_ID


def _matches(predictions: torch.Tensor, targets: torch.Tensor, ignore_index: int) -> tuple[torch.Tensor, ...]:
    """`correct` and `counted` masks, both `batch x width` of the targets."""
    if predictions.shape[0] != targets.shape[0]:
        raise ValueError(f"{predictions.shape[0]} predictions for {targets.shape[0]} targets")
    width = targets.shape[1]
    if predictions.shape[1] < width:
        # A narrower prediction has no token where the target has one: pad with a value no id takes.
        predictions = torch.nn.functional.pad(predictions, (0, width - predictions.shape[1]), value=-1)
    counted = targets != ignore_index
    return (predictions[:, :width] == targets) & counted, counted


class TokenAccuracy(Metric):
    """Fraction of non-padding target tokens predicted; `update(predictions, targets)`, both `n x width`."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, ignore_index: int = PAD_ID, **kwargs):
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.add_state("correct", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, predictions: torch.Tensor, targets: torch.Tensor) -> None:
        correct, counted = _matches(predictions, targets, self.ignore_index)
        self.correct += correct.sum()
        self.total += counted.sum()

    def compute(self) -> torch.Tensor:
        return self.correct.float() / self.total.clamp(min=1)


class ExactMatch(Metric):
    """Fraction of rows whose every non-padding target token is predicted. `update(predictions, targets)`."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, ignore_index: int = PAD_ID, **kwargs):
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.add_state("matched", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, predictions: torch.Tensor, targets: torch.Tensor) -> None:
        correct, counted = _matches(predictions, targets, self.ignore_index)
        self.matched += (correct == counted).all(dim=1).sum()
        self.total += targets.shape[0]

    def compute(self) -> torch.Tensor:
        return self.matched.float() / max(int(self.total), 1)


class MeanKL(Metric):
    """Mean over sequences of `KL(q(z|x) || N(0, I))` in nats; `update(kl)` with `kl` of shape `n`."""

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("kl_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, kl: torch.Tensor) -> None:
        self.kl_sum += kl.detach().double().sum()
        self.total += kl.numel()

    def compute(self) -> torch.Tensor:
        return (self.kl_sum / max(int(self.total), 1)).float()
