"""`genmbo design`: offline data in; a ranked, diverse, novel candidate library and a report out.

The run is `genmbo.campaign.pipeline`'s stages, with the models saved in the output folder (so rerunning the
same command resumes an interrupted training), then ``score`` (the task's oracle, when the data come from a
task) and ``write``: `library.csv/.parquet/.sdf`, `metrics.json` (with every stage's time under `timings`),
`report.html`. For molecules the metrics include the library's realism (SA score, ring and alert shares, FCD
to the offline data when the library is large enough) beside the offline data's and its top decile's
(`genmbo.metrics.realism.library_realism`). With several objectives they include the library's Pareto
figures against the offline data's (`pareto`: hypervolumes from a reference point derived from the offline
data, the share of the library no offline design dominates, each objective's percentiles), on the
library's predicted objectives (`genmbo.metrics.pareto`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from genmbo.benchmark.evaluation import oracle_metrics
from genmbo.campaign.inputs import resolve_dataset
from genmbo.campaign.measures import LibraryMeasures, measure_library, measure_offline
from genmbo.campaign.pipeline import (
    Library,
    LibraryPlan,
    Models,
    Stopwatch,
    design_stages,
    fit_surrogates,
    make_library,
)
from genmbo.config import GenmboConfig, to_mapping
from genmbo.data.offline import OfflineDataset
from genmbo.metrics.design_distance import distance_kind
from genmbo.metrics.pareto import ParetoMetrics
from genmbo.metrics.realism import library_realism
from genmbo.models.prior import fit_prior_and_encode
from genmbo.models.surrogates.design import DESIGN_SURROGATE_FOLDER
from genmbo.models.training import configured_run, several_processes
from genmbo.outputs.files import write_json, write_text_atomic, write_yaml
from genmbo.outputs.library import write_library
from genmbo.outputs.report import ReportInputs, render_report
from genmbo.runtime.background import lending_a_core
from genmbo.search.registry import build_search_method
from genmbo.selection.constraints import DesignFilter
from genmbo.spaces import ContinuousSpace, MoleculeSpace
from genmbo.tasks import Task

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"


@dataclass
class DesignOutcome:
    library: pd.DataFrame
    metrics: dict[str, Any]
    files: dict[str, Path]


def run_design(config: GenmboConfig, out: Path) -> DesignOutcome:
    """Run the whole campaign into the existing folder `out`; see the module docstring."""
    with configured_run(config) as threads:
        return _run_design(config, out, threads)


def _run_design(config: GenmboConfig, out: Path, threads: int) -> DesignOutcome:
    clock = Stopwatch()
    seed = config.run.seed
    # Configuration errors surface before any data is read or model trained.
    method = build_search_method(config.search.method, **config.search.options())
    with clock.stage("load"):
        dataset, task = resolve_dataset(config)
    constraints = DesignFilter(dataset.space, config.constraints, dataset.designs)
    if dataset.space.kind != "molecules":  # only the shipped molecular prior has a realism critic
        method.realism_weight_for(None)
    write_yaml(out / "config.yaml", to_mapping(config))
    write_json(out / "cleaning.json", dataset.report.to_dict())

    with clock.stage("fit_prior"):
        prior, latents = fit_prior_and_encode(
            dataset, config.prior, out / "prior", seed, needs_condition=method.needs_condition
        )
    realism_weight = method.realism_weight_for(prior)  # a weight the prior cannot serve stops the run here
    # The metrics stage's offline measures are computed on a core that training and search give up
    # until they are done (`genmbo.runtime.background`); the metrics stage then reads them from the cache.
    with lending_a_core(partial(measure_offline, dataset), enabled=not several_processes()):
        with clock.stage("fit_surrogate"):
            polishes = design_stages(config.stages, method)[1] > 0
            surrogate, design_surrogate = fit_surrogates(
                dataset, latents, config.surrogate, out, out / DESIGN_SURROGATE_FOLDER, seed, polishes
            )
        models = Models(prior, latents, surrogate, design_surrogate)
        plan = LibraryPlan.of(config, method)
        library = make_library(plan, dataset, models, method, constraints, out / "policy", clock)
    if library is None:  # a helper process of a distributed run
        return DesignOutcome(pd.DataFrame(), {}, {})
    with clock.stage("metrics"):
        measures = measure_library(dataset, library)
        realism = library_realism(dataset.space, library.designs, dataset.designs, dataset.scores)
    frame = library_frame(dataset, library, measures)
    task_metrics: dict[str, Any] = {}
    if task is not None:
        with clock.stage("score"):
            oracle_scores = task.oracle(library.designs)
            frame["oracle_score"] = oracle_scores
            frame["normalized_score"] = task.normalize(oracle_scores)
            task_metrics = oracle_metrics(task.name, library.designs)

    metrics = _assemble_metrics(
        config, dataset, task, library.pool, library.dropped, measures.metrics, task_metrics
    )
    metrics["n_candidates"] = len(frame)
    if "pareto_oracle" in task_metrics:  # a multi-objective task's oracle figures
        metrics["pareto_oracle"] = task_metrics["pareto_oracle"]
    if realism:
        metrics["realism"] = {**realism, "guidance_weight": realism_weight}
        if constraints.realism is not None:
            metrics["realism"]["filter"] = constraints.realism
    if dataset.objectives is not None:
        metrics["objectives"] = dataset.objectives.describe()
        if dataset.objectives.constraints is not None:
            metrics["constraints"] = dataset.objectives.describe_constraints()
        metrics["pareto"] = pareto_metrics(dataset, library)
        trust = surrogate.trust
        if trust is not None:
            metrics["objective_trust"] = {
                name: {**figures, "model": f"latent, {name}"} for name, figures in trust.items()
            }
    else:
        trust = surrogate_trust(surrogate, design_surrogate)
        if trust is not None:
            metrics["surrogate_trust"] = trust
    metrics["threads"] = threads
    with clock.stage("write"):
        files = write_library(frame, out, molecules=isinstance(dataset.space, MoleculeSpace))
        metrics["timings"] = clock.timings  # written twice: the report shows all but its own time
        report = ReportInputs(
            title=_title(config, task),
            space_kind=dataset.space.kind,
            library=frame,
            metrics=metrics,
            offline_scores=dataset.reported_scores(),
            offline_latents=latents,
            library_latents=library.latents,
            offline_range=_vector_range(dataset),
            minimize=dataset.minimize,
            notes={"Input cleaning": dataset.report.to_dict(), "Pool filtering": library.dropped},
            **_objective_report(dataset),
        )
        files["metrics"] = out / METRICS_FILE
        write_json(files["metrics"], metrics)  # before the report: its figures must not wait on drawing
        files["report"] = out / REPORT_FILE
        write_text_atomic(files["report"], render_report(report, seed))
    metrics["timings"] = clock.timings
    write_json(files["metrics"], metrics)
    return DesignOutcome(frame, metrics, files)


def pareto_metrics(dataset: OfflineDataset, library: Library) -> dict[str, Any]:
    """`ParetoMetrics` of the library's predicted objective means against the offline measurements. The
    reference point and each objective's 100th and 50th percentiles are in the user's orientation (the
    100th of a minimized objective is its smallest value); hypervolumes do not depend on it. With
    constraints, infeasible designs (library: by their pessimistic predictions; offline: measured) add
    nothing, and the shares of feasible designs are given."""
    table = dataset.objectives
    predictions = library.objectives
    assert table is not None and predictions is not None
    offline_feasible = table.measured_feasible()
    offline = table.feasible_values(torch.as_tensor(table.values), offline_feasible)
    metric = ParetoMetrics(offline, table.names, sync_on_compute=False)
    metric.update(table.feasible_values(predictions.mean.double(), predictions.feasible))
    figures = metric.compute()
    reference = table.reported(np.asarray(figures["reference_point"]))
    figures["reference_point"] = dict(zip(table.names, reference.tolist(), strict=True))
    for name, minimize in zip(table.names, table.minimize, strict=True):
        sign = -1.0 if minimize else 1.0
        figures["objectives"][name] = {
            key: None if value is None else sign * value for key, value in figures["objectives"][name].items()
        }
    if predictions.feasible is not None and offline_feasible is not None:
        figures["feasible_share"] = (
            float(predictions.feasible.double().mean()) if len(library.designs) else None
        )
        figures["offline_feasible_share"] = float(offline_feasible.mean())
    figures["values"] = "library: predicted means; offline: measured"
    return figures


def library_frame(dataset: OfflineDataset, library: Library, measures: LibraryMeasures) -> pd.DataFrame:
    """The library as a table: rank, design, predictions (in the data's own orientation; with several
    objectives, each objective's and the front of each design within the library), nearest offline design,
    and the coordinates of vectors."""
    space = dataset.space
    sign = -1.0 if dataset.minimize else 1.0
    kind = distance_kind(space)
    nearest_name = "nearest_offline_similarity" if kind == "tanimoto" else "nearest_offline_distance"
    designs = library.designs
    nearest_designs = [dataset.designs[row] for row in measures.nearest_rows.tolist()] if designs else []
    columns: dict[str, Any] = {
        "rank": np.arange(1, len(designs) + 1),
        "design": [space.format(design) for design in designs],
        "predicted_score": sign * library.mean.numpy().astype(np.float64),
        "predicted_std": library.std.numpy().astype(np.float64),
        "acquisition": sign * library.acquisition.numpy().astype(np.float64),
        **_objective_columns(dataset, library),
        nearest_name: measures.nearest_values.numpy(),
        "nearest_offline_design": [space.format(design) for design in nearest_designs],
    }
    if isinstance(space, ContinuousSpace):
        coordinates = np.asarray(designs, dtype=np.float64).reshape(len(designs), space.dim)
        columns |= {f"x{index}": coordinates[:, index] for index in range(space.dim)}
    return pd.DataFrame(columns)


def _objective_report(dataset: OfflineDataset) -> dict[str, Any]:
    """The report's inputs for several objectives: the offline measurements and their directions."""
    objectives = dataset.objectives
    if objectives is None:
        return {}
    measured = pd.DataFrame(objectives.reported(objectives.values), columns=list(objectives.names))
    return {
        "offline_objectives": measured,
        "objective_minimize": objectives.minimize,
        "offline_feasible": objectives.measured_feasible(),
    }


def _objective_columns(dataset: OfflineDataset, library: Library) -> dict[str, Any]:
    """Per objective `predicted_<column>` and `predicted_<column>_std` (the column in the user's units,
    before any desirability) and, for a desirability, `desirability_<column>`; per constraint its
    `predicted_` pair and `feasible`; `pareto_front`, each design's non-dominated front within the library
    by its pessimistic objectives (1: no other library design dominates it; infeasible designs last).
    Empty for one score."""
    table, predictions = dataset.objectives, library.objectives
    if table is None or predictions is None:
        return {}
    mean = table.reported(predictions.target_mean.numpy())
    std = predictions.target_std.numpy().astype(np.float64)
    columns: dict[str, Any] = {}
    for column, name in enumerate(table.names):
        columns[f"predicted_{name}"] = mean[:, column]
        columns[f"predicted_{name}_std"] = std[:, column]
        if table.desirabilities and table.desirabilities[column] is not None:
            columns[f"desirability_{name}"] = predictions.mean[:, column].numpy().astype(np.float64)
    if table.constraints is not None and predictions.feasible is not None:
        for column, name in enumerate(table.constraints.names):
            columns[f"predicted_{name}"] = predictions.constraint_mean[:, column].numpy().astype(np.float64)
            columns[f"predicted_{name}_std"] = (
                predictions.constraint_std[:, column].numpy().astype(np.float64)
            )
        columns["feasible"] = predictions.feasible.numpy()
    columns["pareto_front"] = predictions.front.numpy() + 1
    return columns


def _assemble_metrics(
    config: GenmboConfig,
    dataset: OfflineDataset,
    task: Task | None,
    pool: dict[str, float],
    dropped: dict[str, int],
    library: dict[str, float],
    task_metrics: dict[str, Any],
) -> dict[str, Any]:
    reported = dataset.reported_scores()
    best = float(reported.min() if dataset.minimize else reported.max())
    metrics: dict[str, Any] = {
        "n_candidates": 0,  # set by the caller from the library
        "n_requested": config.run.n_candidates,
        "method": config.search.method,
        "seed": config.run.seed,
        "validity": pool["validity"],
        "uniqueness": pool["uniqueness"],
        "novelty": pool["novelty"],
        **{key: value for key, value in library.items() if key != "novelty"},
        "library_novelty": library["novelty"],
        "best_offline_score": best,
        "pool": {**pool, "dropped": dropped},
        "offline_designs": len(dataset),
    }
    if task is not None:
        metrics["task"] = task.name
        for key in ("score_100th", "score_50th", "top10_mean", "best_raw_score", "best_offline_normalized"):
            if key in task_metrics:
                metrics[key] = task_metrics[key]
        metrics["best_offline_score"] = task_metrics["best_offline_score"]
    return metrics


def surrogate_trust(surrogate: Any, design_surrogate: Any | None) -> dict[str, Any] | None:
    """The held-out trust figures (`genmbo.metrics.surrogate_trust`) of the model that values the library's
    designs (the design surrogate when there is one), and which model that is; None when unknown (a
    surrogate loaded from a given checkpoint)."""
    model, name = (
        (design_surrogate.surrogate, "design") if design_surrogate is not None else (surrogate, "latent")
    )
    return None if model.trust is None else {**model.trust, "model": name}


def _title(config: GenmboConfig, task: Task | None) -> str:
    source = f"task {task.name}" if task is not None else str(config.data.path)
    return f"genmbo design: {source}, method {config.search.method}, seed {config.run.seed}"


def _vector_range(dataset: OfflineDataset) -> tuple[np.ndarray, np.ndarray] | None:
    if not isinstance(dataset.space, ContinuousSpace):
        return None
    coordinates = np.asarray(dataset.designs, dtype=np.float64)
    return coordinates.min(0), coordinates.max(0)
