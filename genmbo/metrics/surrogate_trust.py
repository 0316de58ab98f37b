"""How far a surrogate can be trusted: its ranking and its calibration on designs it never trained on.

A library is only as good as the surrogate that chose it. `SurrogateTrust` accumulates a surrogate's
predictions (mean and std) and the measured scores of held-out designs and computes

- ``spearman``: Spearman's rank correlation of the predicted means with the measured scores (does the
  surrogate order designs it has not seen?);
- ``within_1_std``, ``within_2_std``: the shares of measured scores inside ``mean +- std`` and
  ``mean +- 2 std``; a Gaussian predictive with honest std gives about 68% and 95%. The deep ensemble's std
  is epistemic only (`genmbo.models.surrogates.ensemble`), so shares well below those say the std
  understates the error on held-out designs;
- ``std_scale``: by how much the std must be widened to cover 68.27% of the held-out scores, the split
  conformal quantile of the normalized residuals ``|y - mean| / std`` (Lei, G'Sell, Rinaldo, Tibshirani &
  Wasserman, JASA 2018, Sec. 2.2, with the locally weighted scores of their Sec. 5.2): the
  ``ceil((n + 1) * 0.6827)``-th smallest of the `n` held-out ones. For a new design exchangeable with the
  held-out rows, ``mean +- std_scale * std`` then holds its score with probability at least 68.27%. An
  honest std gives about 1; it is None when ``n + 1`` rows are too few for that rank (under 3 rows) or a
  std is 0;
- ``better_than_chance``: whether the correlation is positive at the 5% level, one-sided, by the Fisher
  transform of Spearman's rho with Fieller, Hartley and Pearson's variance ``1.06 / (n - 3)`` (Biometrika
  1957); with fewer than 4 rows nothing can be said and it is false.

When it is false, the summary of `genmbo design` warns that the library is a guess.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torchmetrics import Metric
from torchmetrics.functional import spearman_corrcoef

# One-sided 5% critical value of the standard normal.
Z_CRITICAL = 1.6449
# The share of a standard normal within one standard deviation of its mean.
ONE_SIGMA_COVERAGE = 0.6827


class SurrogateTrust(Metric):
    """Held-out ranking and calibration of a surrogate: `update(mean, std, scores)`, `n` rows each."""

    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in ("mean", "std", "scores"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, mean: torch.Tensor, std: torch.Tensor, scores: torch.Tensor) -> None:
        self.mean.append(mean.detach().double().flatten())
        self.std.append(std.detach().double().flatten())
        self.scores.append(scores.detach().double().flatten().to(self.mean[-1].device))

    def compute(self) -> dict[str, Any]:
        mean, std, scores = (_cat(values) for values in (self.mean, self.std, self.scores))
        rows = int(scores.numel())
        if rows < 2:  # None, not NaN: the figures go to JSON
            return {
                "rows": rows,
                "spearman": None,
                "within_1_std": None,
                "within_2_std": None,
                "std_scale": None,
                "better_than_chance": False,
            }
        error = (scores - mean).abs()
        rho = float(spearman_corrcoef(mean, scores)) if float(mean.std()) > 0 else 0.0
        return {
            "rows": rows,
            "spearman": rho,
            "within_1_std": float((error <= std).double().mean()),
            "within_2_std": float((error <= 2 * std).double().mean()),
            "std_scale": conformal_std_scale(error, std),
            "better_than_chance": better_than_chance(rho, rows),
        }


def conformal_std_scale(error: torch.Tensor, std: torch.Tensor, coverage: float = ONE_SIGMA_COVERAGE):
    """The split-conformal factor ``q`` such that ``|error| <= q * std`` holds for a new exchangeable row
    with probability at least `coverage`: the ``ceil((n + 1) * coverage)``-th smallest ``error / std`` of
    the `n` rows; None when that rank exceeds `n` or a std is not positive."""
    rank = math.ceil((error.numel() + 1) * coverage)
    if rank > error.numel() or not bool((std > 0).all()):
        return None
    return float(torch.sort(error / std).values[rank - 1])


def better_than_chance(rho: float, rows: int) -> bool:
    """Whether Spearman's `rho` over `rows` pairs is positive at the one-sided 5% level."""
    if rows < 4 or not math.isfinite(rho):
        return False
    clipped = min(rho, 1 - 1e-12)
    return math.atanh(clipped) * math.sqrt((rows - 3) / 1.06) > Z_CRITICAL


def _cat(values: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values
    return torch.cat(values) if values else torch.zeros(0, dtype=torch.float64)
