"""A benchmark task: a full dataset, a hidden oracle, and the Design-Bench protocol around them.

Following Design-Bench (Trabucco et al., ICML 2022): the *full* dataset is built once; a method sees only
`offline_dataset()`, the rows at or below `visible_percentile` of the score; candidates are scored by
`oracle` and reported normalized by the full dataset's min and max (`normalize`). Like BoTorch's test
problems, a task is mostly data: a space, a percentile, how to build the full data, how to score.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from genmbo.data.offline import CleaningReport, OfflineDataset
from genmbo.data.splits import normalize_scores, percentile_cut, visible_mask
from genmbo.errors import InvalidDesign
from genmbo.spaces.base import DesignSpace


class Task(ABC):
    """An offline optimization benchmark. Scores are maximized."""

    name: str
    description: str
    visible_percentile: float = 50.0
    optimal_value: float | None = None

    @property
    @abstractmethod
    def space(self) -> DesignSpace:
        """The space every design of this task lives in."""

    @abstractmethod
    def _build_full_data(self) -> tuple[list[Any], np.ndarray]:
        """Canonical designs of the full dataset and their exact scores."""

    @abstractmethod
    def _evaluate_true(self, designs: Sequence[Any]) -> np.ndarray:
        """Exact scores of canonical, valid designs (float64, one per design)."""

    @cached_property
    def full_dataset(self) -> OfflineDataset:
        designs, scores = self._build_full_data()
        report = CleaningReport(rows_read=len(designs), rows_kept=len(designs))
        return OfflineDataset(self.space, list(designs), np.asarray(scores, dtype=np.float64), report=report)

    @cached_property
    def visible(self) -> np.ndarray:
        """Boolean mask of the full dataset's rows a model may see."""
        return visible_mask(self.full_dataset.scores, self.visible_percentile)

    @property
    def best_visible_score(self) -> float:
        """D(best): the highest score in the visible data."""
        return float(self.full_dataset.scores[self.visible].max())

    @cached_property
    def visibility_cut(self) -> float:
        return percentile_cut(self.full_dataset.scores, self.visible_percentile)

    def offline_dataset(self, seed: int = 0) -> OfflineDataset:
        """The visible data: full-dataset rows scoring at or below the percentile cut (the same for every
        `seed`; a small-data variant draws its labeled rows by it)."""
        full = self.full_dataset
        visible = full.subset(self.visible)
        visible.report = CleaningReport(rows_read=len(visible), rows_kept=len(visible))
        # Encoding statistics (vector standardization) come from the visible rows only.
        visible.space = self.space.fit(visible.designs)
        return visible

    def oracle(self, designs: Sequence[Any]) -> np.ndarray:
        """Exact scores; a design its space rejects (or `None`, an undecodable sample) scores NaN."""
        scores = np.full(len(designs), np.nan)
        valid_indices, valid_designs = self.parsed(designs)
        if valid_designs:
            scores[valid_indices] = self._evaluate_true(valid_designs)
        return scores

    def parsed(self, designs: Sequence[Any]) -> tuple[list[int], list[Any]]:
        """The rows of `designs` the space accepts and their canonical designs (`None`, an undecodable
        sample, and rejected designs left out)."""
        indices, valid = [], []
        for index, design in enumerate(designs):
            if design is None:
                continue
            try:
                valid.append(self.space.parse(design))
            except InvalidDesign:
                continue
            indices.append(index)
        return indices, valid

    def normalize(self, scores: np.ndarray) -> np.ndarray:
        full = self.full_dataset.scores
        return normalize_scores(scores, float(full.min()), float(full.max()))

    def summary(self) -> dict[str, Any]:
        """One row of `genmbo tasks`."""
        full = self.full_dataset
        return {
            "name": self.name,
            "space": self.space.kind,
            "visible": int(self.visible.sum()),
            "full": len(full),
            "percentile": self.visible_percentile,
            "best_visible": self.best_visible_score,
            "best_full": float(full.scores.max()),
            "description": self.description,
        }
