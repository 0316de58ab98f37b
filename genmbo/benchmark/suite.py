"""The quality benchmark: tasks x methods x seeds under the Design-Bench protocol, one results table.

Protocol (Trabucco et al., "Design-Bench", ICML 2022, Sec. 5): each method sees only a task's visible
rows, proposes 128 candidates, and is scored by the 100th and 50th percentile of their oracle scores,
normalized by the full dataset's min and max; results are the mean and standard deviation over seeds.
Each run is `genmbo.campaign.pipeline`'s, so the candidates are the library `genmbo design` writes for the
same task, seed and config with ``n_candidates = budget`` (filtered, selected, and through the design stages
the method or its options ask for); it is saved as ``OUT/TASK/seed-S/LABEL/library.csv``. Added here: the
library's size (below the budget where the filters left too few designs), the share of valid designs and
their novelty (distinct valid designs absent from the visible data) in the method's pool, the library's
diversity, wall time per run and, for molecules, the library's realism beside the
offline top decile's (`realism_columns`). A base config may not set what every run sets itself
(`check_base`).

Per (task, seed) the prior and the surrogates are fitted once, with that seed, and shared by every method,
so methods differ only in their search and stages; each method gets the prior `genmbo design` would give it,
so on molecules the shipped MOSES diffusion serves every method but DDOM, which needs a diffusion
conditioned on the score and gets one trained on the campaign (`_priors`). `coms` is gradient ascent on a
surrogate trained with the COMs loss (Trabucco et al., ICML 2021), fitted beside the default one. Every
fitted model is saved under ``OUT/TASK/seed-S``, so a rerun skips the training already done (the searches
run again).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from genmbo.benchmark.evaluation import oracle_metrics
from genmbo.campaign.design import library_frame
from genmbo.campaign.inputs import resolve_dataset
from genmbo.campaign.measures import measure_library
from genmbo.campaign.pipeline import (
    LibraryPlan,
    Models,
    Stopwatch,
    design_stages,
    fit_surrogates,
    make_library,
)
from genmbo.config import GenmboConfig, from_mapping, to_mapping
from genmbo.data.offline import OfflineDataset
from genmbo.errors import ConfigError
from genmbo.metrics.molecule_realism import molecule_property_metrics
from genmbo.metrics.realism import top_decile_properties
from genmbo.models.prior import Prior, fit_prior_and_encode
from genmbo.models.surrogates.design import DESIGN_SURROGATE_FOLDER
from genmbo.models.training import configured_run
from genmbo.outputs.files import write_text_atomic
from genmbo.runtime.progress import progress_enabled
from genmbo.search.registry import build_search_method
from genmbo.selection.constraints import DesignFilter
from genmbo.spaces import MoleculeSpace
from genmbo.tasks import get_task

STANDARD_TASKS = (
    "tfbind8",
    "ehrlich-s20-d32-m2-l4-q4",
    "ehrlich-s32-d64-m4-l4-q4",
    "moses-penalized-logp",
    "moses-osimertinib-mpo",
    "moses-fexofenadine-mpo",
    "ackley-32",
    "levy-32",
)
STANDARD_METHODS = ("best_offline", "gradient_ascent", "coms", "ddom", "pgs", "genetic", "guided_diffusion")
# Named variants: a label for a method with options and, optionally, its own surrogate loss.
VARIANTS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "coms": ("gradient_ascent", {}, {"loss": "coms"}),
}
RESULT_COLUMNS = ["task", "method", "seed", "score_100th", "score_50th", "top10_mean", "validity"]


@dataclass
class MethodSpec:
    """A benchmark column: `label`, the registered `method`, its `options`, and overrides of the
    config's `surrogate`, `stages` and `constraints` sections."""

    label: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    surrogate: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    constraints: dict[str, Any] = field(default_factory=dict)


