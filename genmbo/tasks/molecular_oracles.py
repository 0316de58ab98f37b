"""Molecular benchmark oracles: QED, penalized logP and GuacaMol goal-directed objectives.

Every oracle is a function of an RDKit `Mol` that the caller has already parsed and sanitized (as
`Chem.MolFromSmiles` returns it, hydrogens implicit); `score_smiles` does the parsing for a list of SMILES.

Definitions implemented
-----------------------
``qed``
    Quantitative estimate of drug-likeness, Bickerton et al., "Quantifying the chemical beauty of drugs",
    Nat. Chem. 4, 90-98 (2012): the weighted geometric mean of eight desirability functions with the
    paper's mean weights (QED_w,mo), computed by RDKit's `rdkit.Chem.QED.qed` with default arguments, which
    is also what GuacaMol's QED benchmark calls.
``penalized_logp``
    logP - SA - ring penalty, the objective of Gomez-Bombarelli et al. (ACS Cent. Sci. 2018) and Kusner et
    al. (ICML 2017) as optimized in the Bayesian-optimization and constrained-optimization experiments of
    JT-VAE (Jin et al., ICML 2018) and the property-optimization experiments of GCPN (You et al., NeurIPS
    2018): Wildman-Crippen logP (`Descriptors.MolLogP`), minus the synthetic accessibility score of Ertl &
    Schuffenhauer, J. Cheminform. 1, 8 (2009) (`rdkit.Contrib.SA_Score.sascorer.calculateScore`), minus
    max(largest ring size - 6, 0). This is the *unnormalized* form, the scale on which JT-VAE and GCPN
    report their optimized molecules. The ring size is the largest cycle of networkx's `cycle_basis` of
    the molecular graph, exactly as in JT-VAE's and GCPN's code (`nx.cycle_basis(nx.Graph(
    GetAdjacencyMatrix(mol)))`); MolDQN (Zhou et al., Sci. Rep. 2019) uses RDKit's SSSR rings instead,
    and the two differ for some bridged polycycles (50 of 20,000 random MOSES molecules, e.g. adamantanes).
    JT-VAE's Bayesian-optimization target is moreover the *normalized* sum, each term standardized by its
    ZINC250k mean and standard deviation; `penalized_logp_normalized` reproduces that variant exactly
    (GCPN's `reward_penalized_log_p`, constants from 250k_rndm_zinc_drugs_clean.smi).
``<drug>_mpo``, ``celecoxib_rediscovery``
    GuacaMol goal-directed benchmarks, Brown et al., "GuacaMol: Benchmarking Models for de Novo Molecular
    Design", J. Chem. Inf. Model. 59(3), 1096-1108 (2019), section "Goal-Directed Benchmarks", as defined in
    the reference package `guacamol` v0.5.5 (`standard_benchmarks.py`, `goal_directed_suite_v2`): celecoxib
    rediscovery and the seven multi-property objectives Osimertinib, Fexofenadine, Ranolazine (the v2
    `ranolazine_mpo`, not `start_pop_ranolazine`), Perindopril, Amlodipine, Sitagliptin and Zaleplon MPO.
    Target SMILES, fingerprints, modifiers and means are those of the reference code; see
    `genmbo.tasks.guacamol_scoring` for the machinery and its API-level departures. The code's numbers are
    followed even where its names disagree with them (the Ranolazine term named `logP_under_4` rewards
    logP >= 7), since published GuacaMol scores come from that code.

Invalid molecules: `score_smiles` returns NaN for a SMILES that RDKit cannot parse and sanitize, and for
an empty one; GuacaMol scores an unparseable SMILES -1.0 instead (and scores "" as an empty molecule).

Values depend on the RDKit version through its descriptors (Crippen logP, TPSA, QED's alerts and
properties, SA fragment scores); they were checked against the reference implementations under RDKit
2026.09.1. On the same 1,020 test molecules, RDKit 2023.09.6 gave identical values for every oracle except
the QED of a deuterated molecule.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import networkx as nx
import numpy as np
from rdkit import Chem, RDConfig
from rdkit.Chem import QED, Descriptors
from rdkit.rdBase import BlockLogs

from genmbo.errors import ConfigError
from genmbo.tasks import guacamol_scoring as gs

# --- QED and penalized logP ---------------------------------------------------------------------------------


def qed(mol: Chem.Mol) -> float:
    """QED with the default (mean) weights of Bickerton et al. (2012), as computed by RDKit."""
    return float(QED.qed(mol))


@functools.cache
def _sascorer() -> ModuleType:
    # Imported on first use: loading the SA fragment table takes a moment and most callers never need it.
    try:
        return importlib.import_module("rdkit.Contrib.SA_Score.sascorer")
    except ImportError:
        # Some RDKit builds ship Contrib as a plain data folder rather than an importable package.
        sys.path.append(os.path.join(RDConfig.RDContribDir, "SA_Score"))
        return importlib.import_module("sascorer")


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility score of Ertl & Schuffenhauer (2009): 1 (easy) to 10 (hard)."""
    return float(_sascorer().calculateScore(mol))


