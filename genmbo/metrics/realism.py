"""Realism of generated designs, measured the way each field measures it, beside the data's own value.

One entry point per question:
- `realism_metrics(space, designs, reference, support)`: the distribution metrics of the design kind
  (molecules: `molecule_realism`; sequences: `sequence_realism`; vectors: `vector_realism`) of `designs`
  against `reference` designs; `support` is what counts as seen for the sequence transition check.
- `realism_with_floor(...)`: the same metrics for real designs of the same size (the floor). A metric
  like FCD is biased at small sample sizes and none of them is zero for two samples of one distribution,
  so a value means something only beside its floor.
- `library_realism(...)`: a candidate library's reference-free realism (molecules: SA, ring and alert
  shares) beside the offline data's and its top decile's, and FCD to the offline data where the library
  is large enough to estimate ChemNet's covariance. The offline sets' figures depend on the offline
  molecules alone, so they are cached by content (`genmbo.runtime.cache`) and a second campaign on the
  same data reads them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import rdkit
import torch

from genmbo.metrics.molecule_realism import (
    PROPERTY_NAMES,
    FrechetChemNetDistance,
    molecule_property_metrics,
    molecule_realism,
)
from genmbo.metrics.samples import measure
from genmbo.metrics.sequence_realism import sequence_realism
from genmbo.metrics.vector_realism import vector_realism
from genmbo.runtime.cache import cached_array, content_key, design_texts
from genmbo.spaces import ContinuousSpace, MoleculeSpace
from genmbo.spaces.base import DesignSpace

# Below this many molecules a 512 x 512 ChemNet covariance is too poorly estimated for FCD to mean
# anything (its bias alone exceeds the distances between real molecular sets).
MIN_FCD_MOLECULES = 1000
# Offline molecules measured for a library's comparison (a random subset; the top decile's best first).
OFFLINE_SAMPLE = 2000
# Part of the cached property figures' key: raise it when `molecule_property_metrics` changes what it
# measures (the SA threshold, the ring size, the catalogs), so no entry of the old definition is read.
PROPERTIES_VERSION = 1


def realism_metrics(
    space: DesignSpace, designs: Sequence[Any], reference: Sequence[Any], support: Sequence[Any]
) -> dict[str, float]:
    """Distribution metrics of the valid `designs` against `reference` (see the module docstring)."""
    valid = [design for design in designs if design is not None]
    if isinstance(space, MoleculeSpace):
        return molecule_realism(valid, list(reference))
    if isinstance(space, ContinuousSpace):
        return vector_realism(valid, list(reference), space)
    return sequence_realism(valid, list(reference), list(support), space)


def realism_with_floor(
    space: DesignSpace,
    designs: Sequence[Any],
    floor_designs: Sequence[Any],
    reference: Sequence[Any],
    support: Sequence[Any],
) -> dict[str, dict[str, float]]:
    """``{"samples": metrics of designs, "floor": metrics of floor_designs}``, both against `reference`;
    `floor_designs` are real designs disjoint from `reference`, as many as `designs` where possible."""
    return {
        "samples": realism_metrics(space, designs, reference, support),
        "floor": realism_metrics(space, floor_designs, reference, support),
    }


def split_reference(
    designs: Sequence[Any], size: int, generator: torch.Generator
) -> tuple[list[Any], list[Any]]:
    """Two disjoint random subsets of `designs`, `(floor, reference)`, each of `size` designs or, when
    there are fewer than `2 * size`, half of them each."""
    size = min(size, len(designs) // 2)
    order = torch.randperm(len(designs), generator=generator).tolist()
    return [designs[index] for index in order[:size]], [designs[index] for index in order[size : 2 * size]]


def top_decile(designs: Sequence[Any], scores: np.ndarray) -> list[Any]:
    """The best tenth of `designs` by `scores`, higher is better (at least one design)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return [designs[index] for index in order[: max(1, len(designs) // 10)].tolist()]


def top_decile_properties(offline: Sequence[Any], offline_scores: np.ndarray) -> dict[str, float]:
    """`molecule_property_metrics` of the best tenth of the offline molecules (at most `OFFLINE_SAMPLE`):
    the reference a chemist holds a library to."""
    return cached_property_metrics(top_decile(offline, offline_scores)[:OFFLINE_SAMPLE])


def cached_property_metrics(smiles: Sequence[str]) -> dict[str, float]:
    """`molecule_property_metrics` of `smiles`, read from the cache when these molecules were measured
    before (keyed by the molecules, the metrics' names and RDKit's version)."""
    key = content_key(
        "molecule_properties", PROPERTIES_VERSION, PROPERTY_NAMES, rdkit.__version__, design_texts(smiles)
    )

    def compute() -> np.ndarray:
        figures = molecule_property_metrics(smiles, offline=True)
        return np.array([figures[name] for name in PROPERTY_NAMES], dtype=np.float64)

    values = cached_array(
        "molecule_properties", key, compute, valid=lambda array: array.shape == (len(PROPERTY_NAMES),)
    )
    return dict(zip(PROPERTY_NAMES, values.tolist(), strict=True))


def offline_sample(offline: Sequence[Any]) -> list[Any]:
    """The random subset of at most `OFFLINE_SAMPLE` offline molecules a library is compared with (a
    permutation of seed 0, so every run on the same data compares with the same molecules)."""
    order = torch.randperm(len(offline), generator=torch.Generator().manual_seed(0))
    return [offline[index] for index in order[:OFFLINE_SAMPLE].tolist()]


def offline_realism(offline: Sequence[Any], offline_scores: np.ndarray) -> dict[str, dict[str, float]]:
    """`molecule_property_metrics` of the offline sample (`offline_sample`) and of the offline top decile
    (`top_decile_properties`), through the cache: ``{"offline": {...}, "offline_top_decile": {...}}``."""
    return {
        "offline": cached_property_metrics(offline_sample(offline)),
        "offline_top_decile": top_decile_properties(offline, offline_scores),
    }


def library_realism(
    space: DesignSpace,
    library: Sequence[Any],
    offline: Sequence[Any],
    offline_scores: np.ndarray,
) -> dict[str, Any]:
    """A molecular library's realism beside the offline data's and its top decile's (by `offline_scores`,
    higher is better); {} for other spaces.

    Returns ``{"library": {...}, "offline": {...}, "offline_top_decile": {...}, "fcd_to_offline": x}``
    where each inner dict holds `molecule_property_metrics`. The offline figures come from a random
    subset of at most `OFFLINE_SAMPLE` offline molecules (`offline_sample`); a library under
    `MIN_FCD_MOLECULES` gets a ``fcd_note`` saying why instead of ``fcd_to_offline`` (JSON has no NaN).
    """
    if not isinstance(space, MoleculeSpace):
        return {}
    valid = [design for design in library if design is not None]
    result: dict[str, Any] = {
        "library": molecule_property_metrics(valid),
        **offline_realism(offline, offline_scores),
    }
    if len(valid) >= MIN_FCD_MOLECULES:
        distance = FrechetChemNetDistance(offline_sample(offline), sync_on_compute=False)
        result["fcd_to_offline"] = measure({"fcd": distance}, valid)["fcd"]
    else:
        result["fcd_note"] = (
            f"FCD not computed: {len(valid)} molecules, fewer than the {MIN_FCD_MOLECULES} it needs"
        )
    return result
