"""Training losses of the ensemble surrogate, as plain functions on standardized predictions and scores.

Every function takes a leading member dimension ``K`` and averages over it, so one call trains all members
of a batched ensemble (each member's gradient is its own loss divided by ``K``).

- `mse_loss`: squared error (Lakshminarayanan et al., NeurIPS 2017, use the Gaussian likelihood; with no
  variance head it reduces to this).
- `listnet_loss`: ListNet's cross-entropy between top-one probabilities (Cao et al., ICML 2007), the
  ranking loss RaM applies to offline MBO (Tan et al., ICLR 2025, arXiv 2410.11502, Sec. 3).
- `gradient_ascent` and `coms_penalty`: the adversarial points and the conservative term of COMs
  (Trabucco et al., ICML 2021, arXiv 2107.06882, eq. 3 and Algorithm 1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def mse_loss(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error over `K x n` predictions and targets."""
    return F.mse_loss(predictions, targets)


def listnet_loss(predictions: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """ListNet top-one cross-entropy over lists along the last dimension, averaged over all other ones.

    ``-sum_j softmax(y / T)_j log softmax(f)_j`` for each list of `m` items: the cross-entropy between the
    top-one probabilities ``P_s(j) = exp(s_j) / sum_k exp(s_k)`` of the scores and of the predictions.
    `predictions` and `targets` are `... x m` tensors; the temperature ``T`` divides the targets only,
    since a temperature on the predictions would be absorbed by the network's free output scale. RaM uses
    ``T = 1`` on z-scored scores.
    """
    target_probabilities = torch.softmax(targets / temperature, dim=-1)
    return -(target_probabilities * torch.log_softmax(predictions, dim=-1)).sum(-1).mean()


def gradient_ascent(
    function: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, step_size: float, steps: int
) -> torch.Tensor:
    """``x_{t+1} = x_t + step_size * grad_x sum f(x_t)`` from `start`, `steps` times; returns detached points.

    `function` maps `start`'s shape `... x d` to one value per point (`...`). Summing before the gradient
    gives each point its own gradient, and a member of a batched ensemble evaluated on its own block of
    points ascends its own function. Only input gradients are taken: parameters receive none.
    """
    points = start.detach()
    for _ in range(steps):
        points.requires_grad_(True)
        (gradient,) = torch.autograd.grad(function(points).sum(), points)
        points = (points + step_size * gradient).detach()
    return points


def coms_penalty(adversarial_predictions: torch.Tensor, data_predictions: torch.Tensor) -> torch.Tensor:
    """COMs' conservative term ``E_{x ~ mu} f(x) - E_{x ~ D} f(x)`` per member, averaged over members.

    Both arguments are `K x n` tensors: each member's predictions at its adversarial points and at the
    data points they started from.
    """
    return (adversarial_predictions.mean(-1) - data_predictions.mean(-1)).mean()
