"""torchmetrics `Metric`s: reconstruction, validity, uniqueness, novelty, diversity, normalized scores."""
