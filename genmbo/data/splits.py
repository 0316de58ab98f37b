"""The Design-Bench split: only designs scoring at or below a percentile are visible to any model.

Trabucco et al., "Design-Bench: Benchmarks for Data-Driven Offline Model-Based Optimization", ICML 2022,
Sec. 4: the offline dataset is the full dataset sub-sampled to scores at most the `p`th percentile
(`DatasetBuilder.subsample(max_percentile=p)`), so the best designs never reach a model. The comparison is
inclusive, as in Design-Bench: for TFBind8 at p = 50 this keeps 32,898 of 65,792 rows (four rows tie at
the median 0.43930); no visible score is above the cut, and every hidden score is.
"""

from __future__ import annotations

import numpy as np


def percentile_cut(scores: np.ndarray, percentile: float) -> float:
    """The score at the `percentile`th percentile (numpy's linear interpolation, as Design-Bench)."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    return float(np.percentile(np.asarray(scores, dtype=np.float64), percentile))


def visible_mask(scores: np.ndarray, percentile: float) -> np.ndarray:
    """Boolean mask of the rows a model may see: score at or below the percentile cut."""
    return np.asarray(scores, dtype=np.float64) <= percentile_cut(scores, percentile)


def normalize_scores(scores: np.ndarray, full_min: float, full_max: float) -> np.ndarray:
    """Design-Bench normalization: ``(y - min) / (max - min)`` with the *full* dataset's min and max."""
    return (np.asarray(scores, dtype=np.float64) - full_min) / (full_max - full_min)
