import torch
from torch.utils.data import DataLoader, TensorDataset

from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.data.resumable import EpochBatchSampler
from genmbo.data.tensor_rows import TensorRows


def test_batches_equal_the_per_row_path_of_a_tensor_dataset():
    latents, scores = torch.randn(50, 3), torch.randn(50)
    sampler = EpochBatchSampler(50, 16, seed=3)
    per_row = list(DataLoader(TensorDataset(latents, scores), batch_sampler=sampler))
    sampler = EpochBatchSampler(50, 16, seed=3)
    batched = list(
        DataLoader(TensorRows(latents, scores), batch_sampler=sampler, collate_fn=TensorRows.collate)
    )
    assert len(batched) == len(per_row) == 4
    for ours, theirs in zip(batched, per_row, strict=True):
        assert isinstance(ours, list) and len(ours) == 2
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_latent_datamodule_batches_are_lists_of_row_tensors():
    data = LatentDataModule(torch.randn(40, 2), torch.arange(40.0), batch_size=8, val_fraction=0.25, seed=0)
    latents, scores = next(iter(data.train_dataloader()))
    assert latents.shape == (8, 2) and scores.shape == (8,)
    assert torch.equal(data.latents[scores.long()], latents)  # each score is its row's index
    assert sum(len(batch[0]) for batch in data.val_dataloader()) == 10
