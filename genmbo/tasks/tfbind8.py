"""TFBind8 (Design-Bench TFBind8-Exact-v0): DNA 8-mers scored by binding to transcription factor SIX6.

Data: Barrera et al., "Survey of variation in human transcription factors reveals prevalent DNA binding
changes", Science 2016 (protein-binding microarray of SIX6_REF_R1), as packaged by Design-Bench (Trabucco
et al., ICML 2022): all 65,536 8-mers (65,792 rows, 256 repeated with equal scores), scores in [0, 1].
The dataset is the whole design space, so the oracle is an exact lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from genmbo.resources import tfbind8_arrays
from genmbo.spaces.sequences import DNA, SequenceSpace
from genmbo.tasks.base import Task


class TFBind8(Task):
    name = "tfbind8"
    description = "DNA 8-mers, binding to SIX6 (Barrera et al. 2016); exact lookup oracle"
    visible_percentile = 50.0
    optimal_value = 1.0

    @cached_property
    def space(self) -> SequenceSpace:
        return SequenceSpace(DNA, length=8)

    def _build_full_data(self) -> tuple[list[str], np.ndarray]:
        tokens, scores = tfbind8_arrays()
        return self.space.from_indices(tokens), scores.astype(np.float64)

    @cached_property
    def _lookup(self) -> dict[str, float]:
        designs, scores = self._build_full_data()
        return dict(zip(designs, scores.tolist(), strict=True))

    def _evaluate_true(self, designs: Sequence[str]) -> np.ndarray:
        return np.array([self._lookup[design] for design in designs], dtype=np.float64)
