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

An objective may instead be a **desirability** of its column (`genmbo.data.desirability`: a sigmoid, a
window, a step), maximized: its surrogate models the measured column and the transform is applied to each
prediction, so the ensemble's spread passes through the transform; it is scaled by its own range, [0, 1],
not by the data's (data that never reach a step's window would give a span near zero). A column may
also be a **constraint**, a range its value must lie in. Constraints follow Deb's feasibility rule (Deb,
"An efficient constraint handling method for genetic algorithms", Comput. Methods Appl. Mech. Eng. 2000,
Sec. 3; NSGA-II's constrained domination, Deb et al. 2002, Sec. VI): any feasible design is preferred to
any infeasible one, and among infeasible designs the smaller violation is preferred. In the scalar score
this is a penalty,

    s_c(y, g) = s(y) - [v(g) > 0] * (1 + rho + v(g)),    v(g) = sum_k dist(g_k, [low_k, high_k]) / span_k

with ``span_k`` the constraint column's offline range: ``s`` spans at most ``[0, 1 + rho]`` over the
data, so an infeasible design scores below every feasible one in the data's range, and a search still
gets the gradient of its violation. Where designs are compared on their objectives (the Pareto ranking,
the hypervolume), an infeasible design's objectives are ``-inf``: it joins no front and adds no volume.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genmbo.data.desirability import Desirability
from genmbo.errors import ConfigError

# ParEGO's augmentation weight (Knowles 2006, Sec. III-B): the small linear term breaks ties between
# designs with equal worst objective, so weakly dominated designs never score as well as their dominators.
AUGMENTATION = 0.05
DIRECTIONS = ("max", "min")
# What an infeasible design loses besides its violation: the scalarization's whole range over the data
# (at most 1 + rho, reached by one objective at its best), so it scores below every feasible design.
INFEASIBLE_OFFSET = 1.0 + AUGMENTATION


def parse_objective(text: str) -> dict[str, str]:
    """``"COLUMN:max"`` or ``"COLUMN:min"`` (the command line's `--objective`) as a config mapping."""
    column, separator, direction = text.rpartition(":")
    if not separator or not column or direction not in DIRECTIONS:
        raise ConfigError(f"--objective {text!r}: write COLUMN:max or COLUMN:min, e.g. --objective ic50:min")
    return {"column": column, "direction": direction}


def parse_constraint(text: str) -> dict[str, object]:
    """``"COLUMN:LOW:HIGH"``, either bound may be empty (the command line's `--constraint`), as a config
    mapping."""
    rest, _, high = text.rpartition(":")
    column, separator, low = rest.rpartition(":")
    try:
        bounds = {key: float(value) for key, value in (("low", low), ("high", high)) if value != ""}
    except ValueError:
        bounds = {}
    if not separator or not column or not bounds:
        raise ConfigError(
            f"--constraint {text!r}: write COLUMN:LOW:HIGH with either bound empty, e.g. --constraint mw::500"
        )
    return {"column": column, **bounds}


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


@dataclass(frozen=True)
class Objective:
    """One objective as the user states it: its column, direction, weight and optional desirability (which
    sets the direction itself: the desirability is maximized)."""

    name: str
    minimize: bool = False
    weight: float = 1.0
    desirability: Desirability | None = None


