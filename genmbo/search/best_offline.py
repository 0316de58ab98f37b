"""D(best): the best designs already in the offline data, the reference row of every results table.

Design-Bench reports it as "D(best)", the highest score in the offline dataset (Trabucco et al., ICML
2022, Table 1 and Sec. 5); a method is only useful if it proposes designs beating it. Here it returns the
latents of the top `budget` offline designs, so the campaign decodes and scores them like any method's.
Departure: with fewer offline designs than the budget, they are repeated (best first) rather than padded
with new designs, which would no longer be "the offline data".
"""

from __future__ import annotations

import torch

from genmbo.search.base import SearchMethod, SearchProblem


class BestOffline(SearchMethod):
    """The top `budget` offline latents, best first. Needs neither the surrogate nor the prior."""

    name = "best_offline"

    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x d` float32 tensor; deterministic (the generator is unused)."""
        top = problem.top_latents(budget).float()
        return top[torch.arange(budget, device=top.device) % top.shape[0]].clone()
