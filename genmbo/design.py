"""A design campaign end to end: offline data in; a ranked, diverse, novel candidate library and a report out.

Stages (each timed in `metrics.json` under `timings`):

1. ``load``: a task's visible rows or the user's file, cleaned (counts in `cleaning.json`);
2. ``fit_prior``: load or train the autoencoder and the latent diffusion, encode the offline designs;
3. ``fit_surrogate``: the deep ensemble on the offline latents (and, for the flagship on fixed-length
   sequences, a second one on the designs themselves, `genmbo.models.design_surrogate`);
4. ``fit_policy``: the PGS step-size policy, when the search uses one (the flagship does by default);
5. ``search``: ``pool_factor * n_candidates`` candidate latents from the configured method;
6. ``decode``: greedy decoding to designs;
7. ``filter``: drop undecodable designs and designs the space rejects, repeats within the pool, designs
   already in the offline data (they are measured already) and designs failing the configured
   constraints, each counted by reason;
8. ``select``: ``n_candidates`` designs by predicted score (at each design's own encoding), uncertainty and
   diversity (`genmbo.selection`);
9. ``score``: the task's oracle, when the data come from a task;
10. ``metrics`` and ``write``: library metrics, `library.csv/.parquet/.sdf`, `metrics.json`, `report.html`.
    For molecules the metrics include the library's realism (SA score, ring and alert shares, FCD to the
    offline data when the library is large enough) beside the offline data's and its top decile's
    (`genmbo.metrics.realism.library_realism`).

Validity, uniqueness and novelty are measured on the decoded pool, before filtering (after it they are 1
by construction); diversity and nearest-offline similarity on the library. Every fitted model is saved in
the output folder, so rerunning the same command resumes an interrupted training.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torchmetrics import Metric

from genmbo.config import GenmboConfig, to_mapping
from genmbo.constraints import DesignFilter
from genmbo.data.offline import OfflineDataset
from genmbo.errors import InvalidDesign
from genmbo.evaluation import oracle_metrics
from genmbo.inputs import resolve_dataset
from genmbo.library import write_library
from genmbo.metrics.design_distance import design_features, distance_kind, nearest
from genmbo.metrics.library import MeanPairwiseDistance, VectorNovelty
from genmbo.metrics.realism import library_realism
from genmbo.metrics.samples import InternalDiversity, Novelty, Uniqueness, Validity
from genmbo.models.design_surrogate import DESIGN_SURROGATE_FOLDER, fit_design_surrogate
from genmbo.models.prior import fit_prior_and_encode
from genmbo.models.surrogate import fit_surrogate
from genmbo.models.training import configured_training
from genmbo.outputs import write_json, write_text_atomic, write_yaml
from genmbo.progress import progress_enabled
from genmbo.report import ReportInputs, render_report
from genmbo.search.base import SearchProblem
from genmbo.search.best_offline import BestOffline
from genmbo.search.guided_diffusion import SurrogateGuidedDiffusion
from genmbo.search.registry import build_search_method, policy_search_of
from genmbo.selection import select_diverse
from genmbo.spaces import ContinuousSpace, MoleculeSpace
from genmbo.spaces.base import DesignSpace
from genmbo.tasks import Task

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"


@dataclass
class DesignOutcome:
    library: pd.DataFrame
    metrics: dict[str, Any]
    files: dict[str, Path]


class Stopwatch:
    """Times named stages into `timings`; with progress on, says on stdout when each starts and ends
    (stderr is kept for progress bars and for the one-line error a failure prints)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if progress_enabled():
            print(f"[{name}] ...", flush=True)
        started = time.perf_counter()
        yield
        self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 3)
        if progress_enabled():
            print(f"[{name}] done in {self.timings[name]:.1f} s", flush=True)


def run_design(config: GenmboConfig, out: Path) -> DesignOutcome:
    """Run the whole campaign into the existing folder `out`; see the module docstring."""
    with configured_training(config):
        return _run_design(config, out)