def parse_method(spec: str) -> MethodSpec:
    """``NAME``, a named variant (``coms``), or ``LABEL=METHOD:{json options}``; the options may hold
    ``"surrogate"``, ``"stages"`` and ``"constraints"`` objects of config keys
    (``{"stages": {"polish_rounds": 4}}``)."""
    if spec in VARIANTS:
        method, options, surrogate = VARIANTS[spec]
        return MethodSpec(spec, method, dict(options), dict(surrogate))
    head, _, options_text = spec.partition(":")
    label, _, method = head.rpartition("=")
    method = method or head
    try:
        options = json.loads(options_text) if options_text else {}
    except json.JSONDecodeError as error:
        raise ConfigError(f"method {spec!r}: options are not JSON ({error.msg})") from None
    if not isinstance(options, dict):
        raise ConfigError(f"method {spec!r}: options must be a JSON object")
    if "method" in options:
        raise ConfigError(f"method {spec!r}: name the method before the colon, not in its options")
    sections = {section: options.pop(section, {}) for section in ("surrogate", "stages", "constraints")}
    for section, keys in sections.items():
        if not isinstance(keys, dict):
            raise ConfigError(f"method {spec!r}: the {section!r} option must be an object of {section} keys")
    return MethodSpec(label or method, method, options, **sections)


def run_benchmark(
    tasks: Sequence[str],
    method_specs: Sequence[str],
    seeds: Sequence[int],
    out: Path,
    base: GenmboConfig | None = None,
    budget: int = 128,
) -> pd.DataFrame:
    """Run every (task, seed, method); write `results.csv` and `results.md` into `out`; the results."""
    specs = [parse_method(spec) for spec in method_specs]
    for task_name in tasks:
        get_task(task_name)
    base = base or GenmboConfig()
    check_base(base)
    for spec in specs:  # every method and option checked before any training
        run_config(base, spec, tasks[0] if tasks else None, 0, budget)
    rows: list[dict[str, Any]] = []
    for task_name in tasks:
        for seed in seeds:
            rows += _run_task_seed(task_name, seed, specs, out, base, budget)
            results = pd.DataFrame(rows)
            write_results(results, out, [spec.label for spec in specs], budget)
    return pd.DataFrame(rows)


# What each run sets itself: a base config that sets them would be overridden without a word.
RUN_KEYS = {
    ("task", "name"): "--tasks",
    ("data", "path"): "--tasks",
    ("run", "seed"): "--seeds",
    ("run", "n_candidates"): "--budget",
}


def check_base(base: GenmboConfig) -> None:
    """Stop with one line when the base config sets what every run sets itself (the method and its
    options, the task, the seed, the library size): the benchmark would silently ignore it."""
    defaults = to_mapping(GenmboConfig())
    given = to_mapping(base)
    if given["search"] != defaults["search"]:
        raise ConfigError(
            "genmbo benchmark takes the methods and their options from --methods "
            "(e.g. 'hot=guided_diffusion:{\"scale\": 2}'), not from the search section of --config or --set"
        )
    for (section, key), flag in RUN_KEYS.items():
        if given[section][key] != defaults[section][key]:
            raise ConfigError(f"genmbo benchmark sets {section}.{key} itself: use {flag} instead")


def run_config(
    base: GenmboConfig, spec: MethodSpec, task: str | None, seed: int, budget: int
) -> GenmboConfig:
    """The `genmbo design` config of one benchmark run: `base` on `task`'s data with `seed`, the spec's
    method, options and overrides, and `budget` candidates."""
    raw = to_mapping(base)
    raw["task"]["name"] = task
    raw["data"]["path"] = None
    raw["run"]["seed"] = seed
    raw["run"]["n_candidates"] = budget
    raw["search"] = {"method": spec.method, **spec.options}
    raw["surrogate"] |= spec.surrogate
    raw["stages"] |= spec.stages
    raw["constraints"] |= spec.constraints
    return from_mapping(GenmboConfig, raw, source=f"method {spec.label!r}")


def _priors(
    dataset: OfflineDataset, config: GenmboConfig, needs: set[bool], folder: Path, seed: int
) -> dict[bool, tuple[Prior, torch.Tensor]]:
    """The prior and latents each method gets in `genmbo design`, by whether it needs a score-conditioned
    diffusion: where the shipped MOSES diffusion serves the others, a method that needs one (DDOM) gets a
    diffusion trained on the campaign (`prior-conditional`); elsewhere one prior, trained conditional,
    serves both."""
    priors = {}
    if False in needs:
        priors[False] = fit_prior_and_encode(dataset, config.prior, folder / "prior", seed, False)
    if True in needs:
        if False in priors and priors[False][0].diffusion.hparams.conditional:
            priors[True] = priors[False]
        else:
            name = "prior-conditional" if False in priors else "prior"
            priors[True] = fit_prior_and_encode(dataset, config.prior, folder / name, seed, True)
    return priors


