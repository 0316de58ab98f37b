"""Every design space honours one contract: parse is idempotent, encode/decode round-trips,
to_dict rebuilds."""

import numpy as np
import pytest
import torch

from genmbo.spaces import ContinuousSpace, MoleculeSpace, SequenceSpace, space_from_dict

MOLECULES = [
    "CC(=O)Nc1ccc(O)cc1",
    "c1ccccc1",
    "CCN(CC)C(=O)C1=CC2=C(C=C1)OCO2",
    "O=C(O)c1ccccc1OC(C)=O",
    "C[C@H](N)C(=O)O",
    "Clc1ccc(Br)cc1",
]


def molecule_space():
    return MoleculeSpace.from_smiles(MOLECULES)


CASES = {
    "molecules": (molecule_space, MOLECULES),
    "dna-fixed": (lambda: SequenceSpace("dna", length=8), ["ACGTACGT", "AAAAAAAA", "TTGCAACG"]),
    "protein-variable": (lambda: SequenceSpace("protein", max_length=12), ["MKV", "ACDEFGHIKLMN", "W"]),
    "multi-character tokens": (
        lambda: SequenceSpace(["Ala", "Gly", "Ser"], max_length=4),
        [("Ala", "Gly"), ("Ser", "Ser", "Ala", "Gly")],
    ),
    "continuous": (
        lambda: ContinuousSpace(3, -5.0, 5.0).fit([(0.0, 1.0, 2.0), (1.0, -1.0, 4.0)]),
        [(0.5, -2.0, 4.9), (-5.0, 5.0, 0.0), (1e-3, 2.5, -3.25)],
    ),
}


@pytest.fixture(params=list(CASES))
def space_and_designs(request):
    build, raw = CASES[request.param]
    return build(), raw


def test_parse_is_idempotent(space_and_designs):
    space, raw = space_and_designs
    canonical = [space.parse(design) for design in raw]
    assert [space.parse(design) for design in canonical] == canonical


def test_encode_decode_round_trip(space_and_designs):
    space, raw = space_and_designs
    canonical = [space.parse(design) for design in raw]
    decoded = space.decode(space.encode(canonical))
    if space.kind == "continuous":  # float32 encoding: equal to single precision
        np.testing.assert_allclose(np.array(decoded), np.array(canonical), rtol=1e-6, atol=1e-6)
    else:
        assert decoded == canonical


def test_to_dict_rebuilds_an_equivalent_space(space_and_designs):
    space, raw = space_and_designs
    canonical = [space.parse(design) for design in raw]
    rebuilt = space_from_dict(space.to_dict())
    assert type(rebuilt) is type(space)
    assert torch.equal(rebuilt.encode(canonical), space.encode(canonical))
    assert rebuilt.to_dict() == space.to_dict()


def test_encode_gives_one_row_per_design(space_and_designs):
    space, raw = space_and_designs
    canonical = [space.parse(design) for design in raw]
    assert space.encode(canonical).shape[0] == len(canonical)
