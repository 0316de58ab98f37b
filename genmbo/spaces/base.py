"""The one interface every design space implements: validate raw designs, encode to tensors, decode back.

A space is the only place that knows what a design *is*. Everything downstream (datasets, priors,
search, metrics) sees tensors from `encode` and hands tensors back to `decode`. A space is fully described
by `to_dict()`, so checkpoints can rebuild it with `space_from_dict` and no other input.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar

import torch


class DesignSpace(ABC):
    """A set of designs with a canonical form and a tensor encoding.

    Contract (checked for every space by `tests/spaces/test_space_contract.py`):
    `decode(encode(parse(x) for x in raw))` equals `[parse(x) for x in raw]`.
    """

    kind: ClassVar[str]

    @abstractmethod
    def parse(self, raw: Any) -> Any:
        """Validate one raw design and return its canonical form; raise `InvalidDesign` if it has none."""

    @abstractmethod
    def encode(self, designs: Sequence[Any]) -> torch.Tensor:
        """Encode canonical designs into a `n x ...` tensor."""

    @abstractmethod
    def decode(self, encoded: torch.Tensor) -> list[Any]:
        """Decode a `n x ...` tensor into canonical designs (`None` where a row decodes to no design)."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this space, as plain JSON/YAML-safe values."""

    def fit(self, designs: Sequence[Any]) -> DesignSpace:
        """This space with any encoding statistics fitted on `designs` (token spaces have none)."""
        return self

    def key(self, design: Any) -> Hashable:
        """A hashable identity for a canonical design, used to merge and count duplicates."""
        return design

    def format(self, design: Any) -> str:
        """The design as text for a table cell (CSV/Parquet column)."""
        return str(design)

    def neighbors(self, design: Any) -> list[Any]:
        """The designs one edit away from `design`, for local search in the design space; none unless
        the space defines an edit (sequences: one token substituted)."""
        return []

    def supported(self, offline: Sequence[Any]) -> Callable[[Any], bool]:
        """A test of whether an edited design stays within what the `offline` designs show, so that a
        local search does not leave their support: every design passes unless the space says otherwise
        (sequences: every pair of adjacent tokens occurs in some offline design)."""
        return _anything


def _anything(design: Any) -> bool:
    return True


_SPACE_CLASSES: dict[str, type[DesignSpace]] = {}


def register_space(cls: type[DesignSpace]) -> type[DesignSpace]:
    _SPACE_CLASSES[cls.kind] = cls
    return cls


def space_from_dict(state: dict[str, Any]) -> DesignSpace:
    """Rebuild a space saved with `to_dict()`."""
    state = dict(state)
    kind = state.pop("kind")
    if kind not in _SPACE_CLASSES:
        raise ValueError(f"unknown design space kind {kind!r}; known: {sorted(_SPACE_CLASSES)}")
    return _SPACE_CLASSES[kind](**state)
