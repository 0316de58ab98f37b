"""Expected hypervolume improvement over the offline front, as a `Surrogate` every search method can climb.

The alternative to ParEGO's scalarizations (`genmbo.models.surrogates.objectives`) for searching several
objectives: each design is valued by how much hypervolume it would add to the offline data's Pareto front,
in expectation over the objectives' ensembles,

    EHVI(z) = (1 / K) sum_k HVI(f_k(z)),    HVI(y) = sum_c prod_j max(0, min(y_j, u_cj) - l_cj)

where ``f_k`` is member ``k``'s prediction of every objective and ``[l_c, u_c]`` are the hyperrectangles
that partition the region the offline front does not dominate above the reference point (BoTorch's
`FastNondominatedPartitioning`, Lacour et al. 2017). This is qEHVI with ``q = 1`` and the ensemble's
members as its Monte Carlo samples (Daulton et al., "Differentiable Expected Hypervolume Improvement for
Parallel Multi-Objective Bayesian Optimization", NeurIPS 2020, eqs. 3-4), differentiable in ``z``.
Offline, the baseline front is measured, not predicted, so qNEHVI's integral over the baseline's posterior
(Daulton et al., NeurIPS 2021) reduces to this. Departures: the improvement is divided by the offline
hypervolume, so a design that doubles it scores 1; with constraints each member's improvement loses the
feasibility penalty of its constraint predictions (`genmbo.data.objectives`), where BoTorch's constrained
qEHVI multiplies by a smoothed feasibility indicator. `mean` and `std` are over the members, as for the
scalarizations, so the search's pessimism ``mean - kappa * std`` applies unchanged. A design the front
dominates in every member improves nothing and has no gradient: unlike a scalarization, this acquisition
is flat away from the front.
"""

from __future__ import annotations

import torch
from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning

from genmbo.metrics.pareto import hypervolume, pareto_front, reference_point
from genmbo.models.surrogates.objectives import ObjectiveSurrogates


class HypervolumeImprovement:
    """The `Surrogate` protocol's `predict` as EHVI over the measured, feasible offline front."""

    def __init__(self, objectives: ObjectiveSurrogates):
        table = objectives.table
        offline = table.feasible_values(torch.as_tensor(table.values), table.measured_feasible())
        self.objectives = objectives
        self.latent_dim = objectives.latent_dim
        self.reference = reference_point(offline)
        self.offline_hypervolume = max(hypervolume(offline, self.reference), 1e-12)
        partitioning = FastNondominatedPartitioning(ref_point=self.reference, Y=pareto_front(offline))
        self.lower, self.upper = partitioning.get_hypercell_bounds()

    def improvement(self, values: torch.Tensor) -> torch.Tensor:
        """``... x m`` maximized objective values -> ``...``: the hypervolume each adds to the offline front,
        as a share of the offline hypervolume."""
        lower, upper = self.lower.to(values), self.upper.to(values)
        sides = (torch.minimum(values.unsqueeze(-2), upper) - lower).clamp_min(0)
        return sides.prod(-1).sum(-1) / self.offline_hypervolume

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (`n` each) over the members of the improvement, less any feasibility penalty."""
        members = self.objectives.member_predictions(latents).double()
        gains = self.improvement(members)
        constraints = self.objectives.table.constraints
        if constraints is not None:
            gains = gains - constraints.penalty(self.objectives.member_constraints(latents).double())
        gains = gains.to(latents.dtype)
        return gains.mean(0), gains.std(0, correction=0)
