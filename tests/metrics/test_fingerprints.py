"""Packed fingerprints and the torch Tanimoto kernel, checked against RDKit."""

from __future__ import annotations

import random

import pytest
import torch
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from genmbo.metrics import fingerprints
from genmbo.metrics.fingerprints import morgan_fingerprints, pack_bits, popcount, tanimoto_matrix

MOLECULES = [
    "CCO",
    "CCN",
    "c1ccccc1",
    "Cc1ccccc1",
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1CCC[C@H]1c1cccnc1",
    "O=C(O)CCc1ccc(O)cc1",
    "C1CCCCC1",
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "C",
]


def test_popcount_matches_python_bit_count() -> None:
    rng = random.Random(0)
    values = [0, 1, 2**31, 2**32 - 1, 0x55555555, 0xAAAAAAAA] + [rng.getrandbits(32) for _ in range(200)]
    counts = popcount(torch.tensor(values, dtype=torch.int64))
    assert counts.tolist() == [bin(value).count("1") for value in values]


def test_pack_bits_keeps_every_bit() -> None:
    bits = (torch.rand(3, 70, generator=torch.Generator().manual_seed(0)) > 0.5).long()
    packed = pack_bits(bits)
    assert packed.shape == (3, 3) and packed.dtype == torch.int64
    unpacked = (packed[:, :, None] >> torch.arange(32)) & 1
    torch.testing.assert_close(unpacked.reshape(3, 96)[:, :70], bits)
    assert unpacked.reshape(3, 96)[:, 70:].sum() == 0


def test_pack_bits_word_values() -> None:
    """Bit i of word w is bit 32 w + i, and a full word is 2^32 - 1, never negative."""
    bits = torch.zeros(3, 64, dtype=torch.int64)
    bits[0, :32] = 1
    bits[1, 31] = 1
    bits[1, 32] = 1
    bits[2, 63] = 1
    assert pack_bits(bits).tolist() == [[2**32 - 1, 0], [2**31, 1], [0, 2**31]]


@pytest.mark.parametrize("fp_size", [1024, 100])
def test_tanimoto_matches_rdkit(fp_size: int) -> None:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=fp_size)
    rdkit_fingerprints = [generator.GetFingerprint(Chem.MolFromSmiles(smiles)) for smiles in MOLECULES]
    packed = morgan_fingerprints(MOLECULES, radius=2, fp_size=fp_size)
    assert popcount(packed).sum(-1).tolist() == [fp.GetNumOnBits() for fp in rdkit_fingerprints]
    similarity = tanimoto_matrix(packed, packed)
    expected = torch.tensor(
        [DataStructs.BulkTanimotoSimilarity(fp, rdkit_fingerprints) for fp in rdkit_fingerprints],
        dtype=torch.float64,
    )
    torch.testing.assert_close(similarity, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(tanimoto_matrix(packed[:3], packed), expected[:3], rtol=0, atol=1e-6)


def test_tanimoto_hand_computed_and_empty() -> None:
    first = pack_bits(torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]]))
    second = pack_bits(torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0]]))
    # {0, 1} vs {0, 2}: 1 shared of 3; empty vs empty counts as identical (the MOSES convention).
    expected = torch.tensor([[1 / 3, 0.0], [0.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(tanimoto_matrix(first, second), expected)


def test_unparseable_smiles_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot parse"):
        morgan_fingerprints(["C1CC"])


@pytest.mark.parametrize("chunk", [1, 3, 4, 64])
def test_fingerprints_packed_in_chunks_equal_the_whole_set(monkeypatch, chunk) -> None:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=256)
    rows = [generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(smiles)) for smiles in MOLECULES]
    bits = torch.stack([torch.from_numpy(row) for row in rows])
    monkeypatch.setattr(fingerprints, "PACK_CHUNK", chunk)  # 10 molecules: partial last chunks too
    assert torch.equal(morgan_fingerprints(MOLECULES, radius=2, fp_size=256), pack_bits(bits))


@pytest.mark.parametrize(
    "smiles",
    [
        "c1ccc2[nH]ccc2c1",  # aromatic N-H
        "C[N+](C)(C)CC(=O)[O-]",  # zwitterion
        "O=[N+]([O-])c1ccc(S(=O)(=O)N)cc1",  # nitro, sulfonamide
        "C[C@H](N)C(=O)O",  # stereocentre
        "C/C=C/c1ccncc1",  # double-bond stereo, pyridine
        "c1ccc2c(c1)ccc1ccccc12",  # fused aromatic rings
        "O=c1cc[nH]c(=O)[nH]1",  # aromatic carbonyls
        "C1CC2CCC1C2",  # bridged ring
        "[2H]C([2H])([2H])Cl",  # isotopes
    ],
)
def test_rdkit_written_smiles_parse_faster_to_the_same_fingerprints(smiles: str) -> None:
    canonical = Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    assert torch.equal(
        morgan_fingerprints([canonical], 2, 2048, written_by_rdkit=True),
        morgan_fingerprints([canonical], 2, 2048),
    )
