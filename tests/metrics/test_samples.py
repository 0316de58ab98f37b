"""Validity, uniqueness, novelty and internal diversity against hand-computed values."""

from __future__ import annotations

import itertools

import pytest
import torch
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

import genmbo.metrics.samples as samples
from genmbo.metrics.samples import InternalDiversity, Novelty, Uniqueness, Validity, design_hash
from genmbo.spaces import ContinuousSpace


def test_validity_counts_none_and_space_rejections() -> None:
    validity = Validity()
    validity.update(["CCO", None, "C"])
    validity.update([None])
    assert validity.compute().item() == pytest.approx(0.5)
    boxed = Validity(space=ContinuousSpace(2, lower=0.0, upper=1.0))
    boxed.update([(0.5, 0.5), (2.0, 0.5), None, (1.0, 0.0)])
    assert boxed.compute().item() == pytest.approx(0.5)
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(Validity().compute())


def test_uniqueness_among_valid_designs() -> None:
    uniqueness = Uniqueness()
    uniqueness.update(["C", "CC", None])
    uniqueness.update(["C", "CCO", "C"])
    # Valid: C, CC, C, CCO, C -> 3 distinct of 5.
    assert uniqueness.compute().item() == pytest.approx(3 / 5)
    uniqueness.reset()
    uniqueness.update([(0.1, 0.2), (0.1, 0.2)])
    assert uniqueness.compute().item() == pytest.approx(1 / 2)


def test_novelty_over_distinct_valid_designs() -> None:
    novelty = Novelty(reference=["C", "CC"])
    novelty.update(["C", "CCO", None, "CCO"])
    novelty.update(["CCN", "CC"])
    # Distinct valid: C, CCO, CCN, CC -> CCO and CCN are new: 2 of 4.
    assert novelty.compute().item() == pytest.approx(2 / 4)
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(Novelty(reference=[]).compute())


def test_design_hash_is_stable_and_discriminating() -> None:
    assert design_hash("CCO") == design_hash("CCO")
    assert design_hash("CCO") != design_hash("OCC")
    assert design_hash((1.0, 2.0)) != design_hash((2.0, 1.0))


def rdkit_internal_diversity(smiles: list[str], p: float) -> float:
    """MOSES' IntDiv_p from RDKit similarities, over all ordered pairs including identical ones."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fingerprints = [generator.GetFingerprint(Chem.MolFromSmiles(text)) for text in smiles]
    similarities = [
        DataStructs.TanimotoSimilarity(first, second)
        for first, second in itertools.product(fingerprints, repeat=2)
    ]
    return 1.0 - (sum(value**p for value in similarities) / len(similarities)) ** (1.0 / p)


def test_internal_diversity_of_two_molecules_by_hand() -> None:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    first, second = (generator.GetFingerprint(Chem.MolFromSmiles(text)) for text in ("CCO", "CCN"))
    similarity = DataStructs.TanimotoSimilarity(first, second)
    diversity = InternalDiversity(p=1)
    diversity.update(["CCO", None])
    diversity.update(["CCN"])
    # Pairs: two self-pairs (T = 1) and two cross pairs (T = similarity).
    assert diversity.compute().item() == pytest.approx(1 - (2 + 2 * similarity) / 4, abs=1e-9)
    squared = InternalDiversity(p=2)
    squared.update(["CCO", "CCN"])
    assert squared.compute().item() == pytest.approx(1 - ((2 + 2 * similarity**2) / 4) ** 0.5, abs=1e-9)
    single = InternalDiversity()
    single.update(["c1ccccc1", "c1ccccc1"])
    assert single.compute().item() == pytest.approx(0.0)
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(InternalDiversity().compute())


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_internal_diversity_matches_rdkit_in_blocks(p: float, monkeypatch: pytest.MonkeyPatch) -> None:
    molecules = ["CCO", "CCN", "c1ccccc1", "Cc1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "C1CCCCC1", "CCCCCC"]
    # A tiny block budget forces several Tanimoto row blocks.
    monkeypatch.setattr(samples, "_MAX_BLOCK_ELEMENTS", 2 * len(molecules) * 32)
    diversity = InternalDiversity(p=p)
    diversity.update(molecules[:3])
    diversity.update(molecules[3:])
    assert diversity.compute().item() == pytest.approx(rdkit_internal_diversity(molecules, p), abs=1e-6)
