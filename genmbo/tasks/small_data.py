"""A task's small-data variant, ``<task>@n<N>``: the campaign measured only `N` of the visible designs.

The `N` labeled rows are drawn uniformly, without replacement, from the base task's visible rows by the
run's seed; the rest of the visible designs come without their scores (`OfflineDataset.unlabeled`), as a
chemist's catalogue or a protein family would: they train the prior, never a surrogate. The oracle, the
normalization and the hidden rows are the base task's, so a small-data row is comparable with the full
task's. D(best) of a small-data run is the best of its `N` labeled rows (the ``best_offline`` method).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from genmbo.data.offline import CleaningReport, OfflineDataset
from genmbo.spaces.base import DesignSpace
from genmbo.tasks.base import Task


class SmallDataTask(Task):
    """`base` with `labeled` of its visible rows measured (drawn by the seed of `offline_dataset`)."""

    def __init__(self, base: Task, labeled: int) -> None:
        if labeled < 2:
            raise ValueError(f"a small-data variant needs at least 2 labeled rows, got {labeled}")
        self.base = base
        self.labeled = labeled
        self.name = f"{base.name}@n{labeled}"
        self.description = f"{base.description}; {labeled} labeled rows drawn by the seed, the rest unlabeled"
        self.visible_percentile = base.visible_percentile
        self.optimal_value = base.optimal_value

    @property
    def space(self) -> DesignSpace:
        return self.base.space

    def _build_full_data(self) -> tuple[list[Any], np.ndarray]:
        full = self.base.full_dataset
        return full.designs, full.scores

    def _evaluate_true(self, designs: Sequence[Any]) -> np.ndarray:
        return self.base._evaluate_true(designs)

    @cached_property
    def full_dataset(self) -> OfflineDataset:
        return self.base.full_dataset

    @cached_property
    def visible(self) -> np.ndarray:
        return self.base.visible

    def offline_dataset(self, seed: int = 0) -> OfflineDataset:
        visible = self.base.offline_dataset()
        if self.labeled > len(visible):
            raise ValueError(f"{self.name}: the base task has only {len(visible)} visible rows")
        order = np.random.default_rng(seed).permutation(len(visible))
        chosen, rest = np.sort(order[: self.labeled]), np.sort(order[self.labeled :])
        # Several objectives: the labeled rows' own table, scaled by their range alone.
        objectives = visible.objectives.rescaled_rows(chosen) if visible.objectives is not None else None
        return OfflineDataset(
            visible.space,
            [visible.designs[row] for row in chosen],
            objectives.scalarized() if objectives is not None else visible.scores[chosen],
            report=CleaningReport(
                rows_read=self.labeled,
                rows_kept=self.labeled,
                unlabeled=CleaningReport(rows_read=len(rest), rows_kept=len(rest)),
            ),
            unlabeled=[visible.designs[row] for row in rest],
            objectives=objectives,
        )
