"""A LightningDataModule over encoded token rows (`n x width` ids from a token space's `encode`).

The train/validation split is a seeded permutation, so a resumed or repeated run sees the same split, and
training batches come from a resumable loader (`genmbo.data.resumable`).
Batches are trimmed to their longest row: trailing columns that are padding in every row cost recurrent
steps and carry no loss (molecules average ~35 of 54 SELFIES tokens).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from genmbo.data.resumable import EpochBatchSampler, ResumableDataLoader, evaluation_loader
from genmbo.data.tensor_rows import TensorRows
from genmbo.spaces.vocabulary import PAD_ID


def split_indices(num_rows: int, held_out: int | float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded split of `range(num_rows)`: (kept, held out), `held_out` a count or a fraction."""
    count = int(round(held_out * num_rows)) if isinstance(held_out, float) else int(held_out)
    if not 0 < count < num_rows:
        raise ValueError(f"cannot hold out {count} of {num_rows} rows")
    permutation = torch.randperm(num_rows, generator=torch.Generator().manual_seed(seed))
    return permutation[count:].sort().values, permutation[:count].sort().values


def trim_padding(batch: list[torch.Tensor]) -> torch.Tensor:
    """Collate a `TensorRows` batch of token rows (``[tokens]``) into a `batch x width` tensor cut after
    the last column holding a token."""
    tokens = batch[0]
    width = int((tokens != PAD_ID).sum(dim=1).max())
    return tokens[:, :width]


class TokenDataModule(pl.LightningDataModule):
    """Train/validation loaders over `tokens` (`n x width` long ids); `val_size` a count or a fraction."""

    def __init__(
        self,
        tokens: torch.Tensor,
        val_size: int | float = 0.1,
        batch_size: int = 128,
        seed: int = 0,
        num_workers: int = 0,
    ):
        super().__init__()
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(
                f"expected a 2-d long tensor of token ids, got {tuple(tokens.shape)} {tokens.dtype}"
            )
        self.tokens = tokens
        self.val_size = val_size
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        train_indices, val_indices = split_indices(len(tokens), val_size, seed)
        self.train_set = TensorRows(tokens[train_indices])
        self.val_set = TensorRows(tokens[val_indices])

    def train_dataloader(self) -> DataLoader:
        # Every epoch's order comes from the seed alone, and a resumed run skips the batches it trained on.
        sampler = EpochBatchSampler(
            len(self.train_set), self.batch_size, self.seed, drop_last=len(self.train_set) > self.batch_size
        )
        return ResumableDataLoader(
            self.train_set, sampler, collate_fn=trim_padding, num_workers=self.num_workers
        )

    def val_dataloader(self) -> DataLoader:
        return evaluation_loader(
            self.val_set, self.batch_size, collate_fn=trim_padding, num_workers=self.num_workers
        )