def largest_ring_size(mol: Chem.Mol) -> int:
    """Largest cycle of networkx's `cycle_basis` of the molecular graph (JT-VAE, GCPN), 0 if acyclic."""
    cycles = nx.cycle_basis(nx.Graph(Chem.rdmolops.GetAdjacencyMatrix(mol)))
    return max((len(cycle) for cycle in cycles), default=0)


def penalized_logp(mol: Chem.Mol) -> float:
    """Unnormalized penalized logP: logP - SA - max(largest cycle-basis ring size - 6, 0)."""
    ring_penalty = max(largest_ring_size(mol) - 6, 0)
    return float(Descriptors.MolLogP(mol) - sa_score(mol) - ring_penalty)


# Means and standard deviations over ZINC250k (250k_rndm_zinc_drugs_clean.smi), from GCPN's code; the SA
# and cycle terms enter negated, hence their negative means.
_ZINC_LOGP_MEAN, _ZINC_LOGP_STD = 2.4570953396190123, 1.434324401111988
_ZINC_SA_MEAN, _ZINC_SA_STD = -3.0525811293166134, 0.8335207024513095
_ZINC_CYCLE_MEAN, _ZINC_CYCLE_STD = -0.0485696876403053, 0.2860212110245455


def penalized_logp_normalized(mol: Chem.Mol) -> float:
    """JT-VAE/GCPN normalized penalized logP: sum of the three terms, each standardized over ZINC250k.

    Not part of `MOLECULAR_ORACLES`.
    """
    cycle_score = -max(largest_ring_size(mol) - 6, 0)
    return float(
        (Descriptors.MolLogP(mol) - _ZINC_LOGP_MEAN) / _ZINC_LOGP_STD
        + (-sa_score(mol) - _ZINC_SA_MEAN) / _ZINC_SA_STD
        + (cycle_score - _ZINC_CYCLE_MEAN) / _ZINC_CYCLE_STD
    )


# --- GuacaMol goal-directed objectives (guacamol v0.5.5, standard_benchmarks.py) --------------------------

# Target SMILES exactly as written in the reference code: the target fingerprints are computed from them.
CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
OSIMERTINIB = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
FEXOFENADINE = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
RANOLAZINE = "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2"
PERINDOPRIL = "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC"
AMLODIPINE = r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC"
SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
ZALEPLON = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"


def _celecoxib_rediscovery() -> gs.MolScore:
    # threshold=1.0 makes the clipping a no-op: the score is the plain ECFP4 count Tanimoto similarity.
    return gs.TanimotoScore(CELECOXIB, "ECFP4", gs.clipped(upper_x=1.0))


def _osimertinib_mpo() -> gs.MolScore:
    return gs.geometric_mean(
        [
            gs.TanimotoScore(OSIMERTINIB, "FCFP4", gs.clipped(upper_x=0.8)),
            gs.TanimotoScore(OSIMERTINIB, "ECFP6", gs.min_gaussian(0.85, 0.1)),
            gs.descriptor_score(gs.tpsa, gs.max_gaussian(100, 10)),
            gs.descriptor_score(gs.logp, gs.min_gaussian(1, 1)),
        ]
    )


