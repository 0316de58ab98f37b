"""The shipped MOSES subset's token table gives the rows `Vocabulary.encode` gives, and is used only where
those rows are valid."""

import numpy as np
import pytest
import torch

from genmbo.resources import moses_selfies_vocabulary, moses_subset_smiles
from genmbo.spaces.molecules import MoleculeSpace, selfies_tokens
from genmbo.spaces.shipped_tokens import shipped_token_table, token_table_for


def tokenized(space: MoleculeSpace, designs: list[str]) -> torch.Tensor:
    return space.vocabulary.encode([selfies_tokens(design) for design in designs], space.max_length)


@pytest.fixture(scope="module")
def table():
    table = shipped_token_table()
    assert table is not None, "the shipped table does not match the shipped subset, vocabulary or selfies"
    return table


def test_table_rows_equal_tokenizing_the_molecules(table):
    smiles = moses_subset_smiles()
    picks = np.random.default_rng(0).choice(len(smiles), 300, replace=False)
    designs = [smiles[index] for index in picks]
    space = MoleculeSpace()
    assert torch.equal(torch.from_numpy(table.ids[picks]).long(), tokenized(space, designs))


def test_encode_mixes_shipped_and_new_molecules_in_order(table):
    shipped = list(moses_subset_smiles()[:3])
    new = ["CCO", "c1ccccc1O"]
    assert not any(design in table.rows for design in new)
    designs = [new[0], shipped[0], shipped[1], new[1], shipped[2]]
    space = MoleculeSpace()
    assert torch.equal(space.encode(designs), tokenized(space, designs))


def test_a_longer_space_pads_the_shipped_rows(table):
    designs = list(moses_subset_smiles()[:5])
    tokens, max_length = moses_selfies_vocabulary()
    longer = MoleculeSpace(max_length=max_length + 4)
    assert token_table_for(tokens, max_length + 4) is table
    assert longer.encode(designs).shape == (5, max_length + 6)
    assert torch.equal(longer.encode(designs), tokenized(longer, designs))


def test_a_space_with_another_vocabulary_or_less_room_is_not_served(table):
    tokens, max_length = moses_selfies_vocabulary()
    assert token_table_for(tokens, max_length) is table
    assert token_table_for(tokens[:-1], max_length) is None
    assert token_table_for(list(reversed(tokens)), max_length) is None
    assert token_table_for(tokens, max_length - 1) is None


def test_a_table_made_from_other_inputs_is_not_trusted(monkeypatch):
    load = shipped_token_table.__wrapped__
    assert load() is not None
    monkeypatch.setattr("genmbo.spaces.shipped_tokens.selfies.__version__", "0.0.0")
    assert load() is None
    monkeypatch.undo()
    edited = ("CCO", *moses_subset_smiles()[1:])  # one molecule changed, the row count kept
    monkeypatch.setattr("genmbo.spaces.shipped_tokens.moses_subset_smiles", lambda: edited)
    assert load() is None
