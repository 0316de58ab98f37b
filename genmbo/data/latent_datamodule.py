"""A LightningDataModule over tensors: latent codes (or standardized vectors) with optional scores.

Used to train the vector VAE on encoded designs and the latent diffusion prior on VAE latents. The split
is a seeded permutation, so every process of a distributed run holds the same train/validation split and
models can fit statistics on `train_latents` without communicating. Training batches come from a
resumable loader (`genmbo.data.resumable`).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from genmbo.data.resumable import EpochBatchSampler, ResumableDataLoader, evaluation_loader
from genmbo.data.tensor_rows import TensorRows


class LatentDataModule(pl.LightningDataModule):
    """Batches of ``(latents,)`` or ``(latents, scores)``.

    Args:
        latents: a `n x d` float tensor.
        scores: an optional `n` tensor of scores (higher is better), for conditional models.
        batch_size: rows per training batch.
        val_fraction: share of rows held out for validation (0 for none).
        seed: seeds the train/validation split.
    """

    def __init__(
        self,
        latents: torch.Tensor,
        scores: torch.Tensor | None = None,
        batch_size: int = 256,
        val_fraction: float = 0.1,
        seed: int = 0,
        num_workers: int = 0,
    ):
        super().__init__()
        if latents.dim() != 2:
            raise ValueError(f"latents must be a `n x d` tensor, got shape {tuple(latents.shape)}")
        if scores is not None and scores.shape != (latents.shape[0],):
            raise ValueError(
                f"scores must be a tensor of shape ({latents.shape[0]},), got {tuple(scores.shape)}"
            )
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.latents = latents.float()
        self.scores = None if scores is None else scores.float()
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.seed = seed
        self.num_workers = num_workers
        self.train_indices, self.val_indices = self._split()

    def _split(self) -> tuple[torch.Tensor, torch.Tensor]:
        order = torch.randperm(self.latents.shape[0], generator=torch.Generator().manual_seed(self.seed))
        num_val = int(round(self.val_fraction * self.latents.shape[0]))
        return order[num_val:], order[:num_val]

    @property
    def train_latents(self) -> torch.Tensor:
        """The `n_train x d` training rows (what standardization statistics are fitted on)."""
        return self.latents[self.train_indices]

    @property
    def train_scores(self) -> torch.Tensor | None:
        """The `n_train` training scores, or None."""
        return None if self.scores is None else self.scores[self.train_indices]

    def _dataset(self, indices: torch.Tensor) -> TensorRows:
        tensors = [self.latents[indices]]
        if self.scores is not None:
            tensors.append(self.scores[indices])
        return TensorRows(*tensors)

    def _training_loader(self, sampler: EpochBatchSampler) -> DataLoader:
        return ResumableDataLoader(
            self._dataset(self.train_indices),
            sampler,
            collate_fn=TensorRows.collate,
            num_workers=self.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._training_loader(EpochBatchSampler(len(self.train_indices), self.batch_size, self.seed))

    def val_dataloader(self) -> DataLoader | list:
        # An empty list tells Lightning there is nothing to validate on.
        if len(self.val_indices) == 0:
            return []
        return evaluation_loader(
            self._dataset(self.val_indices),
            self.batch_size,
            collate_fn=TensorRows.collate,
            num_workers=self.num_workers,
        )
