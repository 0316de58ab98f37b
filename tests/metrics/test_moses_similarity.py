"""MOSES's SNN, Frag and Scaf on hand-made sets with known values."""

import math
from collections import Counter

import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from genmbo.metrics.moses_similarity import (
    FragmentSimilarity,
    NearestNeighbourSimilarity,
    ScaffoldSimilarity,
    brics_fragments,
    count_cosine,
    murcko_scaffold,
)

DRUGS = ["CC(=O)Oc1ccccc1C(=O)O", "CN1CCC[C@H]1c1cccnc1", "O=C(O)Cc1ccccc1Nc1c(Cl)cccc1Cl", "c1ccc2ccccc2c1"]


def computed(metric_class, reference, smiles):
    metric = metric_class(reference)
    metric.update(smiles)
    return float(metric.compute())


@pytest.mark.parametrize("metric_class", [NearestNeighbourSimilarity, FragmentSimilarity, ScaffoldSimilarity])
def test_a_set_against_itself_scores_one(metric_class) -> None:
    assert computed(metric_class, DRUGS, DRUGS + [None]) == pytest.approx(1.0)


def test_snn_is_rdkits_tanimoto_to_the_nearest_reference() -> None:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fingerprint = {text: generator.GetFingerprint(Chem.MolFromSmiles(text)) for text in DRUGS + ["CCO"]}
    reference, queries = DRUGS[:2], [DRUGS[2], "CCO"]
    expected = [
        max(DataStructs.TanimotoSimilarity(fingerprint[query], fingerprint[other]) for other in reference)
        for query in queries
    ]
    assert computed(NearestNeighbourSimilarity, reference, queries) == pytest.approx(sum(expected) / 2)


def test_fragments_and_scaffolds_are_moses_keys() -> None:
    # Ethyl benzoate breaks at its three BRICS bonds (ethyl-O, O-C(=O), C(=O)-ring); the dummy atoms carry
    # the BRICS environment labels.
    fragments = brics_fragments(Chem.MolFromSmiles("CCOC(=O)c1ccccc1"))
    assert sorted(fragments) == sorted(["[16*]c1ccccc1", "[1*]C([6*])=O", "[3*]O[3*]", "[4*]CC"])
    # One ring is no scaffold for MOSES; naphthalene (two rings) is its own.
    assert murcko_scaffold(Chem.MolFromSmiles("Cc1ccccc1")) is None
    assert murcko_scaffold(Chem.MolFromSmiles("Cc1ccc2ccccc2c1")) == "c1ccc2ccccc2c1"


def test_count_cosine_on_known_counts() -> None:
    assert count_cosine(Counter(a=1, b=1), Counter(a=1)) == pytest.approx(1 / math.sqrt(2))
    assert count_cosine(Counter(a=2), Counter(b=3)) == 0.0
    assert math.isnan(count_cosine(Counter(), Counter(a=1)))


def test_scaffold_similarity_counts_scaffolds_by_molecule() -> None:
    # Reference: two naphthalenes and one indole scaffold; generated: one naphthalene.
    reference = ["Cc1ccc2ccccc2c1", "Oc1ccc2ccccc2c1", "Cc1c[nH]c2ccccc12"]
    assert computed(ScaffoldSimilarity, reference, ["Nc1ccc2ccccc2c1"]) == pytest.approx(2 / math.sqrt(5))
    # Only one-ring molecules: nothing to compare.
    assert math.isnan(computed(ScaffoldSimilarity, reference, ["Cc1ccccc1", "CCO"]))
