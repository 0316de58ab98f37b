"""A dataset of tensor rows that hands a loader a whole batch in one indexing per tensor.

A `TensorDataset` is indexed one row at a time: a loader calls it once per row and then stacks the rows,
so a surrogate ensemble's 1,280-row batches cost 1,280 Python calls each, about 8 ms a step and 16 s of
the main job's 2,000 surrogate steps (cProfile). `TensorRows` implements the batched fetch protocol of
PyTorch's map-style loaders (`__getitems__`), and its batches are already collated: give the loader
``collate_fn=TensorRows.collate`` (or a collate function that takes the list of batch tensors). The rows
and their order are exactly those of the per-row path.
"""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset


class TensorRows(TensorDataset):
    """`TensorDataset` whose batch of `indices` is ``[tensor[indices] for each tensor]``."""

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return [tensor[index] for tensor in self.tensors]

    @staticmethod
    def collate(batch: list[torch.Tensor]) -> list[torch.Tensor]:
        """The loader's collate function: the batch tensors as they are."""
        return batch
