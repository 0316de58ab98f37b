"""Distance kernels per space and the library metrics built on them, against brute-force values."""

import numpy as np
import pytest
import torch
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from genmbo.metrics import design_distance
from genmbo.metrics.design_distance import design_features, distance_kind, distance_matrix, nearest
from genmbo.metrics.library import MeanPairwiseDistance, NearestReferenceValue
from genmbo.spaces import ContinuousSpace, MoleculeSpace, SequenceSpace

SMILES = ["CCO", "CCN", "c1ccccc1", "c1ccccc1O", "CC(=O)O", "CCCCCC", "C1CCCCC1", "OCCO"]


def rdkit_similarities(first, second):
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    prints = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in second]
    return np.array(
        [
            DataStructs.BulkTanimotoSimilarity(generator.GetFingerprint(Chem.MolFromSmiles(s)), prints)
            for s in first
        ]
    )


def test_molecule_nearest_matches_rdkit_in_any_block_size(monkeypatch):
    space = MoleculeSpace()
    queries, reference = SMILES[:3], SMILES[3:]
    expected = rdkit_similarities(queries, reference)
    monkeypatch.setattr(design_distance, "_BLOCK_ELEMENTS", 3)  # one reference row per block: 5 blocks
    values, rows = nearest("tanimoto", design_features(space, queries), design_features(space, reference))
    np.testing.assert_allclose(values.numpy(), expected.max(1), atol=1e-12)
    assert rows.tolist() == expected.argmax(1).tolist()
    assert distance_kind(space) == "tanimoto"


def test_hamming_and_euclidean_kernels():
    dna = SequenceSpace("ACGT", length=4)
    features = design_features(dna, ["ACGT", "ACGA", "TTTT"])
    np.testing.assert_array_equal(
        distance_matrix("hamming", features, features).numpy(), [[0, 1, 3], [1, 0, 4], [3, 4, 0]]
    )
    variable = SequenceSpace("AB", max_length=4)
    short_long = design_features(variable, ["AB", "ABAB"])
    assert (
        distance_matrix("hamming", short_long[:1], short_long[1:]).item() == 3
    )  # EOS vs A, PAD vs B and EOS
    vectors = ContinuousSpace(2)
    points = design_features(vectors, [(0.0, 0.0), (3.0, 4.0)])
    assert distance_matrix(distance_kind(vectors), points, points)[0, 1].item() == pytest.approx(5.0)


def test_mean_pairwise_distance_and_nearest_reference_value():
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 8.0]], dtype=torch.float64)
    metric = MeanPairwiseDistance("euclidean")
    metric.update(points[:2])
    metric.update(points[2:])
    assert metric.compute().item() == pytest.approx((5 + 8 + 5) * 2 / 6)
    reference = torch.tensor([[0.0, 1.0], [10.0, 10.0]], dtype=torch.float64)
    nearest_value = NearestReferenceValue("euclidean", reference)
    nearest_value.update(points)
    expected = np.mean([1.0, np.hypot(3, 3), 7.0])
    assert nearest_value.compute().item() == pytest.approx(expected)
    assert np.isnan(MeanPairwiseDistance("euclidean").compute().item())
