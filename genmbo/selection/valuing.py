"""The one model that values designs for a library: it chooses them, polishes them, ranks them and fills
their `predicted_score`.

A design is valued by the design surrogate (`genmbo.models.surrogates.design`: a surrogate of the designs'
own tokens and k-mer counts) when the pipeline trained one, else by the latent surrogate at the design's
own encoding ``E(design)``, the only kind of input that surrogate was trained on (at a search's latent
that decodes to the design it is more optimistic and less accurate: on TFBind8 the correlation with the
oracle rose from 0.07 at the latents to 0.47 at the encodings). A design already measured is valued at
its measurement, with no uncertainty. The acquisition is ``mean - kappa * std``.

With several objectives (`genmbo.models.surrogates.objectives.ObjectiveSurrogates`) the mean and std are
those of the weighted Chebyshev scalarization of the objectives (their desirability), which polishing
climbs; `predict_objectives` gives each objective's own, and the library's order (`ranking`) is
non-dominated sorting of the pessimistic objectives with the scalar acquisition breaking ties within a
front (`genmbo.selection.pareto_ranking`). With constraints, a design is feasible when the pessimistic
interval of every constraint column lies in its range (`feasible`); an infeasible design ranks after
every feasible one, by its penalized scalar acquisition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from genmbo.models.surrogates.design import DesignSurrogate
from genmbo.models.surrogates.objectives import ObjectiveSurrogates
from genmbo.models.surrogates.protocol import Surrogate
from genmbo.runtime.progress import showing_progress
from genmbo.selection.pareto_ranking import pareto_ranking
from genmbo.spaces.base import DesignSpace


class DesignValues:
    """`predict(designs)` -> (mean, std), two `n` tensors; `acquisition(mean, std)` -> `n` values."""

    def __init__(
        self,
        space: DesignSpace,
        autoencoder: Any,
        surrogate: Surrogate,
        design_surrogate: DesignSurrogate | None,
        measured: dict[Any, float],
        kappa: float,
        measured_rows: dict[Any, int] | None = None,
    ):
        self.space = space
        self.autoencoder = autoencoder
        self.surrogate = surrogate
        self.design_surrogate = design_surrogate
        self.measured = measured
        self.kappa = kappa
        self.measured_rows = measured_rows or {}

    @property
    def objectives(self) -> ObjectiveSurrogates | None:
        """The objectives' surrogates of a multi-objective run, else None."""
        return self.surrogate if isinstance(self.surrogate, ObjectiveSurrogates) else None

    def predict(
        self, designs: Sequence[Any], latents: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (`n` each); `latents`, the designs' encodings when the caller has them already."""
        if not designs:
            return torch.zeros(0), torch.zeros(0)
        with torch.no_grad(), showing_progress(False):
            if self.design_surrogate is not None:
                mean, std = self.design_surrogate.predict(designs)
            else:
                mean, std = self.surrogate.predict(self.encode(designs) if latents is None else latents)
        return self._with_measurements(designs, mean, std, self.measured.get)

    def acquisition(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        return mean - self.kappa * std

    def predict_objectives(
        self, designs: Sequence[Any], latents: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each objective's mean and std (`n x m` each, maximized) at the designs' encodings (`latents`,
        when the caller has them); a measured design's are its measurements (`measured_rows`: the row of
        the surrogates' table by design key), with no uncertainty. Only for a multi-objective run."""
        objectives = self._objectives()
        return self._table_predictions(
            designs, latents, objectives.predict_objectives, objectives.table.values
        )

    def predict_targets(
        self, designs: Sequence[Any], latents: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As `predict_objectives`, each objective's column before any desirability (oriented)."""
        objectives = self._objectives()
        return self._table_predictions(
            designs, latents, objectives.predict_targets, objectives.table.surrogate_targets
        )

    def predict_constraints(
        self, designs: Sequence[Any], latents: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As `predict_objectives`, each constraint column's mean and std (`n x c`, the data's units)."""
        objectives = self._objectives()
        constraints = objectives.table.constraints
        assert constraints is not None, "predict_constraints needs constraints"
        return self._table_predictions(designs, latents, objectives.predict_constraints, constraints.values)

    def feasible(self, designs: Sequence[Any], latents: torch.Tensor | None = None) -> torch.Tensor | None:
        """`n`: whether each design is feasible on its pessimistic constraint predictions; None without
        constraints."""
        constraints = self._objectives().table.constraints
        if constraints is None:
            return None
        mean, std = self.predict_constraints(designs, latents)
        return constraints.feasible(mean, std, self.kappa)

    def pessimistic_objectives(
        self, designs: Sequence[Any], latents: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`n x m`: ``mean - kappa * std`` of each objective, ``-inf`` for an infeasible design: what the
        non-dominated sort compares."""
        mean, std = self.predict_objectives(designs, latents)
        table = self._objectives().table
        return table.feasible_values(mean - self.kappa * std, self.feasible(designs, latents))

    def ranking(self, designs: Sequence[Any]) -> torch.Tensor:
        """The value the library is chosen and ordered by (higher is better): the acquisition, or with
        several objectives the front of the pessimistic objectives (feasible designs first) with the
        acquisition breaking ties."""
        if self.objectives is None:
            return self.acquisition(*self.predict(designs))
        latents = self.encode(designs) if designs else None  # one encoding serves every prediction
        acquisition = self.acquisition(*self.predict(designs, latents))
        return pareto_ranking(self.pessimistic_objectives(designs, latents), acquisition)

    def _objectives(self) -> ObjectiveSurrogates:
        objectives = self.objectives
        assert objectives is not None, "objective predictions need the objectives' surrogates"
        return objectives

    def _table_predictions(
        self,
        designs: Sequence[Any],
        latents: torch.Tensor | None,
        predict: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
        measured: np.ndarray,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`predict` at the designs' encodings, a measured design's row of `measured` in its place."""
        width = measured.shape[1]
        if not designs:
            return torch.zeros(0, width), torch.zeros(0, width)
        with torch.no_grad():
            mean, std = predict(self.encode(designs) if latents is None else latents)
        rows = self.measured_rows

        def lookup(key: Any) -> np.ndarray | None:
            row = rows.get(key)
            return None if row is None else measured[row]

        return self._with_measurements(designs, mean, std, lookup)

    def _with_measurements(
        self,
        designs: Sequence[Any],
        mean: torch.Tensor,
        std: torch.Tensor,
        lookup: Callable[[Any], Any],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """CPU float copies of `mean` and `std` with each measured design's rows replaced by its
        measurement (`lookup` of its design key, None when unmeasured) and no uncertainty."""
        mean, std = mean.detach().float().cpu().clone(), std.detach().float().cpu().clone()
        for row, design in enumerate(designs):
            value = lookup(self.space.key(design))
            if value is not None:
                mean[row], std[row] = torch.as_tensor(value, dtype=torch.float32), 0.0
        return mean, std

    def encode(self, designs: Sequence[Any]) -> torch.Tensor:
        """The designs' latent codes (`n x d`, float32)."""
        with torch.no_grad(), showing_progress(False):
            return self.autoencoder.encode_designs(list(designs)).float()
