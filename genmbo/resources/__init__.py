"""Data shipped inside the package (no download at run time): TFBind8, a MOSES subset and its vocabulary."""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np


def resource_path(name: str) -> Path:
    return Path(str(resources.files("genmbo.resources").joinpath(name)))


@cache
def moses_selfies_vocabulary() -> tuple[list[str], int]:
    """SELFIES tokens and maximum token length of the shipped MOSES subset."""
    state = json.loads(resource_path("moses_selfies_vocab.json").read_text())
    return list(state["tokens"]), int(state["max_length"])


@cache
def moses_subset_smiles() -> tuple[str, ...]:
    """The shipped MOSES subset: RDKit-canonical SMILES, each accepted by the default `MoleculeSpace`."""
    with gzip.open(resource_path("moses_subset.csv.gz"), "rt") as handle:
        lines = handle.read().splitlines()
    return tuple(lines[1:])


@cache
def tfbind8_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The complete TFBind8 dataset: `65792 x 8` int tokens (A, C, G, T = 0..3) and `65792` scores."""
    with np.load(resource_path("tfbind8.npz")) as archive:
        return archive["x"], archive["y"]


@cache
def _moses_scores_archive() -> dict[str, np.ndarray]:
    with np.load(resource_path("moses_subset_scores.npz")) as archive:
        return {name: archive[name] for name in archive.files}


def moses_subset_scores(oracle_name: str) -> np.ndarray:
    """Precomputed oracle scores (float32) of the shipped MOSES subset, row for row."""
    archive = _moses_scores_archive()
    if oracle_name not in archive:
        raise KeyError(f"no precomputed MOSES scores for {oracle_name!r}; have {sorted(archive)}")
    return archive[oracle_name]
