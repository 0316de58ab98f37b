"""Resolve what a run works on: a built-in task's visible data, or the user's own data file."""

from __future__ import annotations

from genmbo.config import GenmboConfig, ObjectiveConfig
from genmbo.data.loading import load_offline_dataset
from genmbo.data.objectives import Constraint, Objective
from genmbo.data.offline import OfflineDataset
from genmbo.data.unlabeled import add_unlabeled, read_unlabeled
from genmbo.errors import ConfigError
from genmbo.tasks import Task, get_task


def resolve_dataset(config: GenmboConfig) -> tuple[OfflineDataset, Task | None]:
    """The offline dataset of the run, and its task when it is a benchmark (for the hidden oracle)."""
    if config.task.name and config.data.path:
        raise ConfigError("name either a task or a data file, not both")
    if config.task.name and config.data.unlabeled:
        raise ConfigError(
            "unlabeled designs go with your own data (--data); a task's are its own (<task>@n<N>)"
        )
    if config.task.name and (config.data.objectives or config.data.constraints):
        raise ConfigError("objectives go with your own data (--data); a task has its own score")
    if config.data.objectives and config.data.score_col:
        raise ConfigError("name one score column (--score-col) or several objectives (--objective), not both")
    if config.data.objectives and config.data.minimize:
        raise ConfigError("--minimize goes with --score-col; give each objective its direction (COLUMN:min)")
    if config.task.name:
        task = get_task(config.task.name)
        return task.offline_dataset(config.run.seed), task
    data = config.data
    if not data.path:
        raise ConfigError("name a task (--task) or a data file (--data with --space)")
    if data.space is None:
        raise ConfigError("say which design space the data is in (--space molecules|sequence|continuous)")
    bounds = (data.lower, data.upper) if data.lower is not None or data.upper is not None else None
    unlabeled = read_unlabeled(data.unlabeled, data.design_col) if data.unlabeled else []
    objectives = [_objective(item) for item in data.objectives]
    constraints = [Constraint(item.column, item.low, item.high) for item in data.constraints]
    columns = [item.name for item in objectives] + [item.name for item in constraints]
    dataset = load_offline_dataset(
        data.path,
        data.space,
        design_columns=data.design_col,
        score_column=columns if objectives else data.score_col,
        minimize=data.minimize,
        alphabet=data.alphabet,
        bounds=bounds,
        unlabeled=unlabeled,
        objectives=objectives or None,
        constraints=constraints,
    )
    if data.unlabeled:
        add_unlabeled(dataset, unlabeled, data.unlabeled)
    return dataset, None


def _objective(config: ObjectiveConfig) -> Objective:
    desirability = None if config.desirability is None else config.desirability.transform()
    return Objective(config.column, config.direction == "min", config.weight, desirability)
