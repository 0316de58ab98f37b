"""Offline datasets: reading, cleaning, percentile splits."""

from genmbo.data.loading import load_offline_dataset
from genmbo.data.offline import CleaningReport, OfflineDataset
from genmbo.data.splits import normalize_scores, percentile_cut, visible_mask

__all__ = [
    "CleaningReport",
    "OfflineDataset",
    "load_offline_dataset",
    "normalize_scores",
    "percentile_cut",
    "visible_mask",
]
