"""Continuous tasks from BoTorch's synthetic test functions (Ackley, Levy, Rosenbrock), any dimension.

The functions are BoTorch's (`botorch.test_functions.synthetic`), negated (`negate=True`) so higher is
better, with their standard boxes; the optimum is 0. The full dataset is `num_points` designs drawn
uniformly inside the box with a fixed seed, scored exactly (no observation noise). This mirrors how
offline MBO papers build synthetic tasks (e.g. the Ackley/Rosenbrock tasks of Krishnamoorthy et al.,
ICML 2023); the uniform sampler and default size are our choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import torch
from botorch.test_functions import Ackley, Levy, Rosenbrock
from botorch.test_functions.synthetic import SyntheticTestFunction

from genmbo.spaces.continuous import ContinuousSpace
from genmbo.tasks.base import Task

SYNTHETIC_FUNCTIONS: dict[str, type[SyntheticTestFunction]] = {
    "ackley": Ackley,
    "levy": Levy,
    "rosenbrock": Rosenbrock,
}


class SyntheticTask(Task):
    """A negated BoTorch test function in `dim` dimensions with uniformly sampled offline data."""

    visible_percentile = 50.0
    optimal_value = 0.0

    def __init__(self, function: str, dim: int, num_points: int = 10_000, seed: int = 0):
        if function not in SYNTHETIC_FUNCTIONS:
            raise ValueError(f"unknown test function {function!r}; known: {sorted(SYNTHETIC_FUNCTIONS)}")
        if dim < 2:
            raise ValueError(f"{function} needs dim >= 2, got {dim}")
        self.function = SYNTHETIC_FUNCTIONS[function](dim=dim, negate=True)
        self.dim, self.num_points, self.seed = dim, num_points, seed
        self.name = f"{function}-{dim}"
        self.description = f"BoTorch {SYNTHETIC_FUNCTIONS[function].__name__}, {dim}-d, negated (optimum 0)"

    @cached_property
    def bounds(self) -> np.ndarray:
        return self.function.bounds.numpy()

    @cached_property
    def space(self) -> ContinuousSpace:
        return ContinuousSpace(self.dim, self.bounds[0], self.bounds[1])

    def _build_full_data(self) -> tuple[list[tuple[float, ...]], np.ndarray]:
        generator = torch.Generator().manual_seed(self.seed)
        unit = torch.rand(self.num_points, self.dim, generator=generator, dtype=torch.float64)
        lower, upper = self.function.bounds
        points = lower + unit * (upper - lower)
        designs = [tuple(row) for row in points.tolist()]
        return designs, self._evaluate_true(designs)

    def _evaluate_true(self, designs: Sequence[Sequence[float]]) -> np.ndarray:
        points = torch.tensor(np.asarray(designs, dtype=np.float64))
        with torch.no_grad():
            return self.function.forward(points, noise=False).numpy().astype(np.float64)
