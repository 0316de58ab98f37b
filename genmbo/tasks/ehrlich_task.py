"""Ehrlich sequence-design tasks (Stanton et al. 2024, arXiv 2407.00236) as offline benchmarks.

The full dataset is `num_points` sequences sampled from the function's feasible discrete Markov process
(as the paper's offline setting: every data point is feasible), scored exactly; the optimum is 1.0.
Infeasible candidates score -inf, the paper's value. States are written as letters (A-Z, then a-z, then
0-9), so a design is a string such as ``"KDAAC..."``.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import torch

from genmbo.spaces.sequences import SequenceSpace
from genmbo.tasks.base import Task
from genmbo.tasks.ehrlich import EhrlichFunction

STATE_LETTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits


class EhrlichTask(Task):
    visible_percentile = 50.0
    optimal_value = 1.0

    def __init__(
        self,
        num_states: int = 20,
        dim: int = 32,
        num_motifs: int = 2,
        motif_length: int = 4,
        quantization: int | None = None,
        seed: int = 0,
        num_points: int = 10_000,
    ):
        if num_states > len(STATE_LETTERS):
            raise ValueError(
                f"at most {len(STATE_LETTERS)} states can be written as letters, got {num_states}"
            )
        quantization = motif_length if quantization is None else quantization
        self.function = EhrlichFunction(num_states, dim, num_motifs, motif_length, quantization, seed)
        self.num_points, self.seed = num_points, seed
        self.name = f"ehrlich-s{num_states}-d{dim}-m{num_motifs}-l{motif_length}-q{quantization}"
        if seed:
            self.name += f"-seed{seed}"
        self.description = (
            f"Ehrlich function: {num_states} states, length {dim}, {num_motifs} motifs of length "
            f"{motif_length}, quantization {quantization} (Stanton et al. 2024)"
        )

    @cached_property
    def space(self) -> SequenceSpace:
        return SequenceSpace(STATE_LETTERS[: self.function.num_states], length=self.function.dim)

    def _build_full_data(self) -> tuple[list[str], np.ndarray]:
        # A generator separate from the function's own, so data and function draws never interleave.
        generator = torch.Generator().manual_seed(10_000 + self.seed)
        states = self.function.sample(self.num_points, generator)
        return self.space.from_indices(states), self.function(states).double().numpy()

    def _evaluate_true(self, designs: Sequence[str]) -> np.ndarray:
        return self.function(self.space.to_indices(designs)).double().numpy()