def _run_design(config: GenmboConfig, out: Path) -> DesignOutcome:
    clock = Stopwatch()
    seed = config.run.seed
    # Configuration errors surface before any data is read or model trained.
    method = build_search_method(config.search.method, **config.search.options)
    if (policy_search := policy_search_of(method)) is not None:
        policy_search.run_dir = out / "policy"
    with clock.stage("load"):
        dataset, task = resolve_dataset(config)
    design_filter = DesignFilter(dataset.space, config.constraints)
    write_yaml(out / "config.yaml", to_mapping(config))
    write_json(out / "cleaning.json", dataset.report.to_dict())

    with clock.stage("fit_prior"):
        prior, latents = fit_prior_and_encode(
            dataset, config.prior, out / "prior", seed, needs_condition=method.needs_condition
        )
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    with clock.stage("fit_surrogate"):
        surrogate = fit_surrogate(latents, scores, config.surrogate, out, seed=seed).eval()
        design_surrogate = (
            fit_design_surrogate(dataset, config.surrogate, out / DESIGN_SURROGATE_FOLDER, seed)
            if method.uses_design_surrogate
            else None
        )

    pool_size = config.run.n_candidates * config.selection.pool_factor
    problem = SearchProblem(
        latents, scores, surrogate, prior, dataset.designs, dataset.space, design_surrogate
    )
    generator = torch.Generator().manual_seed(seed)
    if isinstance(method, SurrogateGuidedDiffusion) and method.pgs is not None:
        with clock.stage("fit_policy"):
            # The same generator, drawn in the same order as a search that trains its own policy.
            method.fit_policy(problem, pool_size, generator)
    with clock.stage("search"):
        pool = method.candidates(problem, pool_size, generator)
        pool_latents = pool.latents.detach().float()
    if not _is_main_process():
        # Under a launcher that runs the whole command in every process (strategy ddp), the others
        # helped train and sample; one process decodes, selects and writes the outputs.
        return DesignOutcome(pd.DataFrame(), {}, {})
    with clock.stage("decode"):
        pool_designs = pool.designs_from(prior.autoencoder)

    with clock.stage("filter"):
        pool_metrics = _pool_metrics(dataset, pool_designs)
        exclude_offline = config.constraints.exclude_offline and not isinstance(method, BestOffline)
        kept, dropped = _filter(dataset, pool_designs, design_filter, exclude_offline)

    with clock.stage("select"):
        kept_designs = [pool_designs[index] for index in kept]
        # Predicted at each design's own encoding, where the surrogate has seen real designs, not at the
        # search's latent that decodes to it (more optimistic; `genmbo.search.design_selection`).
        with torch.no_grad():
            kept_latents = (
                prior.autoencoder.encode_designs(kept_designs).float() if kept else pool_latents[:0]
            )
            mean, std = surrogate.predict(kept_latents) if kept else (torch.zeros(0), torch.zeros(0))
        acquisition = mean - config.selection.kappa * std
        kind = distance_kind(dataset.space)
        features = design_features(dataset.space, kept_designs) if kept else torch.zeros(0, 1)
        order = select_diverse(
            acquisition,
            features,
            kind,
            config.run.n_candidates,
            config.selection.diversity_weight,
            config.selection.shortlist_factor,
        )
    library_designs = [kept_designs[index] for index in order]
    library_latents = kept_latents[order]
    library_features = features[order]

    with clock.stage("metrics"):
        offline_features = design_features(dataset.space, dataset.designs)
        nearest_values, nearest_rows = nearest(kind, library_features, offline_features, progress_enabled())
        library_metrics = _library_metrics(dataset, library_designs, library_features, kind)
        library_metrics["nearest_offline_" + ("similarity" if kind == "tanimoto" else "distance")] = (
            float(nearest_values.mean()) if len(order) else float("nan")
        )
        realism = library_realism(dataset.space, library_designs, dataset.designs, dataset.scores)
    frame = _library_frame(
        dataset,
        library_designs,
        mean[order].numpy(),
        std[order].numpy(),
        acquisition[order].numpy(),
        nearest_values.numpy(),
        [dataset.designs[row] for row in nearest_rows.tolist()] if len(order) else [],
        kind,
    )
    task_metrics: dict[str, Any] = {}
    if task is not None:
        with clock.stage("score"):
            oracle_scores = task.oracle(library_designs)
            frame["oracle_score"] = oracle_scores
            frame["normalized_score"] = task.normalize(oracle_scores)
            task_metrics = oracle_metrics(task.name, library_designs)

    metrics = _assemble_metrics(config, dataset, task, pool_metrics, dropped, library_metrics, task_metrics)
    metrics["n_candidates"] = len(frame)
    if realism:
        metrics["realism"] = realism
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
            library_latents=library_latents,
            offline_range=_vector_range(dataset),
            minimize=dataset.minimize,
            notes={"Input cleaning": dataset.report.to_dict(), "Pool filtering": dropped},
        )
        files["metrics"] = out / METRICS_FILE
        write_json(files["metrics"], metrics)  # before the report: its figures must not wait on drawing
        files["report"] = out / REPORT_FILE
        write_text_atomic(files["report"], render_report(report, seed))
    metrics["timings"] = clock.timings
    write_json(files["metrics"], metrics)
    return DesignOutcome(frame, metrics, files)


def _is_main_process() -> bool:
    distributed = torch.distributed
    return not (distributed.is_available() and distributed.is_initialized()) or distributed.get_rank() == 0


# The metrics below run in one process over the whole pool (the others of a distributed run have
# returned), so they must not wait for the others to synchronize: `sync_on_compute=False`.


def _pool_metrics(dataset: OfflineDataset, designs: list[Any]) -> dict[str, float]:
    validity, uniqueness = (
        Validity(dataset.space, sync_on_compute=False),
        Uniqueness(dataset.space, sync_on_compute=False),
    )
    validity.update(designs)
    valid = [design for design in designs if design is not None]
    uniqueness.update(valid)
    distinct = list({dataset.space.key(design): design for design in valid}.values())
    return {
        "size": len(designs),
        "validity": float(validity.compute()),
        "uniqueness": float(uniqueness.compute()),
        "novelty": _novelty(dataset, distinct),
    }