def _fexofenadine_mpo() -> gs.MolScore:
    return gs.geometric_mean(
        [
            gs.TanimotoScore(FEXOFENADINE, "AP", gs.clipped(upper_x=0.8)),
            gs.descriptor_score(gs.tpsa, gs.max_gaussian(90, 10)),
            gs.descriptor_score(gs.logp, gs.min_gaussian(4, 1)),
        ]
    )


def _ranolazine_mpo() -> gs.MolScore:
    return gs.geometric_mean(
        [
            gs.TanimotoScore(RANOLAZINE, "AP", gs.clipped(upper_x=0.7)),
            gs.descriptor_score(gs.logp, gs.max_gaussian(7, 1)),
            gs.descriptor_score(gs.atom_counter("F"), gs.gaussian(1, 1.0)),
            gs.descriptor_score(gs.tpsa, gs.max_gaussian(95, 20)),
        ]
    )


def _perindopril_mpo() -> gs.MolScore:
    return gs.geometric_mean(
        [
            gs.TanimotoScore(PERINDOPRIL, "ECFP4"),
            gs.descriptor_score(gs.num_aromatic_rings, gs.gaussian(2, 0.5)),
        ]
    )


def _amlodipine_mpo() -> gs.MolScore:
    return gs.geometric_mean(
        [
            gs.TanimotoScore(AMLODIPINE, "ECFP4"),
            gs.descriptor_score(gs.num_rings, gs.gaussian(3, 0.5)),
        ]
    )


def _sitagliptin_mpo() -> gs.MolScore:
    # Same logP and TPSA as sitagliptin and the same formula, but a dissimilar structure.
    sitagliptin = Chem.MolFromSmiles(SITAGLIPTIN)
    return gs.geometric_mean(
        [
            gs.TanimotoScore(SITAGLIPTIN, "ECFP4", gs.gaussian(0, 0.1)),
            gs.descriptor_score(gs.logp, gs.gaussian(gs.logp(sitagliptin), 0.2)),
            gs.descriptor_score(gs.tpsa, gs.gaussian(gs.tpsa(sitagliptin), 5)),
            gs.formula_score("C16H15F6N5O"),
        ]
    )


def _zaleplon_mpo() -> gs.MolScore:
    # C19H17N3O2 is deliberately not zaleplon's own formula (C17H15N5O): zaleplon-like, other formula.
    return gs.geometric_mean(
        [
            gs.TanimotoScore(ZALEPLON, "ECFP4"),
            gs.formula_score("C19H17N3O2"),
        ]
    )


MOLECULAR_ORACLES: dict[str, Callable[[Chem.Mol], float]] = {
    "qed": qed,
    "penalized_logp": penalized_logp,
    "osimertinib_mpo": _osimertinib_mpo(),
    "fexofenadine_mpo": _fexofenadine_mpo(),
    "ranolazine_mpo": _ranolazine_mpo(),
    "perindopril_mpo": _perindopril_mpo(),
    "amlodipine_mpo": _amlodipine_mpo(),
    "sitagliptin_mpo": _sitagliptin_mpo(),
    "zaleplon_mpo": _zaleplon_mpo(),
    "celecoxib_rediscovery": _celecoxib_rediscovery(),
}


def score_smiles(name: str, smiles: Sequence[str]) -> np.ndarray:
    """Score each SMILES with oracle `name`: float64, NaN where it gives no valid, non-empty molecule."""
    try:
        oracle = MOLECULAR_ORACLES[name]
    except KeyError:
        raise ConfigError(
            f"unknown molecular oracle {name!r}; known: {', '.join(MOLECULAR_ORACLES)}"
        ) from None
    return score_molecules(oracle, smiles)


def score_molecules(function: Callable[[Chem.Mol], float], smiles: Sequence[str]) -> np.ndarray:
    """`function` of each SMILES' molecule: float64, NaN where it gives no valid, non-empty molecule."""
    scores = np.full(len(smiles), np.nan, dtype=np.float64)
    # Unparseable SMILES are expected here (they score NaN), so RDKit's parse errors are not printed.
    with BlockLogs():
        for index, text in enumerate(smiles):
            mol = Chem.MolFromSmiles(text) if text else None
            if mol is not None and mol.GetNumAtoms() > 0:
                scores[index] = function(mol)
    return scores
