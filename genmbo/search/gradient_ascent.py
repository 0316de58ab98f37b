"""Gradient ascent on the surrogate from the best offline designs: Design-Bench's "Grad." baseline.

Trabucco et al., "Design-Bench", ICML 2022 (arXiv 2202.08450), section "Baselines": fit a model of the
score, then optimize the designs by gradient ascent on it, starting from the top offline designs, for a
fixed number of steps; the final iterates are the candidates. Defaults are those of the reference code,
`brandontrabucco/design-baselines`, ``design_baselines/gradient_ascent`` (every task's config in
``experiments.py``): ``solver_steps = 200``, ``solver_lr = 0.01`` multiplied by ``sqrt(prod(x.shape[1:]))``
(the input dimension), plain gradient steps ``x <- x + lr * grad`` (SGD) on inputs and scores normalized to
the data's mean and std (``normalize_xs``, ``normalize_ys``), ``solver_samples = 128`` top designs.

Departures: the model is whatever `Surrogate` the campaign supplies (Design-Bench fits one network, its
"mean" aggregation of one model) and the objective may be pessimistic, ``mean - kappa * std`` (default
``kappa = 0``, the reference's plain mean); Adam is offered besides SGD; the number of start points is the
budget (with fewer offline designs, they are repeated with a little noise, see `objectives.start_points`).
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from genmbo.search.base import SearchMethod, SearchProblem
from genmbo.search.objectives import (
    PessimisticObjective,
    ascent_path,
    check_kappa,
    latent_scale,
    start_points,
)

DESIGN_BENCH_STEPS = 200
DESIGN_BENCH_LEARNING_RATE = 0.01


class GradientAscent(SearchMethod):
    """Ascend the (pessimistic) surrogate from the top `budget` offline latents.

    Args:
        steps: optimizer steps (Design-Bench: 200).
        learning_rate: step size in normalized units, before the ``sqrt(d)`` factor (Design-Bench: 0.01).
        scale_by_dimension: multiply the learning rate by ``sqrt(latent_dim)``, as Design-Bench does.
        optimizer: "sgd" (Design-Bench's plain gradient step) or "adam".
        kappa: weight of the surrogate std in ``mean - kappa * std`` (0: the plain mean, as Design-Bench).
    """

    name = "gradient_ascent"

    def __init__(
        self,
        steps: int = DESIGN_BENCH_STEPS,
        learning_rate: float = DESIGN_BENCH_LEARNING_RATE,
        scale_by_dimension: bool = True,
        optimizer: Literal["sgd", "adam"] = "sgd",
        kappa: float = 0.0,
    ):
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        check_kappa(kappa)
        self.steps = steps
        self.learning_rate = learning_rate
        self.scale_by_dimension = scale_by_dimension
        self.optimizer: Literal["sgd", "adam"] = optimizer
        self.kappa = kappa

    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x d` float32 tensor: the start points after `steps` ascent steps.

        Deterministic given the problem; the generator only jitters repeated start points.
        """
        return self.ascend_from(problem, start_points(problem, budget, generator))

    def ascend_from(self, problem: SearchProblem, start: torch.Tensor) -> torch.Tensor:
        """`start` (`n x d` latents) after `steps` ascent steps on `problem`'s objective; the guided
        sampler refines its candidates with this too."""
        return self.ascent_path(problem, start)[-1]

    def ascent_path(self, problem: SearchProblem, start: torch.Tensor, snapshots: int = 1) -> torch.Tensor:
        """`snapshots` evenly spaced iterates of the ascent from `start`, a `k x n x d` tensor ending with
        `ascend_from`'s result (`objectives.ascent_path`)."""
        learning_rate = self.learning_rate
        if self.scale_by_dimension:
            learning_rate *= math.sqrt(start.shape[1])
        objective = PessimisticObjective.for_problem(problem, self.kappa)
        scale = latent_scale(problem.latents.float()).to(start)
        return ascent_path(start, objective, scale, self.steps, learning_rate, self.optimizer, snapshots)