def _novelty(dataset: OfflineDataset, designs: list[Any]) -> float:
    """Share of the (distinct, valid) `designs` not in the offline data: by identity for token designs
    (MOSES' novelty), by a tolerance for vectors (`VectorNovelty`)."""
    if not designs:
        return float("nan")
    if isinstance(dataset.space, ContinuousSpace):
        metric: Metric = VectorNovelty(dataset.space.encode(dataset.designs), sync_on_compute=False)
        metric.update(dataset.space.encode(designs))
    else:
        metric = Novelty(dataset.designs, dataset.space, sync_on_compute=False)
        metric.update(designs)
    return float(metric.compute())


def _filter(
    dataset: OfflineDataset, designs: list[Any], design_filter: DesignFilter, exclude_offline: bool
) -> tuple[list[int], dict[str, int]]:
    """Indices of the pool designs to keep, and how many were dropped for each reason."""
    space = dataset.space
    offline_keys = {space.key(design) for design in dataset.designs} if exclude_offline else set()
    seen: set[Any] = set()
    kept: list[int] = []
    dropped: dict[str, int] = {}
    for index, design in enumerate(designs):
        if design is None:
            reason = "undecodable"
        elif (invalid := _invalid_reason(space, design)) is not None:
            reason = f"invalid: {invalid}"
        else:
            key = space.key(design)
            if key in seen:
                reason = "repeat within the pool"
            elif key in offline_keys:
                reason = "already in the offline data"
            else:
                reason = design_filter.reason(design)
            seen.add(key)
        if reason is None:
            kept.append(index)
        else:
            dropped[reason] = dropped.get(reason, 0) + 1
    return kept, dict(sorted(dropped.items()))


def _invalid_reason(space: DesignSpace, design: Any) -> str | None:
    """Why the space rejects a decoded design (for molecules: a SMILES whose SELFIES round trip differs
    or that uses tokens outside the vocabulary), or None if it accepts it."""
    try:
        space.parse(design)
    except InvalidDesign as error:
        return error.reason
    return None


def library_metrics(dataset: OfflineDataset, designs: list[Any]) -> dict[str, float]:
    """Novelty against `dataset` and diversity of decoded, non-None `designs` (see `_library_metrics`)."""
    kind = distance_kind(dataset.space)
    return _library_metrics(dataset, designs, design_features(dataset.space, designs), kind)


def _library_metrics(
    dataset: OfflineDataset, designs: list[Any], features: torch.Tensor, kind: str
) -> dict[str, float]:
    metrics = {"novelty": _novelty(dataset, designs)}
    if kind == "tanimoto":
        for power in (1, 2):
            diversity = InternalDiversity(p=power, sync_on_compute=False)
            diversity.update(designs)
            metrics[f"intdiv{power}"] = float(diversity.compute())
        metrics["diversity"] = metrics["intdiv1"]
    else:
        pairwise = MeanPairwiseDistance(kind, sync_on_compute=False)  # type: ignore[arg-type]
        pairwise.update(features)
        metrics["diversity"] = float(pairwise.compute())
    return metrics


def _library_frame(
    dataset: OfflineDataset,
    designs: list[Any],
    mean: np.ndarray,
    std: np.ndarray,
    acquisition: np.ndarray,
    nearest_values: np.ndarray,
    nearest_designs: list[Any],
    kind: str,
) -> pd.DataFrame:
    space = dataset.space
    sign = -1.0 if dataset.minimize else 1.0
    nearest_name = "nearest_offline_similarity" if kind == "tanimoto" else "nearest_offline_distance"
    columns: dict[str, Any] = {
        "rank": np.arange(1, len(designs) + 1),
        "design": [space.format(design) for design in designs],
        "predicted_score": sign * mean.astype(np.float64),
        "predicted_std": std.astype(np.float64),
        "acquisition": sign * acquisition.astype(np.float64),
        nearest_name: nearest_values,
        "nearest_offline_design": [space.format(design) for design in nearest_designs],
    }
    if isinstance(space, ContinuousSpace):
        coordinates = np.asarray(designs, dtype=np.float64).reshape(len(designs), space.dim)
        columns |= {f"x{index}": coordinates[:, index] for index in range(space.dim)}
    return pd.DataFrame(columns)


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


def _title(config: GenmboConfig, task: Task | None) -> str:
    source = f"task {task.name}" if task is not None else str(config.data.path)
    return f"genmbo design: {source}, method {config.search.method}, seed {config.run.seed}"


def _vector_range(dataset: OfflineDataset) -> tuple[np.ndarray, np.ndarray] | None:
    if not isinstance(dataset.space, ContinuousSpace):
        return None
    coordinates = np.asarray(dataset.designs, dtype=np.float64)
    return coordinates.min(0), coordinates.max(0)
