"""What search methods share: the pessimistic objective, data scales, start points, ascent, selection.

The pessimistic objective is a lower confidence bound ``mean - kappa * std`` on the surrogate's predicted
score (the GP-LCB/UCB form of Srinivas et al., ICML 2010, with the sign flipped for pessimism, as offline
MBO methods penalise uncertainty away from the data). It is divided by the offline scores' standard
deviation, so step sizes and guidance scales are dimensionless, as in Design-Bench's baselines, which
normalize scores before fitting their surrogates (Trabucco et al., ICML 2022; design-baselines'
``normalize_ys``). Latent step sizes are in units of each dimension's offline standard deviation (their
``normalize_xs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from genmbo.models.surrogates.protocol import Surrogate
from genmbo.search.base import SearchProblem

# Start points repeated to fill a budget larger than the offline data move by this fraction of the latent
# standard deviation: enough to make them distinct, small next to any search step.
START_JITTER = 0.01


@dataclass
class PessimisticObjective:
    """``(mean - kappa * std) / score_scale`` of a surrogate: `n x d` latents -> `n` values.

    Differentiable with respect to the latents (the surrogate protocol's promise).
    """

    surrogate: Surrogate
    kappa: float = 0.0
    score_scale: float = 1.0

    @classmethod
    def for_problem(cls, problem: SearchProblem, kappa: float) -> PessimisticObjective:
        """The objective of `problem`'s surrogate, scaled by the standard deviation of its offline scores."""
        scores = problem.scores.float()
        scale = float(scores.std()) if scores.numel() > 1 else 1.0
        return cls(problem.surrogate, kappa, scale if scale > 1e-8 else 1.0)

    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std = self.surrogate.predict(latents)
        return (mean - self.kappa * std) / self.score_scale


@dataclass
class WithRealism:
    """``objective(z) + weight * log p(realistic | z)`` of a realism critic (`genmbo.models.realism_critic`):
    `n x d` latents -> `n` values, differentiable. The log-probability is in nats and the pessimistic
    objective in offline score standard deviations, so ``weight = 1`` trades one standard deviation of
    predicted score for a factor e in the odds of a realistic decode."""

    objective: Callable[[torch.Tensor], torch.Tensor]
    critic: torch.nn.Module
    weight: float

    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        logits = self.critic(latents).reshape(latents.shape[0])  # `n`, also from a `n x 1` critic
        return self.objective(latents) + self.weight * F.logsigmoid(logits)


def check_kappa(kappa: float) -> None:
    if kappa < 0:
        raise ValueError(f"kappa must be >= 0 (a pessimistic objective), got {kappa}")


def latent_scale(latents: torch.Tensor) -> torch.Tensor:
    """Per-dimension standard deviation (a `d` tensor) of `n x d` latents; 1 where it is 0 or undefined."""
    if latents.shape[0] < 2:
        return torch.ones_like(latents[0])
    std = latents.std(0)
    return torch.where(std > 1e-8, std, torch.ones_like(std))


def start_points(problem: SearchProblem, count: int, generator: torch.Generator) -> torch.Tensor:
    """The `count x d` best offline latents, best first; with fewer offline rows, the best are repeated
    (cyclically) with `START_JITTER` Gaussian noise on the repeats only."""
    top = problem.top_latents(count).float()
    if top.shape[0] >= count:
        return top.clone()
    repeats = count - top.shape[0]
    order = torch.arange(repeats) % top.shape[0]
    noise = torch.randn(repeats, top.shape[1], generator=generator, device=generator.device).to(top)
    jittered = top[order] + START_JITTER * latent_scale(problem.latents.float()) * noise
    return torch.cat([top, jittered])


def ascent_path(
    start: torch.Tensor,
    objective: Callable[[torch.Tensor], torch.Tensor],
    scale: torch.Tensor,
    steps: int,
    learning_rate: float,
    optimizer: Literal["sgd", "adam"] = "sgd",
    snapshots: int = 1,
) -> torch.Tensor:
    """Maximize `objective` from `start` for `steps` optimizer steps in normalized coordinates, keeping
    `snapshots` evenly spaced iterates.

    The variables are ``u = (z - start) / scale``, so an SGD step is ``z += lr * scale**2 * grad_z`` (plain
    gradient ascent on normalized inputs) and an Adam step moves each coordinate by about ``lr * scale``.

    Args:
        start: a `n x d` tensor of start latents.
        objective: `n x d` latents -> `n` values, differentiable.
        scale: a `d` tensor of per-dimension latent scales.
        snapshots: iterates kept, ``k = min(snapshots, steps)``: those after steps ``steps * i / k``
            (rounded up) for ``i = 1..k``, so the last is the final one.
    Returns:
        A detached `k x n x d` tensor of iterates, oldest first (with ``steps = 0``, the start alone).
    """
    if snapshots < 1:
        raise ValueError(f"snapshots must be >= 1, got {snapshots}")
    start, scale = start.detach(), scale.detach()
    count = max(1, min(snapshots, steps))
    kept_after = {-(-steps * index // count) for index in range(1, count + 1)}
    offset = torch.zeros_like(start, requires_grad=True)
    optimizer_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer]
    # maximize=True: the optimizers ascend the objective instead of descending a negated copy.
    solver = optimizer_class([offset], lr=learning_rate, maximize=True)
    path = [] if steps else [start.clone()]
    with torch.enable_grad():
        for step in range(1, steps + 1):
            solver.zero_grad()
            # Rows are independent, so the gradient of the sum is each row's own gradient.
            objective(start + offset * scale).sum().backward()
            solver.step()
            if step in kept_after:
                path.append((start + offset * scale).detach())
    return torch.stack(path)


def top_distinct(candidates: torch.Tensor, values: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the `count` candidates with the highest values among distinct rows, best first.

    Exact duplicates (elites copied between generations, latents clipped to the same bound) count once;
    NaN values rank last. With fewer than `count` distinct rows, the distinct ones repeat cyclically.

    Args:
        candidates: a `n x d` tensor.
        values: a `n` tensor, higher is better.
    Returns:
        A `count` tensor of row indices into `candidates`.
    """
    order = torch.argsort(values.nan_to_num(nan=-torch.inf), descending=True, stable=True)
    _, group = torch.unique(candidates[order], dim=0, return_inverse=True)
    positions = torch.arange(order.shape[0], device=order.device)
    first = torch.full((int(group.max()) + 1,), order.shape[0], device=order.device)
    first = first.scatter_reduce(0, group, positions, reduce="amin").sort().values
    return order[first[torch.arange(count, device=order.device) % first.shape[0]]]
