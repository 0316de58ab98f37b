"""The one pipeline every design run follows, stage by stage: `genmbo design`, `genmbo benchmark` and the
scripts call it, so a benchmark row is scored on the library `genmbo design` writes.

Stages (each timed under its name):

1. ``load``: a task's visible rows or the user's file, cleaned (`genmbo.campaign.inputs.resolve_dataset`);
2. ``fit_prior``: load or train the autoencoder and the latent diffusion, encode the offline designs;
3. ``fit_surrogate``: the deep ensemble on the offline latents and, when the library is polished on a
   space with design features, a second one on the designs themselves (`genmbo.models.surrogates.design`);
   with several objectives, one latent ensemble per objective (`genmbo.models.surrogates.objectives`),
   which the search sees through ParEGO's random scalarizations: pool sample i climbs weight vector
   i mod `selection.scalarizations`;
4. ``fit_method``: what the search method learns first (`SearchMethod.fit`: PGS's step-size policies);
5. ``search``: ``pool_factor * n_candidates`` candidates from the method; while the filtered pool cannot
   fill the library (stage 8, the alert quota counted), the method searches again, decoding and filtering
   each new pool, up to `selection.pool_rounds` rounds in all or until a round admits nothing new (a run
   that samples across processes searches once: its helper processes have returned);
6. ``portfolio``: gradient ascents from the best offline designs, for a reserved share of the library
   (`genmbo.campaign.portfolio`; off unless the method or the config asks);
7. ``decode``: the method's own designs, else greedy decoding of its latents;
8. ``filter``: drop undecodable designs and designs the space rejects, repeats, designs already in the
   offline data (they are measured already; kept when the method proposes them on purpose) and designs
   failing the configured constraints, each counted by reason (`genmbo.selection.filtering`);
9. ``select``: the rest of the library by predicted score, uncertainty and diversity
   (`genmbo.selection.diverse`), each design valued by the one model that values designs
   (`genmbo.selection.valuing`; with several objectives, by non-dominated front first); for molecules,
   the portfolio and the selection together give no larger share of the library to designs carrying a
   BRENK (or NIH) alert than the offline designs have (`genmbo.selection.alert_quota`);
10. ``polish``: single-edit hill climbing of the chosen designs (`genmbo.selection.polishing`; off unless the
    method or the config asks);
11. ``rank``: the library in its final order, by the same values and diversity;
12. ``metrics``: `genmbo.campaign.measures.measure_library`; the callers score with the task's oracle and
    write the outputs.

Validity, uniqueness and novelty are measured on the decoded search pool, before filtering; diversity and
nearest-offline similarity on the library.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genmbo.campaign.measures import pool_metrics
from genmbo.campaign.pool_rounds import fill_pool
from genmbo.campaign.portfolio import portfolio_designs
from genmbo.config import GenmboConfig, SelectionConfig, StagesConfig, SurrogateConfig
from genmbo.data.offline import OfflineDataset
from genmbo.metrics.design_distance import design_features, distance_kind
from genmbo.models.prior import Prior
from genmbo.models.surrogates.design import DesignSurrogate, fit_design_surrogate, has_design_features
from genmbo.models.surrogates.ensemble import EnsembleSurrogate, fit_surrogate
from genmbo.models.surrogates.objectives import ObjectiveSurrogates, fit_objective_surrogates
from genmbo.runtime.background import reclaim_lent_core
from genmbo.runtime.progress import progress_enabled
from genmbo.search.base import SearchMethod, SearchProblem
from genmbo.selection.alert_quota import AlertQuota
from genmbo.selection.constraints import DesignFilter
from genmbo.selection.diverse import Quota, select_diverse
from genmbo.selection.filtering import NewDesigns
from genmbo.selection.pareto_ranking import front_ranks
from genmbo.selection.polishing import polish
from genmbo.selection.valuing import DesignValues


class Stopwatch:
    """Times named stages into `timings`; with progress on and `announce`, says on stdout when each starts
    and ends (stderr is kept for progress bars and for the one-line error a failure prints). A stage
    starts by taking back a core lent to background work that has ended (`genmbo.runtime.background`)."""

    def __init__(self, announce: bool = True) -> None:
        self.timings: dict[str, float] = {}
        self.announce = announce

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        reclaim_lent_core()
        announce = self.announce and progress_enabled()
        if announce:
            print(f"[{name}] ...", flush=True)
        started = time.perf_counter()
        yield
        self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 3)
        if announce:
            print(f"[{name}] done in {self.timings[name]:.1f} s", flush=True)


@dataclass
class Models:
    """The fitted models of a run: the prior, the offline latents (`n x d`), the latent surrogate (the
    objectives' surrogates, with several objectives) and, where the library is polished on a space with
    design features, the design surrogate."""

    prior: Prior
    latents: torch.Tensor
    surrogate: EnsembleSurrogate | ObjectiveSurrogates
    design_surrogate: DesignSurrogate | None = None


@dataclass
class Library:
    """A run's library, best first: designs, their predicted mean, std and acquisition (`n` each), their
    encodings (`n x d`) and design features, with the search pool's metrics and the filter's counts; with
    several objectives, their predictions (`ObjectivePredictions`)."""

    designs: list[Any]
    mean: torch.Tensor
    std: torch.Tensor
    acquisition: torch.Tensor
    latents: torch.Tensor
    features: torch.Tensor
    pool: dict[str, float]
    dropped: dict[str, int]
    objectives: ObjectivePredictions | None = None


@dataclass
class ObjectivePredictions:
    """A multi-objective library's predictions, a row per design: each objective's mean and std (`n x m`,
    maximized), each objective's column before any desirability (`target_mean`, `target_std`, oriented),
    each constraint column's (`n x c`, the data's units), whether the design is feasible (None without
    constraints), and its front within the library by its pessimistic objectives (0: undominated;
    infeasible designs last)."""

    mean: torch.Tensor
    std: torch.Tensor
    target_mean: torch.Tensor
    target_std: torch.Tensor
    constraint_mean: torch.Tensor
    constraint_std: torch.Tensor
    feasible: torch.Tensor | None
    front: torch.Tensor

    @classmethod
    def of(cls, values: DesignValues, designs: list[Any], latents: torch.Tensor) -> ObjectivePredictions:
        mean, std = values.predict_objectives(designs, latents)
        target_mean, target_std = values.predict_targets(designs, latents)
        table = values.objectives.table if values.objectives is not None else None
        assert table is not None, "objective predictions need the objectives' surrogates"
        constraint_mean = constraint_std = torch.zeros(len(designs), 0)
        feasible = None
        if table.constraints is not None:
            constraint_mean, constraint_std = values.predict_constraints(designs, latents)
            feasible = table.constraints.feasible(constraint_mean, constraint_std, values.kappa)
        front = front_ranks(table.feasible_values(mean - values.kappa * std, feasible))
        return cls(mean, std, target_mean, target_std, constraint_mean, constraint_std, feasible, front)


def design_stages(stages: StagesConfig, method: SearchMethod) -> tuple[float, int]:
    """The portfolio share and the polishing rounds of this run: the config's, else the method's."""
    portfolio = method.portfolio if stages.portfolio is None else stages.portfolio
    rounds = method.polish_rounds if stages.polish_rounds is None else stages.polish_rounds
    return portfolio, rounds


def fit_surrogates(
    dataset: OfflineDataset,
    latents: torch.Tensor,
    config: SurrogateConfig,
    folder: Path,
    design_folder: Path,
    seed: int,
    with_design_surrogate: bool,
) -> tuple[EnsembleSurrogate | ObjectiveSurrogates, DesignSurrogate | None]:
    """The latent surrogate (saved in `folder`) and, when asked and the space has design features, the
    design surrogate (in `design_folder`); a rerun resumes either. With several objectives, their
    surrogates (in `folder/objectives`) and no design surrogate."""
    if dataset.objectives is not None:
        return fit_objective_surrogates(
            latents, dataset.objectives, config, folder / "objectives", seed
        ), None
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    surrogate = fit_surrogate(latents, scores, config, folder, seed=seed).eval()
    wanted = with_design_surrogate and has_design_features(dataset.space)
    design_surrogate = fit_design_surrogate(dataset, config, design_folder, seed) if wanted else None
    return surrogate, design_surrogate


@dataclass(frozen=True)
class LibraryPlan:
    """What making a library needs of a run's config: `count` designs, the `seed`, the selection settings,
    the design stages resolved for the method, and whether designs already measured are excluded."""

    count: int
    seed: int
    selection: SelectionConfig
    portfolio: float
    polish_rounds: int
    exclude_offline: bool

    @classmethod
    def of(cls, config: GenmboConfig, method: SearchMethod) -> LibraryPlan:
        portfolio, polish_rounds = design_stages(config.stages, method)
        exclude = config.constraints.exclude_offline and not method.proposes_offline_designs
        return cls(
            config.run.n_candidates, config.run.seed, config.selection, portfolio, polish_rounds, exclude
        )


def make_library(
    plan: LibraryPlan,
    dataset: OfflineDataset,
    models: Models,
    method: SearchMethod,
    constraints: DesignFilter,
    method_dir: Path,
    clock: Stopwatch,
) -> Library | None:
    """Stages 4 to 11 (see the module docstring), `constraints` built from the config's (by the caller, so
    that a bad one stops the run before any training); None in a helper process of a distributed run."""
    count, selection, exclude_offline = plan.count, plan.selection, plan.exclude_offline
    space = dataset.space
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    pool_size = count * selection.pool_factor
    searched = search_surrogate(models.surrogate, selection, pool_size, plan.seed)
    new = NewDesigns(space, dataset.designs, constraints, exclude_offline)
    problem = SearchProblem(
        models.latents,
        scores,
        searched,
        models.prior,
        dataset.designs,
        space,
        selection.kappa,
        new.acceptable,
    )
    generator = torch.Generator().manual_seed(plan.seed)
    with clock.stage("fit_method"):
        method.fit(problem, pool_size, generator, method_dir)
    with clock.stage("search"):
        found = method.candidates(problem, pool_size, generator)
    if not _is_main_process():
        # Under a launcher that runs the whole command in every process (strategy ddp), the others
        # helped train and sample; one process chooses the library and writes the outputs.
        return None
    quota = AlertQuota.of(constraints, count)
    with clock.stage("portfolio"):
        reserved = portfolio_designs(problem, round(plan.portfolio * count), new, generator, quota)
    with clock.stage("decode"):
        pool_designs = list(found.designs_from(models.prior.autoencoder))
    with clock.stage("filter"):
        kept, dropped = new.filter(pool_designs)
    rounds = fill_pool(
        lambda: method.candidates(problem, pool_size, generator).designs_from(models.prior.autoencoder),
        new,
        quota,
        (pool_designs, kept, dropped),
        count,
        count - len(reserved),
        selection.pool_rounds,
        clock,
    )
    with clock.stage("filter"):
        pool = {**pool_metrics(dataset, pool_designs), "rounds": rounds}
    measured = {} if exclude_offline else _measured_scores(dataset)
    measured_rows = {} if exclude_offline or dataset.objectives is None else _measured_rows(dataset)
    values = DesignValues(
        space,
        models.prior.autoencoder,
        models.surrogate,
        models.design_surrogate,
        measured,
        problem.kappa,
        measured_rows,
    )
    with clock.stage("select"):
        kept_designs = [pool_designs[index] for index in kept]
        wanted = min(count - len(reserved), len(kept_designs))
        quotas = quota.quotas(kept_designs, len(reserved) + wanted)
        chosen = _diverse(selection, values, kept_designs, wanted, selection.shortlist_factor, quotas)
        designs = quota.trim(reserved + [kept_designs[index] for index in chosen])
        if quota.shares:
            pool["alert_caps"] = quota.usage(designs)
    with clock.stage("polish"):
        neighbors = NewDesigns(space, dataset.designs, constraints, exclude_offline)
        for design in designs:  # the library's designs are taken: polishing moves to other ones
            neighbors.admits(design)
        designs = polish(designs, plan.polish_rounds, space, dataset.designs, values, neighbors, generator)
    with clock.stage("rank"):
        order = _diverse(selection, values, designs, len(designs), 1.0)
        designs = [designs[index] for index in order]
        latents = values.encode(designs) if designs else models.latents[:0].float()
        mean, std = values.predict(designs, latents)
        features = _features(dataset, designs)
        objectives = None if values.objectives is None else ObjectivePredictions.of(values, designs, latents)
    acquisition = values.acquisition(mean, std)
    return Library(designs, mean, std, acquisition, latents, features, pool, dropped, objectives)


def search_surrogate(
    surrogate: EnsembleSurrogate | ObjectiveSurrogates, selection: SelectionConfig, pool_size: int, seed: int
) -> EnsembleSurrogate | ObjectiveSurrogates:
    """What the search climbs: the surrogate; with several objectives, their ParEGO scalarizations over
    ``min(pool_size, selection.scalarizations)`` weight vectors, or with one the objectives' own weights."""
    if isinstance(surrogate, ObjectiveSurrogates) and selection.scalarizations > 1:
        return surrogate.spread(min(pool_size, selection.scalarizations), seed)
    return surrogate


