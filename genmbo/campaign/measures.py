"""What a design run measures: its decoded search pool (validity, uniqueness and novelty, MOSES'
definitions) and its library (novelty, diversity, and each design's nearest offline design).

These run in one process (the others of a distributed run have returned), so no metric waits for the
others to synchronize: `sync_on_compute=False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torchmetrics import Metric

from genmbo.data.offline import OfflineDataset
from genmbo.metrics.design_distance import distance_kind, nearest, offline_design_features
from genmbo.metrics.library import MeanPairwiseDistance, VectorNovelty
from genmbo.metrics.realism import offline_realism
from genmbo.metrics.samples import InternalDiversity, Novelty, Uniqueness, Validity
from genmbo.runtime.progress import progress_enabled
from genmbo.spaces import ContinuousSpace, MoleculeSpace

if TYPE_CHECKING:
    from genmbo.campaign.pipeline import Library


def pool_metrics(dataset: OfflineDataset, designs: list[Any]) -> dict[str, float]:
    """Size, validity, uniqueness and novelty of a decoded pool (MOSES' definitions)."""
    validity, uniqueness = (
        Validity(dataset.space, sync_on_compute=False),
        Uniqueness(dataset.space, sync_on_compute=False),
    )
    validity.update(designs)
    valid = [design for design in designs if design is not None]
    uniqueness.update(valid)
    distinct = list({dataset.space.key(design): design for design in valid}.values())
    return {
        "size": len(designs),
        "validity": float(validity.compute()),
        "uniqueness": float(uniqueness.compute()),
        "novelty": _novelty(dataset, distinct),
    }


def _novelty(dataset: OfflineDataset, designs: list[Any]) -> float:
    """Share of the (distinct, valid) `designs` not in the offline data: by identity for token designs
    (MOSES' novelty), by a tolerance for vectors (`VectorNovelty`)."""
    if not designs:
        return float("nan")
    if isinstance(dataset.space, ContinuousSpace):
        metric: Metric = VectorNovelty(dataset.space.encode(dataset.designs), sync_on_compute=False)
        metric.update(dataset.space.encode(designs))
    else:
        metric = Novelty(dataset.designs, dataset.space, sync_on_compute=False)
        metric.update(designs)
    return float(metric.compute())


@dataclass
class LibraryMeasures:
    """The library's metrics, and for each design its nearest offline design's row and similarity (or
    distance)."""

    metrics: dict[str, float]
    nearest_values: torch.Tensor
    nearest_rows: torch.Tensor


def measure_offline(dataset: OfflineDataset) -> None:
    """Compute what the metrics stage reads about the offline designs alone, filing it in the cache:
    their features for the nearest-design search (`offline_design_features`; the fingerprints of a large
    molecule set) and, for molecules, the realism figures of the offline sample and top decile
    (`offline_realism`). A campaign runs it beside training (`genmbo.runtime.background`), so that its
    metrics stage finds them as a second run would."""
    offline_design_features(dataset.space, dataset.designs)
    if isinstance(dataset.space, MoleculeSpace):
        offline_realism(dataset.designs, dataset.scores)


def measure_library(dataset: OfflineDataset, library: Library) -> LibraryMeasures:
    """The metrics stage: novelty and diversity of the library, and its nearest offline designs."""
    kind = distance_kind(dataset.space)
    offline_features = offline_design_features(dataset.space, dataset.designs)
    nearest_values, nearest_rows = nearest(kind, library.features, offline_features, progress_enabled())
    metrics = {"novelty": _novelty(dataset, library.designs)}
    if kind == "tanimoto":
        for power in (1, 2):
            diversity = InternalDiversity(p=power, sync_on_compute=False)
            diversity.update(library.designs)
            metrics[f"intdiv{power}"] = float(diversity.compute())
        metrics["diversity"] = metrics["intdiv1"]
    else:
        pairwise = MeanPairwiseDistance(kind, sync_on_compute=False)  # type: ignore[arg-type]
        pairwise.update(library.features)
        metrics["diversity"] = float(pairwise.compute())
    name = "nearest_offline_" + ("similarity" if kind == "tanimoto" else "distance")
    metrics[name] = float(nearest_values.mean()) if library.designs else float("nan")
    return LibraryMeasures(metrics, nearest_values, nearest_rows)
