"""Molecular tasks: the shipped MOSES subset scored by an exact RDKit oracle (QED, penalized logP, GuacaMol).

The full dataset is the shipped subset of the MOSES training set (Polykovskiy et al., Front. Pharmacol.
2020); its oracle scores were computed once by `scripts/score_moses_subset.py` with the same functions that
score candidates (`genmbo.tasks.molecular_oracles`) and are shipped as float32. The visible data is the
rows at or below the 80th percentile, as in the benchmark suite (issue: molecular tasks use 80, not 50,
because the MOSES score distributions are narrow and a 50th-percentile cut leaves little signal).
Candidates are scored by the oracle itself, on any molecule RDKit can parse, not only on the SELFIES
vocabulary of the prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from genmbo.resources import moses_subset_scores, moses_subset_smiles
from genmbo.spaces.molecules import MoleculeSpace, canonical_smiles
from genmbo.tasks.base import Task
from genmbo.tasks.molecular_oracles import MOLECULAR_ORACLES, score_smiles

ORACLE_DESCRIPTIONS = {
    "qed": "QED drug-likeness (Bickerton et al. 2012)",
    "penalized_logp": "penalized logP: logP - SA - ring penalty (JT-VAE, GCPN)",
    "celecoxib_rediscovery": "GuacaMol Celecoxib rediscovery (Brown et al. 2019)",
}


class MolecularTask(Task):
    """Maximize the oracle `oracle_name` over molecules, starting from the MOSES subset."""

    visible_percentile = 80.0

    def __init__(self, oracle_name: str):
        if oracle_name not in MOLECULAR_ORACLES:
            raise ValueError(f"unknown molecular oracle {oracle_name!r}; known: {sorted(MOLECULAR_ORACLES)}")
        self.oracle_name = oracle_name
        self.name = "moses-" + oracle_name.replace("_", "-")
        default = f"GuacaMol {oracle_name.removesuffix('_mpo').capitalize()} MPO (Brown et al. 2019)"
        self.description = ORACLE_DESCRIPTIONS.get(oracle_name, default)
        self.optimal_value = None if oracle_name == "penalized_logp" else 1.0

    @cached_property
    def space(self) -> MoleculeSpace:
        return MoleculeSpace()

    def _build_full_data(self) -> tuple[list[str], np.ndarray]:
        return list(moses_subset_smiles()), moses_subset_scores(self.oracle_name).astype(np.float64)

    def _evaluate_true(self, designs: Sequence[str]) -> np.ndarray:
        return score_smiles(self.oracle_name, list(designs))

    def oracle(self, designs: Sequence[Any]) -> np.ndarray:
        # Any RDKit-valid molecule is scored, even one the prior's SELFIES vocabulary cannot encode.
        canonical = [canonical_smiles(design) if isinstance(design, str) else None for design in designs]
        scores = np.full(len(designs), np.nan)
        valid = [index for index, smiles in enumerate(canonical) if smiles is not None]
        if valid:
            scores[valid] = self._evaluate_true([canonical[index] for index in valid])
        return scores