def _run_task_seed(
    task_name: str, seed: int, specs: list[MethodSpec], out: Path, base: GenmboConfig, budget: int
) -> list[dict[str, Any]]:
    folder = out / task_name / f"seed-{seed}"
    configs = {spec.label: run_config(base, spec, task_name, seed, budget) for spec in specs}
    methods = {
        label: build_search_method(config.search.method, **config.search.options())
        for label, config in configs.items()
    }
    first = configs[specs[0].label]
    with configured_run(first):
        started = time.perf_counter()
        dataset, task = resolve_dataset(first)
        assert task is not None
        filters = realism_filters(dataset, configs)
        needs = {method.needs_condition for method in methods.values()}
        priors = _priors(dataset, first, needs, folder, seed)
        latents = next(iter(priors.values()))[1]
        prepare_seconds = time.perf_counter() - started
        surrogates: dict[str, tuple[Any, Any, float]] = {}
        reference = top_decile_realism(dataset)
        rows = []
        for spec in specs:
            config, method = configs[spec.label], methods[spec.label]
            polishes = design_stages(config.stages, method)[1] > 0
            key = json.dumps([to_mapping(config.surrogate), polishes], sort_keys=True)
            if key not in surrogates:
                started = time.perf_counter()
                # One folder per surrogate configuration (the default's unsuffixed), so that no
                # configuration resumes another's checkpoint.
                name = "-".join(f"{k}-{v}" for k, v in spec.surrogate.items())
                fitted = fit_surrogates(
                    dataset,
                    latents,
                    config.surrogate,
                    folder / f"surrogate-{name or 'default'}",
                    folder / (DESIGN_SURROGATE_FOLDER + (f"-{name}" if name else "")),
                    seed,
                    polishes,
                )
                surrogates[key] = (*fitted, time.perf_counter() - started)
            surrogate, design_surrogate, surrogate_seconds = surrogates[key]
            clock = Stopwatch(announce=False)  # one line per run below, not one per stage
            models = Models(priors[method.needs_condition][0], latents, surrogate, design_surrogate)
            plan = LibraryPlan.of(config, method)
            # One policy folder for every method: trainings are kept apart by their fingerprint, and
            # variants that train the same step-size policy (the ablation's) train it once.
            library = make_library(
                plan, dataset, models, method, filters[spec.label], folder / "policy", clock
            )
            if library is None:  # a helper process of a distributed run
                continue
            measures = measure_library(dataset, library)
            metrics = oracle_metrics(task_name, library.designs)
            frame = library_frame(dataset, library, measures)
            frame["oracle_score"] = task.oracle(library.designs)
            frame["normalized_score"] = task.normalize(frame["oracle_score"].to_numpy())
            (folder / spec.label).mkdir(parents=True, exist_ok=True)
            write_text_atomic(folder / spec.label / "library.csv", frame.to_csv(index=False))
            search_seconds = sum(clock.timings.values())
            row = {
                "task": task_name,
                "method": spec.label,
                "seed": seed,
                **{key: metrics.get(key, np.nan) for key in ("score_100th", "score_50th", "top10_mean")},
                "library_size": len(library.designs),
                "validity": library.pool["validity"],
                "novelty": library.pool["novelty"],
                "diversity": measures.metrics["diversity"],
                "search_seconds": round(search_seconds, 2),
                "fit_seconds": round(prepare_seconds + surrogate_seconds, 2),
                "best_offline_normalized": metrics["best_offline_normalized"],
                **realism_columns(library.designs, reference),
                **{key: metrics["pareto_oracle"][key] for key in PARETO_KEYS if "pareto_oracle" in metrics},
            }
            rows.append(row)
            if progress_enabled():
                print(
                    f"{task_name} seed {seed} {spec.label}: 100th {row['score_100th']:.3f} "
                    f"50th {row['score_50th']:.3f} ({search_seconds:.1f} s)",
                    flush=True,
                )
    return rows


def realism_filters(dataset: OfflineDataset, configs: dict[str, GenmboConfig]) -> dict[str, DesignFilter]:
    """Each run's `DesignFilter`, built once per distinct constraints section (its realism bounds read
    the offline designs)."""
    built: dict[str, DesignFilter] = {}
    filters = {}
    for label, config in configs.items():
        key = json.dumps(to_mapping(config.constraints), sort_keys=True)
        if key not in built:
            built[key] = DesignFilter(dataset.space, config.constraints, dataset.designs)
        filters[label] = built[key]
    return filters


