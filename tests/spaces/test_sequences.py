import pytest
import torch

from genmbo.errors import InvalidDesign
from genmbo.spaces.sequences import SequenceSpace
from genmbo.spaces.vocabulary import BOS_ID, EOS_ID, PAD_ID


def test_named_alphabets_and_case_folding():
    space = SequenceSpace("dna", length=4)
    assert space.alphabet == list("ACGT")
    assert space.parse("acgt") == "ACGT"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ACGU", "tokens outside the alphabet"),
        ("ACG", "wrong sequence length"),
        ("", "empty sequence"),
        (3.5, "not a sequence"),
    ],
)
def test_fixed_length_rejections(raw, reason):
    with pytest.raises(InvalidDesign) as caught:
        SequenceSpace("dna", length=4).parse(raw)
    assert caught.value.reason == reason


def test_variable_length_padding_and_too_long():
    space = SequenceSpace("protein", max_length=5)
    encoded = space.encode(["MK", "MKVLA"])
    assert encoded.tolist()[0][:5] == [
        BOS_ID,
        space.vocabulary.token_to_id["M"],
        space.vocabulary.token_to_id["K"],
        EOS_ID,
        PAD_ID,
    ]
    assert encoded[1, 6] == EOS_ID
    with pytest.raises(InvalidDesign, match="too long"):
        space.parse("MKVLAW")


def test_index_rows_parse_and_convert_both_ways():
    space = SequenceSpace("dna", length=3)
    assert space.parse([0, 3, 2]) == "ATG"
    assert space.from_indices(torch.tensor([[0, 3, 2]])) == ["ATG"]
    assert space.to_indices(["ATG"]).tolist() == [[0, 3, 2]]
    with pytest.raises(InvalidDesign):
        space.parse([0, 4, 1])


def test_alphabet_inferred_from_data():
    space = SequenceSpace.from_data(["CAB", "BA", 7])
    assert space.alphabet == ["A", "B", "C"] and space.max_length == 3 and space.length is None


def test_decode_of_wrong_length_or_empty_row_is_none():
    space = SequenceSpace("dna", length=3)
    rows = torch.tensor([[BOS_ID, 3, 4, EOS_ID, PAD_ID], [BOS_ID, EOS_ID, PAD_ID, PAD_ID, PAD_ID]])
    assert space.decode(rows) == [None, None]


def test_neighbors_are_every_single_token_substitution():
    space = SequenceSpace(list("ACGT"), length=3)
    neighbors = space.neighbors("ACG")
    assert len(neighbors) == len(set(neighbors)) == 3 * 3
    assert all(sum(a != b for a, b in zip(n, "ACG", strict=True)) == 1 for n in neighbors)
    assert neighbors[:3] == ["CCG", "GCG", "TCG"]  # position 0 first, in the alphabet's order
    # Multi-character tokens stay tuples; every neighbor is a valid design of the space.
    words = SequenceSpace(["ala", "gly", "ser"], length=2)
    assert words.neighbors(("ala", "gly")) == [("gly", "gly"), ("ser", "gly"), ("ala", "ala"), ("ala", "ser")]
    assert [words.parse(n) for n in words.neighbors(("ala", "gly"))] == words.neighbors(("ala", "gly"))
