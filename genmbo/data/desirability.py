"""Desirability transforms: a measured property mapped to [0, 1], where 1 is what the campaign wants.

A desirability function (Harrington, Industrial Quality Control 1965; Derringer & Suich, J. Quality
Technology 1980) turns a property whose good values are a direction, a threshold or a window into one
number to maximize. genmbo uses the forms of REINVENT4's score transforms (Loeffler et al., J.
Cheminformatics 2024, Sec. "Scoring"; its `transforms` package), with the same parameters, so a REINVENT4
scoring component's transform carries over:

- ``sigmoid(low, high, k)``: ``1 / (1 + 10^(-10 k (x - (low + high) / 2) / (high - low)))``, rising from
  about 0 at `low` to about 1 at `high` (0.003 and 0.997 at the default ``k = 0.5``);
- ``reverse_sigmoid(low, high, k)``: ``1 - sigmoid``, for lower is better;
- ``double_sigmoid(low, high, coef_div, coef_si, coef_se)``: a window, about 1 between `low` and `high`:
  ``a / (a + 10^(coef_se low / coef_div)) - c / (c + 10^(coef_si high / coef_div))`` with
  ``a = 10^(coef_se x / coef_div)``, ``c = 10^(coef_si x / coef_div)``, clipped to [0, 1];
- ``step(low, high)``: 1 inside ``[low, high]`` (either end may be open), else 0.

Each is written as `torch.sigmoid` of a scaled difference (``10^a / (10^a + 10^b) = sigmoid(ln 10 (a -
b))``), which is exact and does not overflow, and is differentiable, so a search can climb a desirability
of a surrogate's prediction. A step has no gradient: a search sees it only through the ensemble's members
(the share of members inside the window moves as the design does), so a sigmoid suits search better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

KINDS = ("sigmoid", "reverse_sigmoid", "double_sigmoid", "step")
Kind = Literal["sigmoid", "reverse_sigmoid", "double_sigmoid", "step"]
LN10 = math.log(10.0)


@dataclass(frozen=True)
class Desirability:
    """One transform of the module docstring; `describe()` gives its parameters for metrics.json."""

    kind: Kind
    low: float | None = None
    high: float | None = None
    k: float = 0.5
    coef_div: float = 100.0
    coef_si: float = 150.0
    coef_se: float = 150.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown desirability {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.kind == "step":
            if self.low is None and self.high is None:
                raise ValueError("a step needs low, high or both")
            if self.low is not None and self.high is not None and self.low > self.high:
                raise ValueError(f"a step needs low <= high, got {self.low} > {self.high}")
            return
        if self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(f"{self.kind} needs low < high, got low {self.low}, high {self.high}")
        if self.kind == "double_sigmoid" and self.coef_div <= 0:
            raise ValueError(f"double_sigmoid needs coef_div > 0, got {self.coef_div}")

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """The desirability of each value (same shape, in [0, 1])."""
        if self.kind == "step":
            inside = torch.ones_like(values, dtype=torch.bool)
            if self.low is not None:
                inside &= values >= self.low
            if self.high is not None:
                inside &= values <= self.high
            return inside.to(values.dtype)
        assert self.low is not None and self.high is not None
        if self.kind == "double_sigmoid":
            rising = torch.sigmoid(LN10 * self.coef_se * (values - self.low) / self.coef_div)
            falling = torch.sigmoid(LN10 * self.coef_si * (values - self.high) / self.coef_div)
            return (rising - falling).clamp(0.0, 1.0)
        middle, width = (self.low + self.high) / 2, self.high - self.low
        rising = torch.sigmoid(LN10 * 10 * self.k * (values - middle) / width)
        return rising if self.kind == "sigmoid" else 1.0 - rising

    def describe(self) -> dict[str, object]:
        figures: dict[str, object] = {"kind": self.kind, "low": self.low, "high": self.high}
        if self.kind in ("sigmoid", "reverse_sigmoid"):
            figures["k"] = self.k
        elif self.kind == "double_sigmoid":
            figures |= {"coef_div": self.coef_div, "coef_si": self.coef_si, "coef_se": self.coef_se}
        return figures