REALISM_KEYS = ("sa_mean", "sa_above_4", "large_ring_share", "pains_share", "brenk_share", "nih_share")
# Multi-objective tasks' columns (`genmbo.benchmark.evaluation.pareto_oracle_metrics`).
PARETO_KEYS = ("hypervolume_normalized", "offline_hypervolume_normalized", "undominated_share")


def top_decile_realism(dataset: OfflineDataset) -> dict[str, float]:
    """For molecules, `REALISM_KEYS` of the offline data's best tenth (`top_decile_properties`); {} for
    other spaces."""
    if not isinstance(dataset.space, MoleculeSpace):
        return {}
    best = top_decile_properties(dataset.designs, dataset.scores)
    return {f"top_decile_{key}": best[key] for key in REALISM_KEYS}


def realism_columns(designs: Sequence[Any], reference: dict[str, float]) -> dict[str, float]:
    """For molecules (a non-empty `reference`), the library's SA score, share with SA above 4, and shares
    with a ring of more than 7 atoms and with a PAINS, BRENK and NIH alert, beside `reference`; {} for
    other spaces."""
    if not reference:
        return {}
    measured = molecule_property_metrics([design for design in designs if design is not None])
    return {key: measured[key] for key in REALISM_KEYS} | reference


def summary_table(results: pd.DataFrame, labels: Sequence[str], column: str = "score_100th") -> str:
    """Markdown: methods by tasks, ``mean ± std`` of `column` over seeds (population std, as
    Design-Bench reports), the 50th percentile's mean in brackets, and each method's mean over tasks."""
    tasks = list(dict.fromkeys(results["task"]))
    lines = ["| method | " + " | ".join(tasks) + " | mean over tasks |", "|---" * (len(tasks) + 2) + "|"]
    for label in labels:
        cells, means = [], []
        for task in tasks:
            runs = results[(results["task"] == task) & (results["method"] == label)]
            if runs.empty:
                cells.append("")
                continue
            values = runs[column].to_numpy(dtype=float)
            mean = float(np.mean(values))
            means.append(mean)
            median_mean = float(np.mean(runs["score_50th"].to_numpy(dtype=float)))
            cells.append(f"{mean:.3f} ± {float(np.std(values)):.3f} ({median_mean:.3f})")
        overall = f"{np.mean(means):.3f}" if means else ""
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {overall} |")
    return "\n".join(lines)


def rank_table(results: pd.DataFrame, labels: Sequence[str], column: str = "score_100th") -> str:
    """Markdown: each method's mean rank over tasks of its mean `column` (1 = best; ties share the average
    rank; -inf and NaN rank last), the tasks where it ranks first alone, and how many tasks it was ranked
    on (a method missing from a task is not ranked there). Unlike a mean of scores, one task with a wide
    normalized range (Ackley reaches 10.9) cannot outweigh the others (average ranks as in Demšar,
    "Statistical comparisons of classifiers over multiple data sets", JMLR 7, 2006)."""
    ran = results.groupby(["task", "method"]).size().unstack().notna()
    means = results.groupby(["task", "method"])[column].mean().unstack()
    means = means[[label for label in labels if label in means.columns]].fillna(-np.inf).where(ran)
    ranks = means.rank(axis=1, ascending=False, method="average")
    lines = ["| method | mean rank | tasks won | tasks ranked |", "|---|---|---|---|"]
    for label in means.columns:
        won, ranked = int((ranks[label] == 1).sum()), int(ranks[label].notna().sum())
        lines.append(f"| {label} | {ranks[label].mean():.2f} | {won} | {ranked} |")
    return "\n".join(lines)


