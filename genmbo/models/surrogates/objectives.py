"""Surrogates of a multi-objective campaign: one deep ensemble per objective, searched through ParEGO.

`ObjectiveSurrogates` holds an `EnsembleSurrogate` per objective (`fit_objective_surrogates`, each on
its own column of the offline table, with the same seed and so the same held-out rows) and answers the
`Surrogate` protocol with the augmented Chebyshev scalarization of the objectives
(`genmbo.data.objectives.chebyshev`), so every search method runs on several objectives unchanged:

- `predict_objectives(latents)`: each objective's ensemble mean and std (`n x m` each);
- `predict(latents)`: the scalarization's mean and std over the ensembles' members. Member ``k`` of every
  objective's ensemble is read as one joint draw of all objectives, and the scalarization is applied to
  each draw before averaging, as qNParEGO applies it to posterior samples (Daulton et al., NeurIPS 2020,
  Sec. 5; BoTorch's `qNParEGO`), not to the means;
- `spread(count, seed)`: the same surrogates with ``count`` weight vectors drawn uniformly from the simplex
  (Sobol points mapped to it, BoTorch's `sample_simplex`), tilted by the user's weights; row ``i`` of any
  batch is scalarized with weight vector ``i mod count``. This is ParEGO's random scalarization (Knowles,
  IEEE Trans. Evol. Comput. 2006, Sec. III) made parallel: ParEGO draws one weight vector per iteration of
  a sequential campaign; an offline campaign searches its whole pool at once, so each pool sample climbs
  its own scalarization and the pool spreads along the predicted front.

Departure from ParEGO: no DACE Gaussian process is fitted to the scalarized values; the ensembles model
the objectives themselves and the scalarization is applied to their predictions, as in qNParEGO.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from botorch.utils.sampling import sample_simplex

from genmbo.config import SurrogateConfig
from genmbo.data.objectives import ObjectiveTable, chebyshev
from genmbo.errors import ConfigError
from genmbo.models.surrogates.ensemble import EnsembleSurrogate, fit_surrogate


class ObjectiveSurrogates:
    """The objectives' ensembles and the weight vectors (`w x m`) their scalarization uses, row by row."""

    def __init__(
        self,
        surrogates: Sequence[EnsembleSurrogate],
        table: ObjectiveTable,
        weights: torch.Tensor | None = None,
    ):
        if len(surrogates) != table.count:
            raise ValueError(f"{len(surrogates)} surrogates for {table.count} objectives")
        if len({surrogate.members for surrogate in surrogates}) != 1:
            raise ValueError("the objectives' ensembles must have the same number of members")
        self.surrogates = list(surrogates)
        self.table = table
        default = torch.as_tensor(table.weights, dtype=torch.float64)
        self.weights = (default if weights is None else weights.double()).reshape(-1, table.count)
        self.latent_dim = surrogates[0].latent_dim

    def member_predictions(self, latents: torch.Tensor) -> torch.Tensor:
        """Each member's prediction of every objective: `K x n x m`, maximized, in the data's units."""
        return torch.stack([surrogate.predict_members(latents) for surrogate in self.surrogates], -1)

    def predict_objectives(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each objective's ensemble mean and std (`n x m` each, maximized)."""
        members = self.member_predictions(latents)
        return members.mean(0), members.std(0, correction=0)

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (`n` each) over the members of the scalarized objectives; differentiable."""
        members = self.member_predictions(latents)
        utilities = self.table.utilities(members)
        rows = torch.arange(members.shape[1], device=members.device) % self.weights.shape[0]
        scalarized = chebyshev(utilities, self.weights.to(members.device)[rows])
        return scalarized.mean(0), scalarized.std(0, correction=0)

    def spread(self, count: int, seed: int) -> ObjectiveSurrogates:
        """The same surrogates with `count` simplex weight vectors tilted by the user's weights."""
        draws = sample_simplex(self.table.count, count, qmc=True, seed=seed, dtype=torch.float64)
        tilted = draws * torch.as_tensor(self.table.weights, dtype=torch.float64)
        return ObjectiveSurrogates(self.surrogates, self.table, tilted / tilted.sum(-1, keepdim=True))

    @property
    def trust(self) -> dict[str, Any] | None:
        """Each objective's held-out trust figures by name (None when any surrogate was loaded)."""
        figures = [surrogate.trust for surrogate in self.surrogates]
        if any(figure is None for figure in figures):
            return None
        return dict(zip(self.table.names, figures, strict=True))


def fit_objective_surrogates(
    latents: torch.Tensor, table: ObjectiveTable, config: SurrogateConfig, folder: Path, seed: int = 0
) -> ObjectiveSurrogates:
    """One `fit_surrogate` per objective column, saved as `folder/objective_<j>/surrogate.ckpt`."""
    if config.checkpoint is not None:
        raise ConfigError(
            "surrogate.checkpoint loads one surrogate; a run of several objectives trains one each"
        )
    surrogates = [
        fit_surrogate(
            latents,
            torch.as_tensor(table.values[:, column], dtype=torch.float32),
            config,
            folder / f"objective_{column}",
            seed=seed,
        ).eval()
        for column in range(table.count)
    ]
    return ObjectiveSurrogates(surrogates, table)
