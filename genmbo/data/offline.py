"""An offline dataset: canonical designs, their scores (higher is better), and how the file was cleaned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from genmbo.data.objectives import ObjectiveTable
from genmbo.spaces.base import DesignSpace


@dataclass
class CleaningReport:
    """What the loader did to the raw rows; kept with every run's outputs."""

    rows_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    duplicates_merged: int = 0
    rows_kept: int = 0
    unlabeled: CleaningReport | None = None  # the unlabeled designs' own cleaning

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def skip_reasons(self) -> str:
        """The skip counts as one phrase, e.g. "3 invalid SMILES; 1 NaN or infinite score"."""
        return "; ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "rows_skipped": self.rows_skipped,
            "skipped": dict(sorted(self.skipped.items())),
            "duplicates_merged": self.duplicates_merged,
            "rows_kept": self.rows_kept,
        } | ({"unlabeled": self.unlabeled.to_dict()} if self.unlabeled is not None else {})

    def summary(self) -> str:
        parts = [f"{self.rows_read} rows read", f"{self.rows_kept} kept"]
        parts += [f"{count} skipped ({reason})" for reason, count in sorted(self.skipped.items())]
        if self.duplicates_merged:
            parts.append(f"{self.duplicates_merged} duplicates merged (mean score)")
        if self.unlabeled is not None:
            parts.append(f"{self.unlabeled.rows_kept} unlabeled designs of {self.unlabeled.rows_read} read")
        return ", ".join(parts)


@dataclass
class OfflineDataset:
    """Designs and scores, and designs of the same space that were never measured (`unlabeled`: a
    catalogue, homologues, the rest of a task's visible rows); these train the prior, never a surrogate.
    `scores` are always "higher is better": a minimized objective is negated on load, and
    `reported_scores` turns them back into the user's units. A multi-objective campaign's `objectives`
    hold every measured objective (`n x m`); its `scores` are then their weighted Chebyshev
    scalarization (`genmbo.data.objectives`), a desirability that single-objective code can rank by."""

    space: DesignSpace
    designs: list[Any]
    scores: np.ndarray
    minimize: bool = False
    report: CleaningReport = field(default_factory=CleaningReport)
    unlabeled: list[Any] = field(default_factory=list)
    objectives: ObjectiveTable | None = None

    def __post_init__(self) -> None:
        if len(self.designs) != len(self.scores):
            raise ValueError(f"{len(self.designs)} designs but {len(self.scores)} scores")
        if self.objectives is not None and len(self.objectives.values) != len(self.designs):
            raise ValueError(f"{len(self.designs)} designs but {len(self.objectives.values)} objective rows")

    def __len__(self) -> int:
        return len(self.designs)

    def reported_scores(self, scores: np.ndarray | None = None) -> np.ndarray:
        scores = self.scores if scores is None else np.asarray(scores, dtype=np.float64)
        return -scores if self.minimize else scores

    def best(self, k: int = 1) -> tuple[list[Any], np.ndarray]:
        """The `k` highest-scoring designs and their scores, best first."""
        order = np.argsort(-self.scores, kind="stable")[:k]
        return [self.designs[index] for index in order], self.scores[order]

    def encoded(self) -> torch.Tensor:
        return self.space.encode(self.designs)

    def with_unlabeled_rows(self) -> OfflineDataset:
        """Every design, labeled first, as one dataset whose unlabeled rows score NaN (what the prior
        trains on); the dataset itself when it has no unlabeled designs."""
        if not self.unlabeled:
            return self
        scores = np.concatenate([self.scores, np.full(len(self.unlabeled), np.nan)])
        return OfflineDataset(self.space, self.designs + self.unlabeled, scores, self.minimize, self.report)

    def subset(self, mask: np.ndarray) -> OfflineDataset:
        indices = np.flatnonzero(mask)
        designs = [self.designs[i] for i in indices]
        objectives = self.objectives.rows(indices) if self.objectives is not None else None
        return OfflineDataset(
            self.space,
            designs,
            self.scores[indices],
            self.minimize,
            self.report,
            list(self.unlabeled),
            objectives,
        )
