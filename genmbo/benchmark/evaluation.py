"""Score a candidate library with a task's hidden oracle, reported as in Design-Bench.

Design-Bench (Trabucco et al., ICML 2022, Sec. 5) reports the 100th and 50th percentile of the oracle
scores of the candidates, normalized by the full dataset's min and max. Candidates the oracle cannot score
(invalid designs) are counted in `validity` and left out of the percentiles; infeasible designs that
the oracle scores -inf (Ehrlich) stay in them.

A task of several objectives (`genmbo.tasks.multi_objective`) adds the library's Pareto figures on its
oracle objectives under `pareto_oracle` (`pareto_oracle_metrics`): its hypervolume from the visible data's
reference point (`genmbo.metrics.pareto.reference_point`: what a campaign sees), normalized by the full
dataset's hypervolume from the same point, beside the visible data's own; and the share of the library
no visible design dominates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from genmbo.data.reading import read_frame, require_column, table_format
from genmbo.errors import DataError
from genmbo.metrics.pareto import ParetoMetrics, hypervolume
from genmbo.tasks import get_task
from genmbo.tasks.multi_objective import MultiObjectiveTask, objective_task


def percentile(values: np.ndarray, q: float) -> float:
    """numpy's linear percentile, except that one falling among -inf values (infeasible Ehrlich
    candidates) is -inf rather than the NaN that interpolating between infinities gives."""
    with np.errstate(invalid="ignore"):  # the NaN is expected and replaced: no warning for the user
        value = float(np.percentile(values, q))
    return float(np.percentile(values, q, method="lower")) if np.isnan(value) else value


def oracle_metrics(task_name: str, designs: list[Any]) -> dict[str, Any]:
    """Oracle scores of `designs` summarized: validity, normalized percentiles, top-10 mean."""
    task = get_task(task_name)
    scores = task.oracle(designs)
    valid = ~np.isnan(scores)
    normalized = task.normalize(scores[valid])
    best_offline = task.best_visible_score
    metrics: dict[str, Any] = {
        "task": task.name,
        "n_candidates": len(designs),
        "n_valid": int(valid.sum()),
        "validity": float(valid.mean()) if len(designs) else 0.0,
        "best_offline_score": best_offline,
        "best_offline_normalized": float(task.normalize(np.array([best_offline]))[0]),
    }
    if valid.any():
        metrics |= {
            "score_100th": percentile(normalized, 100),
            "score_50th": percentile(normalized, 50),
            "top10_mean": float(np.sort(normalized)[::-1][:10].mean()),
            "best_raw_score": float(scores[valid].max()),
        }
    multi_objective = objective_task(task)
    if multi_objective is not None:
        metrics["pareto_oracle"] = pareto_oracle_metrics(multi_objective, designs)
    return metrics


def pareto_oracle_metrics(task: MultiObjectiveTask, designs: list[Any]) -> dict[str, Any]:
    """Hypervolumes (library, visible data, full data) from the visible data's reference point, the
    normalized ones, and the undominated share, on the oracle's objectives (maximized orientation)."""
    visible = torch.as_tensor(task.full_objectives.values[task.visible])
    metric = ParetoMetrics(visible, task.objective_names, sync_on_compute=False)
    values = torch.as_tensor(task.objective_oracle(designs))
    # Invalid designs (NaN) are left out, as from the percentiles; infeasible ones (-inf) stay: they add
    # no volume and every visible design dominates them.
    metric.update(values[~torch.isnan(values).any(1)])
    figures = metric.compute()
    full = hypervolume(torch.as_tensor(task.full_objectives.values), metric.reference)
    return {
        "hypervolume": figures["hypervolume"],
        "offline_hypervolume": figures["offline_hypervolume"],
        "full_hypervolume": full,
        "hypervolume_normalized": figures["hypervolume"] / full,
        "offline_hypervolume_normalized": figures["offline_hypervolume"] / full,
        "undominated_share": figures["undominated_share"],
    }


def evaluate_library(task_name: str, library: Path, design_column: str = "design") -> dict[str, Any]:
    """Read a library file (CSV or Parquet) and score its `design_column` with the task's oracle."""
    get_task(task_name)  # an unknown task is reported before any file is read
    library = Path(library)
    if not library.is_file():
        raise DataError(f"{library}: no such file")
    kind = table_format(library)
    if kind == "npy":
        raise DataError(
            f"{library}: a library must be a CSV or Parquet table with a '{design_column}' column"
        )
    frame = read_frame(library, kind)
    require_column(frame, design_column, library)
    designs = [
        None if isinstance(value, float) and np.isnan(value) else value for value in frame[design_column]
    ]
    return oracle_metrics(task_name, designs)