@dataclass(frozen=True)
class Constraint:
    """A column whose value must lie in ``[low, high]`` (None: that end is open)."""

    name: str
    low: float | None = None
    high: float | None = None

    def distance(self, values: torch.Tensor) -> torch.Tensor:
        """How far each value lies outside the range (0 inside)."""
        below = (self.low - values).clamp_min(0) if self.low is not None else torch.zeros_like(values)
        above = (values - self.high).clamp_min(0) if self.high is not None else torch.zeros_like(values)
        return below + above

    def describe(self) -> dict[str, object]:
        return {"column": self.name, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class ConstraintTable:
    """The constraints of a campaign and their measured `values` (`n x c`, the user's units); `span`: each
    column's offline range, the unit its violation is counted in (kept when rows are subset)."""

    constraints: tuple[Constraint, ...]
    values: np.ndarray
    span: np.ndarray

    @classmethod
    def from_measurements(cls, constraints: Sequence[Constraint], measured: np.ndarray) -> ConstraintTable:
        values = np.asarray(measured, dtype=np.float64).reshape(len(measured), len(constraints))
        span = values.max(0) - values.min(0) if len(values) else np.ones(len(constraints))
        return cls(tuple(constraints), values, np.where(span > 0, span, 1.0))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(constraint.name for constraint in self.constraints)

    def violation(self, values: torch.Tensor) -> torch.Tensor:
        """``... x c`` constraint values -> ``...``: the summed distance outside each range, in spans."""
        span = torch.as_tensor(self.span, dtype=values.dtype, device=values.device)
        distances = [constraint.distance(values[..., k]) for k, constraint in enumerate(self.constraints)]
        return (torch.stack(distances, -1) / span).sum(-1)

    def penalty(self, values: torch.Tensor) -> torch.Tensor:
        """The feasibility penalty of the module docstring: 0 when feasible, else ``1 + rho + violation``."""
        violation = self.violation(values)
        return torch.where(violation > 0, INFEASIBLE_OFFSET + violation, torch.zeros_like(violation))

    def feasible(self, mean: torch.Tensor, std: torch.Tensor, kappa: float) -> torch.Tensor:
        """`n`: whether the pessimistic interval ``mean +- kappa * std`` of every constraint (`n x c`) lies
        in its range: a design is taken as feasible only when the surrogates are confident it is."""
        low_end, high_end = mean - kappa * std, mean + kappa * std
        inside = torch.ones(mean.shape[0], dtype=torch.bool, device=mean.device)
        for k, constraint in enumerate(self.constraints):
            if constraint.low is not None:
                inside &= low_end[:, k] >= constraint.low
            if constraint.high is not None:
                inside &= high_end[:, k] <= constraint.high
        return inside

    def measured_feasible(self) -> np.ndarray:
        """`n`: which measured rows satisfy every constraint."""
        values = torch.as_tensor(self.values)
        return (self.violation(values) == 0).numpy()

    def rows(self, indices: np.ndarray) -> ConstraintTable:
        return ConstraintTable(self.constraints, self.values[indices], self.span)


@dataclass
class ObjectiveTable:
    """`values`: `n x m`, each column an objective with higher better (minimized ones negated, a
    desirability's value as it is); `names`, `minimize`: per objective; `weights`: `m`, summing to 1;
    `low`, `high`: `m`, the offline range that scales each objective to [0, 1] in the scalarization (kept
    when rows are subset, so the scalar scores of a design do not change with the rows around it).
    `desirabilities`: per objective, its transform or None (empty: none); `targets`: what the objectives'
    surrogates learn, `n x m` (a desirability's column before its transform; None: `values`);
    `constraints`: the constraint columns, or None."""

    names: tuple[str, ...]
    minimize: tuple[bool, ...]
    weights: np.ndarray
    values: np.ndarray
    low: np.ndarray
    high: np.ndarray
    desirabilities: tuple[Desirability | None, ...] = ()
    targets: np.ndarray | None = None
    constraints: ConstraintTable | None = None

    @classmethod
    def from_measurements(
        cls, names: Sequence[str], minimize: Sequence[bool], weights: Sequence[float], measured: np.ndarray
    ) -> ObjectiveTable:
        """The table of `measured` values (`n x m`, the user's own orientation)."""
        objectives = [
            Objective(name, bool(down), float(weight))
            for name, down, weight in zip(names, minimize, weights, strict=True)
        ]
        return cls.from_objectives(objectives, measured)

    @classmethod
    def from_objectives(
        cls,
        objectives: Sequence[Objective],
        measured: np.ndarray,
        constraints: Sequence[Constraint] = (),
        constraint_measured: np.ndarray | None = None,
    ) -> ObjectiveTable:
        """The table of `measured` objective columns (`n x m`, the user's units) and, with `constraints`,
        of their measured columns (`n x c`)."""
        measured = np.asarray(measured, dtype=np.float64)
        desirabilities = tuple(objective.desirability for objective in objectives)
        minimize = tuple(objective.minimize and objective.desirability is None for objective in objectives)
        sign = np.where(np.asarray(minimize), -1.0, 1.0)
        targets = measured * sign
        table = cls(
            tuple(objective.name for objective in objectives),
            minimize,
            normalized_weights([objective.weight for objective in objectives]),
            targets,
            targets.min(0),
            targets.max(0),
            desirabilities if any(item is not None for item in desirabilities) else (),
            None,
            ConstraintTable.from_measurements(constraints, constraint_measured) if constraints else None,
        )
        if table.desirabilities:
            table.values = table.objective_values(torch.as_tensor(targets)).numpy()
            table.targets, table.low, table.high = targets, *table._natural_range(table.low, table.high)
        return table

    def _natural_range(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`low`, `high` with each desirability's own range, [0, 1], in place of its offline one: data that
        never reach a step's window would otherwise scale it by a span near zero."""
        wanted = np.array([transform is not None for transform in self.desirabilities])
        return np.where(wanted, 0.0, low), np.where(wanted, 1.0, high)

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def surrogate_targets(self) -> np.ndarray:
        """`n x m`: what each objective's surrogate learns (its column, oriented; before a desirability)."""
        return self.values if self.targets is None else self.targets

    def objective_values(self, targets: torch.Tensor) -> torch.Tensor:
        """``... x m`` surrogate targets -> the objectives' values (each desirability applied)."""
        if not self.desirabilities:
            return targets
        columns = [
            targets[..., j] if transform is None else transform(targets[..., j])
            for j, transform in enumerate(self.desirabilities)
        ]
        return torch.stack(columns, -1)

    def utilities(self, values: torch.Tensor) -> torch.Tensor:
        """``... x m`` maximized values scaled by the offline range (0 at its worst, 1 at its best)."""
        low = torch.as_tensor(self.low, dtype=values.dtype, device=values.device)
        span = torch.as_tensor(self.high - self.low, dtype=values.dtype, device=values.device)
        return (values - low) / span.clamp_min(1e-12)

    def scalarized(self, values: np.ndarray | None = None) -> np.ndarray:
        """The weighted Chebyshev scalarization of `values` (`n x m`, maximized; default: the table's own,
        then less the feasibility penalty of its measured constraints)."""
        own = values is None
        values = self.values if values is None else values
        utilities = self.utilities(torch.as_tensor(values, dtype=torch.float64))
        scalar = chebyshev(utilities, torch.as_tensor(self.weights))
        if own and self.constraints is not None:
            scalar = scalar - self.constraints.penalty(torch.as_tensor(self.constraints.values))
        return scalar.numpy()

    def feasible_values(
        self, values: torch.Tensor, feasible: torch.Tensor | np.ndarray | None
    ) -> torch.Tensor:
        """`values` (`n x m`) with the rows of infeasible designs set to ``-inf`` (module docstring)."""
        if feasible is None:
            return values
        mask = torch.as_tensor(feasible, dtype=torch.bool, device=values.device).unsqueeze(-1)
        return torch.where(mask, values, torch.full_like(values, -torch.inf))

    def measured_feasible(self) -> np.ndarray | None:
        """Which rows meet every constraint by their measurements; None without constraints."""
        return None if self.constraints is None else self.constraints.measured_feasible()

    def reported(self, values: np.ndarray | torch.Tensor) -> np.ndarray:
        """Maximized `n x m` values (or surrogate targets) back in the user's orientation."""
        sign = np.where(np.asarray(self.minimize), -1.0, 1.0)
        return np.asarray(values, dtype=np.float64) * sign

    def maximized(self, measured: np.ndarray) -> np.ndarray:
        """`n x m` values in the user's units turned to the objectives' values (the inverse of `reported`
        for objectives without a desirability)."""
        targets = self.reported(measured)  # negating the minimized columns is its own inverse
        return self.objective_values(torch.as_tensor(targets)).numpy()

    def rows(self, indices: np.ndarray) -> ObjectiveTable:
        """The table of these rows, scaled as this one (a design's scalar score does not change)."""
        return dataclasses.replace(
            self,
            values=self.values[indices],
            targets=None if self.targets is None else self.targets[indices],
            constraints=None if self.constraints is None else self.constraints.rows(indices),
        )

    def rescaled_rows(self, indices: np.ndarray) -> ObjectiveTable:
        """The table of these rows scaled by their own range, as if they were all that was measured."""
        table = self.rows(indices)
        table.low, table.high = table.values.min(0), table.values.max(0)
        if table.desirabilities:
            table.low, table.high = table._natural_range(table.low, table.high)
        if table.constraints is not None:
            measured = table.constraints
            table.constraints = ConstraintTable.from_measurements(measured.constraints, measured.values)
        return table

    def describe(self) -> list[dict[str, object]]:
        """Each objective's name, direction and weight (and desirability), for metrics.json."""
        described: list[dict[str, object]] = []
        for j, (name, minimize, weight) in enumerate(
            zip(self.names, self.minimize, self.weights, strict=True)
        ):
            item: dict[str, object] = {
                "column": name,
                "direction": "min" if minimize else "max",
                "weight": float(weight),
            }
            if self.desirabilities and self.desirabilities[j] is not None:
                item["desirability"] = self.desirabilities[j].describe()
            described.append(item)
        return described

    def describe_constraints(self) -> list[dict[str, object]]:
        """Each constraint's column and range, for metrics.json (empty without constraints)."""
        return [] if self.constraints is None else [item.describe() for item in self.constraints.constraints]
