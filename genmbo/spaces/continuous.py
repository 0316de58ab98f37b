"""Real vectors of a fixed dimension, with optional box bounds.

Models see standardized vectors, ``(x - mean) / std`` with statistics fitted on the offline data
(`fit`), and `decode` inverts that and clips to the bounds, so every decoded design is inside the box.
A design is a tuple of floats so that it can be hashed for duplicate detection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from genmbo.errors import InvalidDesign
from genmbo.spaces.base import DesignSpace, register_space


@register_space
class ContinuousSpace(DesignSpace):
    """`dim`-dimensional real vectors, optionally inside ``lower <= x <= upper`` (elementwise)."""

    kind = "continuous"

    def __init__(
        self,
        dim: int,
        lower: Sequence[float] | float | None = None,
        upper: Sequence[float] | float | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ):
        if dim < 1:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.dim = int(dim)
        self.lower = self._per_dimension(lower, "lower")
        self.upper = self._per_dimension(upper, "upper")
        if self.lower is not None and self.upper is not None and np.any(self.lower >= self.upper):
            raise ValueError("every lower bound must be below its upper bound")
        self.mean = self._per_dimension(mean, "mean") if mean is not None else np.zeros(self.dim)
        self.std = self._per_dimension(std, "std") if std is not None else np.ones(self.dim)
        if np.any(self.std <= 0):
            raise ValueError("standard deviations must be positive")

    def _per_dimension(self, values: Sequence[float] | float | None, name: str) -> np.ndarray | None:
        if values is None:
            return None
        array = np.broadcast_to(np.asarray(values, dtype=np.float64), (self.dim,)).copy()
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite")
        return array

    def fit(self, designs: Sequence[Sequence[float]]) -> ContinuousSpace:
        """A copy of this space standardized by the mean and standard deviation of `designs`."""
        data = np.asarray(designs, dtype=np.float64).reshape(-1, self.dim)
        std = data.std(axis=0)
        # A constant coordinate keeps unit scale instead of dividing by zero.
        std = np.where(std > 1e-12, std, 1.0)
        return ContinuousSpace(self.dim, self._list(self.lower), self._list(self.upper), data.mean(0), std)

    def parse(self, raw: Any) -> tuple[float, ...]:
        if isinstance(raw, str):
            raw = raw.replace(",", " ").split()
        try:
            vector = np.asarray(raw, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidDesign("not a numeric vector", repr(raw)[:60]) from None
        if vector.shape[0] != self.dim:
            raise InvalidDesign("wrong vector dimension", f"{vector.shape[0]} instead of {self.dim}")
        if not np.all(np.isfinite(vector)):
            raise InvalidDesign("NaN or infinite coordinate")
        if (self.lower is not None and np.any(vector < self.lower)) or (
            self.upper is not None and np.any(vector > self.upper)
        ):
            raise InvalidDesign("outside the bounds")
        return tuple(vector.tolist())

    def encode(self, designs: Sequence[Sequence[float]]) -> torch.Tensor:
        """A `n x dim` float tensor of standardized vectors."""
        data = np.asarray(designs, dtype=np.float64).reshape(-1, self.dim)
        return torch.from_numpy((data - self.mean) / self.std).float()

    def decode(self, encoded: torch.Tensor) -> list[tuple[float, ...]]:
        data = encoded.detach().double().cpu().numpy().reshape(-1, self.dim) * self.std + self.mean
        if self.lower is not None or self.upper is not None:
            data = np.clip(data, self.lower, self.upper)
        return [tuple(row) for row in data.tolist()]

    def key(self, design: Any) -> tuple[float, ...]:
        """The design to 6 significant digits: models see float32 (about 7 digits), so a design that went
        through the encoder and back is still the same design (for duplicates and novelty)."""
        return tuple(float(f"{value:.6g}") for value in design)

    def format(self, design: Any) -> str:
        return " ".join(f"{value:.8g}" for value in design)

    @staticmethod
    def _list(values: np.ndarray | None) -> list[float] | None:
        return None if values is None else values.tolist()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dim": self.dim,
            "lower": self._list(self.lower),
            "upper": self._list(self.upper),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }
