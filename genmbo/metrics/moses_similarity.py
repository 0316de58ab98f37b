"""MOSES's similarity metrics between generated molecules and a reference set (Polykovskiy et al.,
"Molecular Sets (MOSES)", Front. Pharmacol. 2020, Sec. 3 "Metrics").

- `NearestNeighbourSimilarity` (SNN): the mean, over the generated molecules, of the Tanimoto similarity
  of each to its nearest reference molecule, on Morgan fingerprints of radius 2 and 1,024 bits. Low:
  the molecules lie far from the reference's chemical space; 1: each is a reference molecule.
- `FragmentSimilarity` (Frag): the cosine similarity of the two sets' BRICS fragment counts (Degen et
  al., ChemMedChem 2008: RDKit's `FragmentOnBRICSBonds`, every fragment of every molecule counted, as
  canonical SMILES with the dummy atoms that mark the broken bonds).
- `ScaffoldSimilarity` (Scaf): the cosine similarity of the two sets' Bemis-Murcko scaffold counts (J.
  Med. Chem. 1996: RDKit's `MurckoScaffold.GetScaffoldForMol`), counting only scaffolds of at least two
  rings, as MOSES does.

Like the other molecular metrics (`genmbo.metrics.molecule_realism`) they take canonical, valid SMILES
(None entries are skipped). Frag and Scaf are NaN when either set has nothing to count. Each keeps
tensor states reduced by concatenation (fragments and scaffolds as 63-bit hashes of their SMILES), so
it synchronizes across processes like any torchmetrics metric; the reference's counts are taken once,
at construction.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold
from torchmetrics import Metric

from genmbo.metrics.fingerprints import morgan_fingerprints
from genmbo.metrics.library import NearestReferenceValue
from genmbo.metrics.molecule_realism import _molecules, _valid
from genmbo.metrics.samples import _cat_or_empty

SNN_RADIUS = 2
SNN_BITS = 1024
MIN_SCAFFOLD_RINGS = 2


def _hash(text: str) -> int:
    """A stable 63-bit hash (Python's own `hash` of a string changes between processes)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def brics_fragments(molecule: Chem.Mol) -> list[str]:
    """The molecule's BRICS fragments as SMILES, one entry per fragment (repeats kept)."""
    return Chem.MolToSmiles(Chem.FragmentOnBRICSBonds(molecule)).split(".")


def murcko_scaffold(molecule: Chem.Mol) -> str | None:
    """The Bemis-Murcko scaffold's SMILES, or None below `MIN_SCAFFOLD_RINGS` rings."""
    try:
        scaffold = MurckoScaffold.GetScaffoldForMol(molecule)
    except (ValueError, RuntimeError):
        return None
    text = Chem.MolToSmiles(scaffold)
    if not text or scaffold.GetRingInfo().NumRings() < MIN_SCAFFOLD_RINGS:
        return None
    return text


def count_cosine(first: Counter, second: Counter) -> float:
    """Cosine similarity of two count vectors given as {key: count} (absent keys count 0); NaN if either
    is empty."""
    if not first or not second:
        return float("nan")
    keys = list(first.keys() | second.keys())
    a = np.array([first.get(key, 0) for key in keys], dtype=np.float64)
    b = np.array([second.get(key, 0) for key in keys], dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


class NearestNeighbourSimilarity(NearestReferenceValue):
    """MOSES's SNN of the molecules seen against `reference` SMILES (NaN before any molecule): the library
    metric `NearestReferenceValue` on Morgan fingerprints of MOSES's radius and width."""

    higher_is_better = True

    def __init__(self, reference: Sequence[str], **kwargs: Any):
        super().__init__("tanimoto", morgan_fingerprints(list(reference), SNN_RADIUS, SNN_BITS), **kwargs)

    def update(self, smiles: Sequence[str | None]) -> None:
        """Add a batch of SMILES (None entries are skipped)."""
        super().update(morgan_fingerprints(_valid(smiles), SNN_RADIUS, SNN_BITS))


class _CountSimilarity(Metric):
    """Cosine similarity of the counts of `keys(molecule)` over the molecules seen and over `reference`."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, reference: Sequence[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.reference_counts = Counter(self._hashes(reference))
        self.add_state("hashes", default=[], dist_reduce_fx="cat")

    def keys(self, molecule: Chem.Mol) -> list[str]:
        raise NotImplementedError

    def _hashes(self, smiles: Sequence[str | None]) -> list[int]:
        return [_hash(key) for molecule in _molecules(_valid(smiles)) for key in self.keys(molecule)]

    def update(self, smiles: Sequence[str | None]) -> None:
        """Add a batch of SMILES (None entries are skipped)."""
        self.hashes.append(torch.tensor(self._hashes(smiles), dtype=torch.int64, device=self.device))

    def compute(self) -> torch.Tensor:
        counts = Counter(_cat_or_empty(self.hashes).tolist())
        return torch.tensor(count_cosine(self.reference_counts, counts), dtype=torch.float64)


class FragmentSimilarity(_CountSimilarity):
    """MOSES's Frag: cosine similarity of BRICS fragment counts."""

    def keys(self, molecule: Chem.Mol) -> list[str]:
        return brics_fragments(molecule)


class ScaffoldSimilarity(_CountSimilarity):
    """MOSES's Scaf: cosine similarity of counts of scaffolds with at least two rings."""

    def keys(self, molecule: Chem.Mol) -> list[str]:
        scaffold = murcko_scaffold(molecule)
        return [] if scaffold is None else [scaffold]