def _diverse(
    selection: SelectionConfig,
    values: DesignValues,
    designs: list[Any],
    count: int,
    shortlist_factor: float,
    quotas: Sequence[Quota] = (),
) -> list[int]:
    """Indices of `count` of `designs` in selection order (`select_diverse`), by their acquisition."""
    if not designs or count <= 0:
        return []
    ranking = values.ranking(designs)
    features = design_features(values.space, designs)
    kind = distance_kind(values.space)
    return select_diverse(
        ranking, features, kind, count, selection.diversity_weight, shortlist_factor, quotas
    )


def _measured_rows(dataset: OfflineDataset) -> dict[Any, int]:
    """Each offline design's row of the dataset (and so of its objective table) by design key."""
    return {dataset.space.key(design): row for row, design in enumerate(dataset.designs)}


def _features(dataset: OfflineDataset, designs: list[Any]) -> torch.Tensor:
    return design_features(dataset.space, designs) if designs else torch.zeros(0, 1)


def _measured_scores(dataset: OfflineDataset) -> dict[Any, float]:
    """The offline designs' scores (higher is better) by design key."""
    return {
        dataset.space.key(design): float(score)
        for design, score in zip(dataset.designs, dataset.scores, strict=True)
    }


def _is_main_process() -> bool:
    distributed = torch.distributed
    return not (distributed.is_available() and distributed.is_initialized()) or distributed.get_rank() == 0
