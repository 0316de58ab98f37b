"""A `LatentDataModule` whose training batches draw rows in proportion to given weights.

DDOM (Krishnamoorthy et al., ICML 2023, arXiv 2306.07180, Sec. 3) trains on a dataset reweighted toward
high scores (`genmbo.data.score_weighting.ddom_weights`). The official code multiplies each row's loss by
its weight; here rows are drawn with replacement in proportion to their weights instead
(`EpochBatchSampler`), so the model's loss stays an unweighted mean and the reweighting lives in the
data. Both optimize the same objective in expectation; sampling spends gradient steps on the rows that
matter rather than on rows weighted ~0.
Validation batches stay unweighted (the data's own distribution).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.data.resumable import EpochBatchSampler


class WeightedLatentDataModule(LatentDataModule):
    """`LatentDataModule` with training rows drawn with replacement in proportion to `weights`.

    Args:
        latents, scores, batch_size, val_fraction, seed, num_workers: as for `LatentDataModule`.
        weights: an optional `n` tensor of nonnegative weights, one per row of `latents` (before the
            split); only the training rows' weights are used, renormalized. None: uniform shuffling.
        samples_per_epoch: rows drawn per epoch; None draws as many as there are training rows.
    Every epoch's draws come from `seed` and the epoch, so a run's sequence of batches is reproducible and
    resumable.
    """

    def __init__(
        self,
        latents: torch.Tensor,
        scores: torch.Tensor | None = None,
        batch_size: int = 256,
        val_fraction: float = 0.1,
        seed: int = 0,
        num_workers: int = 0,
        weights: torch.Tensor | None = None,
        samples_per_epoch: int | None = None,
    ):
        super().__init__(latents, scores, batch_size, val_fraction, seed, num_workers)
        if weights is not None:
            if weights.shape != (latents.shape[0],):
                raise ValueError(
                    f"weights must be a tensor of shape ({latents.shape[0]},), got {tuple(weights.shape)}"
                )
            if not torch.isfinite(weights).all() or (weights < 0).any():
                raise ValueError("weights must be finite and nonnegative")
            if weights[self.train_indices].sum() <= 0:
                raise ValueError("the training rows' weights are all zero")
        if samples_per_epoch is not None and samples_per_epoch < 1:
            raise ValueError(f"samples_per_epoch must be >= 1, got {samples_per_epoch}")
        self.weights = None if weights is None else weights.detach().double().cpu()
        self.samples_per_epoch = samples_per_epoch

    @property
    def train_weights(self) -> torch.Tensor | None:
        """The `n_train` weights of the training rows, summing to 1, or None."""
        if self.weights is None:
            return None
        weights = self.weights[self.train_indices]
        return weights / weights.sum()

    def train_dataloader(self) -> DataLoader:
        train_weights = self.train_weights
        if train_weights is None:
            return super().train_dataloader()
        sampler = EpochBatchSampler(
            len(self.train_indices),
            self.batch_size,
            self.seed,
            weights=train_weights,
            samples_per_epoch=self.samples_per_epoch,
        )
        return self._training_loader(sampler)
