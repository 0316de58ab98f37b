"""Training batches that a killed run can pick up exactly where it stopped.

A run killed mid-epoch and resumed from its last checkpoint must see the same batches, in the same order,
as a run that was never interrupted; otherwise the resumed weights, and the library built on them,
differ. Lightning restores a loader that has `state_dict` / `load_state_dict` (its "stateful"
protocol) from the checkpoint, so:

- `EpochBatchSampler` draws epoch ``e``'s order from a generator seeded by ``(seed, e)`` alone (a
  permutation, or weighted draws with replacement), counts the batches it has handed out in the current
  epoch, and after a restore skips the ones already trained on;
- `ResumableDataLoader` is a `DataLoader` over such a sampler that exposes its state, and owns a
  generator, because a `DataLoader` without one draws the seed of every new iterator from the global
  RNG, which would shift the model's random stream (noise, dropout) between an interrupted and an
  uninterrupted run.

Lightning does not prefetch from loaders of known length, so the count at checkpoint time is exactly the
number of batches trained in the epoch. In a distributed run each process takes every `world_size`-th
batch of the same order, starting at its rank (Lightning's own sampler replacement is then turned off).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

# Mixes the epoch into the seed so consecutive epochs of consecutive seeds do not share orders.
_EPOCH_STRIDE = 1_000_003


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of row indices, a reproducible order per epoch, resumable mid-epoch.

    Args:
        num_rows: rows in the dataset.
        batch_size: rows per batch.
        seed: seeds every epoch's order.
        weights: optional per-row weights; rows are then drawn with replacement in proportion to them.
        samples_per_epoch: rows drawn per epoch (default: `num_rows`).
        drop_last: drop a last, smaller batch.
    """

    def __init__(
        self,
        num_rows: int,
        batch_size: int,
        seed: int,
        weights: torch.Tensor | None = None,
        samples_per_epoch: int | None = None,
        drop_last: bool = False,
    ):
        if num_rows < 1 or batch_size < 1:
            raise ValueError(f"need rows and a positive batch size, got {num_rows} rows, batch {batch_size}")
        self.num_rows = num_rows
        self.batch_size = batch_size
        self.seed = seed
        self.weights = None if weights is None else weights.detach().double().cpu()
        self.samples_per_epoch = samples_per_epoch or num_rows
        self.drop_last = drop_last and self.samples_per_epoch > batch_size
        self.epoch = 0
        self.served = 0  # batches of the current epoch handed out so far
        self._skip = 0
        self._iterated = False
        self._restored = False

    def order(self, epoch: int) -> torch.Tensor:
        """The row order of `epoch` (a function of the seed and the epoch only)."""
        generator = torch.Generator().manual_seed(self.seed * _EPOCH_STRIDE + epoch)
        if self.weights is None:
            return torch.randperm(self.num_rows, generator=generator)[: self.samples_per_epoch]
        return torch.multinomial(self.weights, self.samples_per_epoch, replacement=True, generator=generator)

    def _batches(self, epoch: int) -> list[torch.Tensor]:
        batches = list(self.order(epoch).split(self.batch_size))
        if self.drop_last and len(batches[-1]) < self.batch_size:
            batches.pop()
        rank, world_size = _rank_and_world_size()
        if world_size > 1:
            # Every process must take the same number of steps per epoch, or DDP's gradient averaging
            # waits forever: drop the tail batches that do not fill a round (repeat some if too few).
            if len(batches) < world_size:
                batches = (batches * world_size)[:world_size]
            batches = batches[: len(batches) - len(batches) % world_size]
        return batches[rank::world_size]

    def __len__(self) -> int:
        return len(self._batches(self.epoch))

    def __iter__(self) -> Iterator[list[int]]:
        # Lightning stops taking batches after `len(self)` without exhausting the iterator, so a new
        # epoch is counted when the next iteration begins, not when the previous one ends.
        if self._restored:
            self._restored = False
        elif self._iterated:
            self.epoch += 1
        self._iterated = True
        batches = self._batches(self.epoch)
        start, self._skip = self._skip, 0
        self.served = start
        for batch in batches[start:]:
            self.served += 1
            yield batch.tolist()

    def state_dict(self) -> dict[str, int]:
        if self.served >= len(self):  # the epoch is over: resume at the next one
            return {"epoch": self.epoch + 1, "served": 0}
        return {"epoch": self.epoch, "served": self.served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch = int(state["epoch"])
        self._skip = int(state["served"])
        self._restored = True


class ResumableDataLoader(DataLoader):
    """A `DataLoader` over an `EpochBatchSampler`, resumable through Lightning's stateful protocol."""

    def __init__(self, dataset: Dataset, batch_sampler: EpochBatchSampler, **kwargs: Any):
        kwargs.setdefault("generator", torch.Generator().manual_seed(batch_sampler.seed))
        super().__init__(dataset, batch_sampler=batch_sampler, **kwargs)

    def state_dict(self) -> dict[str, int]:
        return self.batch_sampler.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batch_sampler.load_state_dict(state)


def evaluation_loader(dataset: Dataset, batch_size: int, **kwargs: Any) -> DataLoader:
    """An unshuffled loader with its own generator, so iterating it leaves the global RNG untouched."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, generator=torch.Generator(), **kwargs)


def _rank_and_world_size() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
