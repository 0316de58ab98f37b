import pytest
import torch

from genmbo.errors import InvalidDesign
from genmbo.spaces.molecules import MoleculeSpace, canonical_smiles
from genmbo.spaces.vocabulary import BOS_ID, EOS_ID, PAD_ID


@pytest.fixture(scope="module")
def space():
    return MoleculeSpace.from_smiles(["CC(=O)Nc1ccc(O)cc1", "c1ccccc1Cl", "CCO"])


def test_parse_returns_rdkit_canonical_smiles(space):
    # Two spellings of paracetamol give one canonical form.
    assert space.parse("CC(=O)Nc1ccc(O)cc1") == space.parse("Oc1ccc(NC(C)=O)cc1") == "CC(=O)Nc1ccc(O)cc1"
    assert space.parse("  OCC ") == "CCO"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("C1CC", "unparseable SMILES"),
        ("not a molecule", "unparseable SMILES"),
        ("", "unparseable SMILES"),
        (None, "unparseable SMILES"),
        ("CCP(C)C", "SELFIES tokens outside the vocabulary"),  # phosphorus is not in this vocabulary
        ("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "molecule too long"),
    ],
)
def test_parse_rejects_with_a_reason(space, raw, reason):
    with pytest.raises(InvalidDesign) as caught:
        space.parse(raw)
    assert caught.value.reason == reason


def test_encoding_layout_is_bos_tokens_eos_padding(space):
    encoded = space.encode(["CCO"])  # SELFIES [C][C][O]: three tokens
    assert encoded.shape == (1, space.max_length + 2)
    assert encoded[0, 0] == BOS_ID and encoded[0, 4] == EOS_ID
    assert torch.all(encoded[0, 5:] == PAD_ID)
    assert torch.all(encoded[0, 1:4] > EOS_ID)


def test_any_token_string_decodes_to_a_valid_molecule_or_none(space):
    generator = torch.Generator().manual_seed(0)
    random_ids = torch.randint(0, len(space.vocabulary), (200, space.max_length + 2), generator=generator)
    for smiles in space.decode(random_ids):
        assert smiles is None or canonical_smiles(smiles) == smiles


def test_default_space_uses_the_shipped_moses_vocabulary():
    space = MoleculeSpace()
    assert len(space.vocabulary.tokens) > 20
    assert space.parse("CC(=O)Nc1ccc(O)cc1") == "CC(=O)Nc1ccc(O)cc1"
