"""Several measured objectives of one campaign: their table, orientation, weights and one scalar summary.

A multi-objective dataset keeps an `n x m` table of objective values, every one oriented so that higher is
better (a minimized objective enters negated, as a single score does), in `ObjectiveTable`. Code that
needs one number per design (the best offline designs a search starts from, DDOM's conditioning, D(best))
reads the dataset's `scores`, which for several objectives are their **augmented Chebyshev
scalarization** with the user's weights:

    s(y) = min_j w_j * u_j(y) + rho * sum_j w_j * u_j(y),    u_j(y) = (y_j - low_j) / (high_j - low_j)

the maximizing form of ParEGO's eq. 2 (Knowles, IEEE Trans. Evol. Comput. 2006: ``max_j w_j f_j + rho
sum_j w_j f_j`` for minimized ``f``, ``rho = 0.05``), with each objective scaled to [0, 1] over the
offline data (``low``, ``high``: its smallest and largest offline value). Unlike a weighted sum, a
Chebyshev scalarization reaches designs on concave parts of a Pareto front, and each weight vector picks
out its own region of the front. BoTorch's `get_chebyshev_scalarization` is the same function for one
weight vector; `chebyshev` takes one weight vector per row, which is what lets a search spread its pool
along the front (`genmbo.models.surrogates.objectives`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genmbo.errors import ConfigError

# ParEGO's augmentation weight (Knowles 2006, Sec. III-B): the small linear term breaks ties between
# designs with equal worst objective, so weakly dominated designs never score as well as their dominators.
AUGMENTATION = 0.05
DIRECTIONS = ("max", "min")


def parse_objective(text: str) -> dict[str, str]:
    """``"COLUMN:max"`` or ``"COLUMN:min"`` (the command line's `--objective`) as a config mapping."""
    column, separator, direction = text.rpartition(":")
    if not separator or not column or direction not in DIRECTIONS:
        raise ConfigError(f"--objective {text!r}: write COLUMN:max or COLUMN:min, e.g. --objective ic50:min")
    return {"column": column, "direction": direction}


def chebyshev(
    utilities: torch.Tensor, weights: torch.Tensor, augmentation: float = AUGMENTATION
) -> torch.Tensor:
    """The augmented Chebyshev scalarization (module docstring) of ``... x n x m`` utilities, with `weights`
    of shape ``m`` or ``n x m`` (one weight vector per row); returns ``... x n``."""
    weighted = utilities * weights.to(utilities)
    return weighted.min(-1).values + augmentation * weighted.sum(-1)


def normalized_weights(weights: Sequence[float]) -> np.ndarray:
    """The user's weights scaled to sum to 1 (the scalarization's own scale does not depend on them)."""
    values = np.asarray(weights, dtype=np.float64)
    return values / values.sum()


@dataclass
class ObjectiveTable:
    """`values`: `n x m`, each column an objective with higher better (minimized ones negated);
    `names`, `minimize`: per objective; `weights`: `m`, summing to 1; `low`, `high`: `m`, the offline
    range that scales each objective to [0, 1] in the scalarization (kept when rows are subset, so the
    scalar scores of a design do not change with the rows around it)."""

    names: tuple[str, ...]
    minimize: tuple[bool, ...]
    weights: np.ndarray
    values: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def from_measurements(
        cls, names: Sequence[str], minimize: Sequence[bool], weights: Sequence[float], measured: np.ndarray
    ) -> ObjectiveTable:
        """The table of `measured` values (`n x m`, the user's own orientation)."""
        sign = np.where(np.asarray(minimize), -1.0, 1.0)
        values = np.asarray(measured, dtype=np.float64) * sign
        return cls(
            tuple(names), tuple(minimize), normalized_weights(weights), values, values.min(0), values.max(0)
        )

    @property
    def count(self) -> int:
        return len(self.names)

    def utilities(self, values: torch.Tensor) -> torch.Tensor:
        """``... x m`` maximized values scaled by the offline range (0 at its worst, 1 at its best)."""
        low = torch.as_tensor(self.low, dtype=values.dtype, device=values.device)
        span = torch.as_tensor(self.high - self.low, dtype=values.dtype, device=values.device)
        return (values - low) / span.clamp_min(1e-12)

    def scalarized(self, values: np.ndarray | None = None) -> np.ndarray:
        """The weighted Chebyshev scalarization of `values` (`n x m`, maximized; default: the table's)."""
        values = self.values if values is None else values
        utilities = self.utilities(torch.as_tensor(values, dtype=torch.float64))
        return chebyshev(utilities, torch.as_tensor(self.weights)).numpy()

    def reported(self, values: np.ndarray | torch.Tensor) -> np.ndarray:
        """Maximized `n x m` values back in the user's orientation."""
        sign = np.where(np.asarray(self.minimize), -1.0, 1.0)
        return np.asarray(values, dtype=np.float64) * sign

    def maximized(self, measured: np.ndarray) -> np.ndarray:
        """`n x m` values in the user's orientation turned to higher-is-better (the inverse of `reported`)."""
        return self.reported(measured)  # negating the minimized columns is its own inverse

    def rows(self, indices: np.ndarray) -> ObjectiveTable:
        """The table of these rows, scaled as this one (a design's scalar score does not change)."""
        return ObjectiveTable(
            self.names, self.minimize, self.weights, self.values[indices], self.low, self.high
        )

    def rescaled_rows(self, indices: np.ndarray) -> ObjectiveTable:
        """The table of these rows scaled by their own range, as if they were all that was measured."""
        measured = self.reported(self.values[indices])
        return ObjectiveTable.from_measurements(self.names, self.minimize, self.weights, measured)

    def describe(self) -> list[dict[str, object]]:
        """Each objective's name, direction and weight, for metrics.json."""
        return [
            {"column": name, "direction": "min" if minimize else "max", "weight": float(weight)}
            for name, minimize, weight in zip(self.names, self.minimize, self.weights, strict=True)
        ]
