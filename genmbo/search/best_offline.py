"""D(best): the best designs already in the offline data, the reference row of every results table.

Design-Bench reports it as "D(best)", the highest score in the offline dataset (Trabucco et al., ICML
2022, Table 1 and Sec. 5); a method is only useful if it proposes designs beating it. Here it returns the
top `budget` offline designs themselves (with their latents), which the pipeline keeps though they are
offline (`proposes_offline_designs`) and values at their measured scores.
Departure: with fewer offline designs than the budget, they are repeated (best first) rather than padded
with new designs, which would no longer be "the offline data".
"""

from __future__ import annotations

import torch

from genmbo.search.base import Candidates, SearchMethod, SearchProblem


class BestOffline(SearchMethod):
    """The top `budget` offline latents, best first. Needs neither the surrogate nor the prior."""

    name = "best_offline"
    proposes_offline_designs = True

    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x d` float32 tensor; deterministic (the generator is unused)."""
        top = problem.top_latents(budget).float()
        return top[torch.arange(budget, device=top.device) % top.shape[0]].clone()

    def candidates(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> Candidates:
        """The call's latents and, when the problem has its offline designs, those designs."""
        latents = self(problem, budget, generator)
        if problem.designs is None:
            return Candidates(latents)
        order = torch.argsort(problem.scores, descending=True, stable=True)[:budget].tolist()
        return Candidates(latents, [problem.designs[order[row % len(order)]] for row in range(budget)])
