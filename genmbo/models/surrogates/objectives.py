"""Surrogates of a multi-objective campaign: one deep ensemble per objective, searched through ParEGO.

`ObjectiveSurrogates` holds an `EnsembleSurrogate` per objective (`fit_objective_surrogates`, each on
its own column of the offline table, with the same seed and so the same held-out rows) and answers the
`Surrogate` protocol with the augmented Chebyshev scalarization of the objectives
(`genmbo.data.objectives.chebyshev`), so every search method runs on several objectives unchanged:

- `predict_objectives(latents)`: each objective's mean and std over the members (`n x m` each), a
  desirability applied to each member's prediction of its column; `predict_targets` the same before any
  desirability, `predict_constraints` the constraint columns' (one ensemble per constraint too);
- `predict(latents)`: the scalarization's mean and std over the ensembles' members, less the feasibility
  penalty of the members' constraint predictions (`genmbo.data.objectives`). Member ``k`` of every
  ensemble is read as one joint draw of all columns, and the scalarization is applied to each draw before
  averaging, as qNParEGO applies it to posterior samples (Daulton et al., NeurIPS 2020, Sec. 5; BoTorch's
  `qNParEGO`), not to the means;
- `spread(count, seed)`: the same surrogates with ``count`` weight vectors drawn uniformly from the simplex
  (Sobol points mapped to it, BoTorch's `sample_simplex`), tilted by the user's weights; row ``i`` of any
  batch is scalarized with weight vector ``i mod count``. This is ParEGO's random scalarization (Knowles,
  IEEE Trans. Evol. Comput. 2006, Sec. III) made parallel: ParEGO draws one weight vector per iteration of
  a sequential campaign; an offline campaign searches its whole pool at once, so each pool sample climbs
  its own scalarization and the pool spreads along the predicted front.

Departure from ParEGO: no DACE Gaussian process is fitted to the scalarized values; the ensembles model
the objectives themselves and the scalarization is applied to their predictions, as in qNParEGO.
Searching the expected hypervolume improvement over the offline front instead (qEHVI, Daulton et al.,
NeurIPS 2020) lost to this on every multi-objective task (`docs/BENCHMARKS.md`, "ParEGO against expected
hypervolume improvement"): it is flat wherever a design is predicted under the front.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from botorch.utils.sampling import sample_simplex

from genmbo.config import SurrogateConfig
from genmbo.data.objectives import ObjectiveTable, chebyshev
from genmbo.errors import ConfigError
from genmbo.models.surrogates.ensemble import EnsembleSurrogate, fit_surrogate


class ObjectiveSurrogates:
    """The objectives' ensembles, the constraints' ensembles, and the weight vectors (`w x m`) their
    scalarization uses, row by row."""

    def __init__(
        self,
        surrogates: Sequence[EnsembleSurrogate],
        table: ObjectiveTable,
        weights: torch.Tensor | None = None,
        constraint_surrogates: Sequence[EnsembleSurrogate] = (),
    ):
        if len(surrogates) != table.count:
            raise ValueError(f"{len(surrogates)} surrogates for {table.count} objectives")
        constraints = table.constraints.constraints if table.constraints is not None else ()
        if len(constraint_surrogates) != len(constraints):
            raise ValueError(f"{len(constraint_surrogates)} surrogates for {len(constraints)} constraints")
        if len({surrogate.members for surrogate in [*surrogates, *constraint_surrogates]}) != 1:
            raise ValueError("the objectives' ensembles must have the same number of members")
        self.surrogates = list(surrogates)
        self.constraint_surrogates = list(constraint_surrogates)
        self.table = table
        default = torch.as_tensor(table.weights, dtype=torch.float64)
        self.weights = (default if weights is None else weights.double()).reshape(-1, table.count)
        self.latent_dim = surrogates[0].latent_dim

    def member_targets(self, latents: torch.Tensor) -> torch.Tensor:
        """Each member's prediction of every objective's column: `K x n x m`, oriented, before any
        desirability, in the data's units."""
        return torch.stack([surrogate.predict_members(latents) for surrogate in self.surrogates], -1)

    def member_predictions(self, latents: torch.Tensor) -> torch.Tensor:
        """Each member's prediction of every objective: `K x n x m`, maximized (desirabilities applied)."""
        return self.table.objective_values(self.member_targets(latents))

    def member_constraints(self, latents: torch.Tensor) -> torch.Tensor:
        """Each member's prediction of every constraint column: `K x n x c`, in the data's units."""
        return torch.stack(
            [surrogate.predict_members(latents) for surrogate in self.constraint_surrogates], -1
        )

    def predict_objectives(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each objective's mean and std over the members (`n x m` each, maximized)."""
        return _mean_std(self.member_predictions(latents))

    def predict_targets(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each objective's column, mean and std before any desirability (`n x m` each, oriented)."""
        return _mean_std(self.member_targets(latents))

    def predict_constraints(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each constraint column's mean and std (`n x c` each, the data's units)."""
        return _mean_std(self.member_constraints(latents))

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (`n` each) over the members of the scalarized objectives less the feasibility
        penalty; differentiable."""
        members = self.member_predictions(latents)
        utilities = self.table.utilities(members)
        rows = torch.arange(members.shape[1], device=members.device) % self.weights.shape[0]
        scalarized = chebyshev(utilities, self.weights.to(members.device)[rows])
        if self.table.constraints is not None:
            scalarized = scalarized - self.table.constraints.penalty(self.member_constraints(latents))
        return _mean_std(scalarized)

    def spread(self, count: int, seed: int) -> ObjectiveSurrogates:
        """The same surrogates with `count` simplex weight vectors tilted by the user's weights."""
        draws = sample_simplex(self.table.count, count, qmc=True, seed=seed, dtype=torch.float64)
        tilted = draws * torch.as_tensor(self.table.weights, dtype=torch.float64)
        weights = tilted / tilted.sum(-1, keepdim=True)
        return ObjectiveSurrogates(self.surrogates, self.table, weights, self.constraint_surrogates)

    @property
    def trust(self) -> dict[str, Any] | None:
        """Each objective's and constraint's held-out trust figures by column (None when any surrogate
        was loaded)."""
        figures = [surrogate.trust for surrogate in [*self.surrogates, *self.constraint_surrogates]]
        if any(figure is None for figure in figures):
            return None
        names = [*self.table.names, *(self.table.constraints.names if self.table.constraints else ())]
        return dict(zip(names, figures, strict=True))


def _mean_std(members: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return members.mean(0), members.std(0, correction=0)


def fit_objective_surrogates(
    latents: torch.Tensor, table: ObjectiveTable, config: SurrogateConfig, folder: Path, seed: int = 0
) -> ObjectiveSurrogates:
    """One `fit_surrogate` per objective column (`folder/objective_<j>/surrogate.ckpt`) and per constraint
    column (`folder/constraint_<k>/`)."""
    if config.checkpoint is not None:
        raise ConfigError(
            "surrogate.checkpoint loads one surrogate; a run of several objectives trains one each"
        )

    def fitted(targets: Any, name: str) -> EnsembleSurrogate:
        scores = torch.as_tensor(targets, dtype=torch.float32)
        return fit_surrogate(latents, scores, config, folder / name, seed=seed).eval()

    targets = table.surrogate_targets
    surrogates = [fitted(targets[:, j], f"objective_{j}") for j in range(table.count)]
    constrained = table.constraints.values if table.constraints is not None else np.zeros((len(latents), 0))
    constraint_surrogates = [
        fitted(constrained[:, k], f"constraint_{k}") for k in range(constrained.shape[1])
    ]
    return ObjectiveSurrogates(surrogates, table, None, constraint_surrogates)
