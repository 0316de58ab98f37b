import pytest
import torch

from genmbo.data.token_datamodule import TokenDataModule, split_indices, trim_padding
from genmbo.spaces import SequenceSpace


def _tokens() -> torch.Tensor:
    space = SequenceSpace("ACGT", max_length=6)
    designs = ["A" * (1 + index % 6) for index in range(40)]
    return space.encode(designs)


def test_split_is_seeded_disjoint_and_complete():
    kept, held_out = split_indices(100, 10, seed=3)
    again_kept, again_held_out = split_indices(100, 10, seed=3)
    assert torch.equal(kept, again_kept) and torch.equal(held_out, again_held_out)
    assert len(held_out) == 10 and len(kept) == 90
    assert sorted(torch.cat([kept, held_out]).tolist()) == list(range(100))
    assert not torch.equal(held_out, split_indices(100, 10, seed=4)[1])
    assert len(split_indices(100, 0.25, seed=0)[1]) == 25


def test_split_rejects_impossible_sizes():
    with pytest.raises(ValueError):
        split_indices(10, 10, seed=0)


def test_trim_padding_cuts_after_the_longest_row():
    tokens = _tokens()
    assert trim_padding([tokens[:2]]).shape == (2, 4)  # 1 and 2 letters: BOS, letters, EOS
    assert trim_padding([tokens]).shape == tokens.shape


def test_loaders_split_and_shuffle_reproducibly():
    tokens = _tokens()
    datamodule = TokenDataModule(tokens, val_size=8, batch_size=16, seed=0)
    assert len(datamodule.train_set) == 32 and len(datamodule.val_set) == 8
    first = [batch.clone() for batch in datamodule.train_dataloader()]
    again = [
        batch.clone()
        for batch in TokenDataModule(tokens, val_size=8, batch_size=16, seed=0).train_dataloader()
    ]
    assert len(first) == 2 and all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert sum(len(batch) for batch in datamodule.val_dataloader()) == 8
    assert all(batch.dtype == torch.long for batch in first)


def test_rejects_non_token_tensors():
    with pytest.raises(ValueError):
        TokenDataModule(torch.zeros(4, 3))