def write_results(results: pd.DataFrame, out: Path, labels: Sequence[str], budget: int = 128) -> None:
    """`results.csv` and the Markdown summary `results.md` (methods in the order of `labels`) in `out`."""
    descriptor = out / "results.csv"
    write_text_atomic(descriptor, results.to_csv(index=False))
    seed_counts = sorted(set(results.groupby("task")["seed"].nunique()))
    seeds = (
        f"seeds {sorted(set(results['seed']))}"
        if len(seed_counts) == 1
        else f"each task's seeds ({seed_counts[0]} to {seed_counts[-1]})"
    )
    header = (
        f"Normalized 100th percentile, mean ± std over {seeds} (50th percentile's mean in brackets); "
        f"{budget} candidates per run.\n\n"
    )
    ranks = f"\n\nMean rank over the {results['task'].nunique()} tasks of each method's mean (1 = best):\n\n"
    realism = ""
    if "sa_mean" in results and results["sa_mean"].notna().any():
        realism = (
            "\n\nRealism of the molecular libraries, mean over seeds: SA score, share with SA > 4, with a "
            "ring of more than 7 atoms, with a PAINS, a BRENK and an NIH alert (the offline data's top "
            "decile last):\n\n" + realism_table(results, labels)
        )
    short = ""
    if "library_size" in results and (results["library_size"] < budget).any():
        short = (
            f"\n\nLibraries short of the {budget} candidates asked for (the filters left too few new "
            "designs), mean size over seeds:\n\n" + short_library_table(results, labels, budget)
        )
    pareto = ""
    if "hypervolume_normalized" in results and results["hypervolume_normalized"].notna().any():
        pareto = (
            "\n\nMulti-objective tasks: the library's hypervolume (oracle objectives, from the visible "
            "data's reference point) as a share of the full dataset's, mean ± std over seeds, with the "
            "share of the library no visible design dominates in brackets; the visible data's own last:\n\n"
            + hypervolume_table(results, labels)
        )
    write_text_atomic(
        out / "results.md",
        header
        + summary_table(results, labels)
        + ranks
        + rank_table(results, labels)
        + realism
        + short
        + pareto
        + "\n",
    )


def hypervolume_table(results: pd.DataFrame, labels: Sequence[str]) -> str:
    """Markdown: methods by multi-objective tasks, ``mean ± std`` of the normalized hypervolume (the
    undominated share's mean in brackets), and the visible data's normalized hypervolume."""
    runs = results[results["hypervolume_normalized"].notna()]
    tasks = list(dict.fromkeys(runs["task"]))
    lines = ["| method | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    for label in labels:
        cells = []
        for task in tasks:
            mine = runs[(runs["task"] == task) & (runs["method"] == label)]
            values = mine["hypervolume_normalized"].to_numpy(dtype=float)
            share = float(np.mean(mine["undominated_share"].to_numpy(dtype=float))) if len(mine) else np.nan
            cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f} ({share:.2f})" if len(mine) else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    offline = [f"{runs[runs['task'] == task]['offline_hypervolume_normalized'].mean():.3f}" for task in tasks]
    lines.append("| visible data | " + " | ".join(offline) + " |")
    return "\n".join(lines)


def short_library_table(results: pd.DataFrame, labels: Sequence[str], budget: int) -> str:
    """Markdown: each (task, method) whose libraries fell short of `budget` on some seed, with the mean
    and smallest library size (rows written before `library_size` existed are left out)."""
    sized = results[results["library_size"].notna()]
    lines = ["| task | method | mean size | smallest |", "|---|---|---|---|"]
    for task, runs in sized.groupby("task", sort=False):
        for label in labels:
            sizes = runs[runs["method"] == label]["library_size"].to_numpy(dtype=float)
            if len(sizes) and sizes.min() < budget:
                lines.append(f"| {task} | {label} | {sizes.mean():.1f} | {sizes.min():.0f} |")
    return "\n".join(lines)


def realism_table(results: pd.DataFrame, labels: Sequence[str]) -> str:
    """Markdown: for each molecular task, each method's mean `REALISM_KEYS`, and the top decile's."""
    molecular = results[results["sa_mean"].notna()]
    lines = [
        "| task | method | SA | SA > 4 | ring > 7 atoms | PAINS | BRENK | NIH |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, runs in molecular.groupby("task", sort=False):
        for label in [*labels, "offline top decile"]:
            # Rows written before a column existed (BRENK and NIH came after PAINS) have none: "–".
            if label == "offline top decile":
                columns = [f"top_decile_{key}" for key in REALISM_KEYS]
                means = runs.reindex(columns=columns).mean().to_numpy()
            else:
                mine = runs[runs["method"] == label]
                if mine.empty:
                    continue
                means = mine.reindex(columns=list(REALISM_KEYS)).mean().to_numpy()
            shares = " | ".join("–" if np.isnan(value) else f"{value:.1%}" for value in means[1:])
            lines.append(f"| {task} | {label} | {means[0]:.2f} | {shares} |")
    return "\n".join(lines)
