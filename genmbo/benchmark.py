"""The quality benchmark: tasks x methods x seeds under the Design-Bench protocol, one results table.

Protocol (Trabucco et al., "Design-Bench", ICML 2022, Sec. 5): each method sees only a task's visible
rows, proposes 128 candidates, and is scored by the 100th and 50th percentile of their oracle scores,
normalized by the full dataset's min and max; results are the mean and standard deviation over seeds.
Added here: the share of valid candidates, novelty (distinct valid candidates absent from the visible
data), diversity (`genmbo.design.library_metrics`) and wall time per run.

Per (task, seed) the prior and the surrogate are fitted once, with that seed, and shared by every method,
so methods differ only in their search; `coms` is gradient ascent on a surrogate trained with the COMs
loss (Trabucco et al., ICML 2021), fitted beside the default one. Every fitted model is saved under
``OUT/TASK/seed-S``, so a rerun skips the training already done (the searches run again).
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

from genmbo.campaign import needs_condition
from genmbo.config import GenmboConfig, SurrogateConfig, from_mapping, to_mapping
from genmbo.design import library_metrics
from genmbo.errors import ConfigError
from genmbo.evaluation import oracle_metrics
from genmbo.inputs import resolve_dataset
from genmbo.models.design_surrogate import DESIGN_SURROGATE_FOLDER, fit_design_surrogate
from genmbo.models.prior import fit_prior_and_encode
from genmbo.models.surrogate import fit_surrogate
from genmbo.outputs import write_text_atomic
from genmbo.progress import progress_enabled
from genmbo.search.base import SearchProblem
from genmbo.search.registry import build_search_method, policy_search_of
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
    """A benchmark column: `label`, the registered `method`, its `options` and surrogate overrides."""

    label: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    surrogate: dict[str, Any] = field(default_factory=dict)


def parse_method(spec: str) -> MethodSpec:
    """``NAME``, a named variant (``coms``), or ``LABEL=METHOD:{json options}``."""
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
    surrogate = options.pop("surrogate", {})
    if not isinstance(surrogate, dict):
        raise ConfigError(f"method {spec!r}: the 'surrogate' option must be an object of surrogate keys")
    return MethodSpec(label or method, method, options, surrogate)


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
    for spec in specs:  # every method and option checked before any training
        build_search_method(spec.method, **spec.options)
        _surrogate_config(base or GenmboConfig(), spec)
    rows: list[dict[str, Any]] = []
    for task_name in tasks:
        for seed in seeds:
            rows += _run_task_seed(task_name, seed, specs, out, base or GenmboConfig(), budget)
            results = pd.DataFrame(rows)
            write_results(results, out, [spec.label for spec in specs], budget)
    return pd.DataFrame(rows)


def _run_task_seed(
    task_name: str, seed: int, specs: list[MethodSpec], out: Path, base: GenmboConfig, budget: int
) -> list[dict[str, Any]]:
    raw = to_mapping(base)
    raw["task"]["name"] = task_name
    raw["data"]["path"] = None
    raw["run"]["seed"] = seed
    config = from_mapping(GenmboConfig, raw, source="benchmark")
    folder = out / task_name / f"seed-{seed}"
    started = time.perf_counter()
    dataset, task = resolve_dataset(config)
    conditional = needs_condition([spec.method for spec in specs])
    prior, latents = fit_prior_and_encode(dataset, config.prior, folder / "prior", seed, conditional)
    prepare_seconds = time.perf_counter() - started
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    surrogates: dict[str, Any] = {}
    rows = []
    for spec in specs:
        surrogate_config = _surrogate_config(config, spec)
        key = json.dumps(to_mapping(surrogate_config), sort_keys=True)
        name = "default" if not spec.surrogate else "-".join(f"{k}-{v}" for k, v in spec.surrogate.items())
        if key not in surrogates:
            started = time.perf_counter()
            surrogate = fit_surrogate(latents, scores, surrogate_config, folder / f"surrogate-{name}", seed)
            surrogates[key] = (surrogate.eval(), time.perf_counter() - started)
        surrogate, surrogate_seconds = surrogates[key]
        method = build_search_method(spec.method, **spec.options)
        design_surrogate = None
        if method.uses_design_surrogate:
            design_key = "designs " + key
            if design_key not in surrogates:
                started = time.perf_counter()
                # One folder per surrogate configuration, as for the latent surrogates (the default's
                # unsuffixed), so that no configuration resumes another's checkpoint.
                suffix = "" if name == "default" else f"-{name}"
                fitted = fit_design_surrogate(
                    dataset, surrogate_config, folder / f"{DESIGN_SURROGATE_FOLDER}{suffix}", seed
                )
                surrogates[design_key] = (fitted, time.perf_counter() - started)
            design_surrogate, design_seconds = surrogates[design_key]
            surrogate_seconds += design_seconds
        if (policy_search := policy_search_of(method)) is not None:
            policy_search.run_dir = folder / f"policy-{spec.label}"
        started = time.perf_counter()
        problem = SearchProblem(
            latents, scores, surrogate, prior, dataset.designs, dataset.space, design_surrogate
        )
        found = method.candidates(problem, budget, torch.Generator().manual_seed(seed))
        designs = found.designs_from(prior.autoencoder)
        search_seconds = time.perf_counter() - started
        metrics = oracle_metrics(task_name, designs)
        valid = [design for design in designs if design is not None]
        quality = library_metrics(dataset, valid) if valid else {}
        row = {
            "task": task_name,
            "method": spec.label,
            "seed": seed,
            **{
                key: metrics.get(key, np.nan)
                for key in ("score_100th", "score_50th", "top10_mean", "validity")
            },
            "novelty": quality.get("novelty", np.nan),
            "diversity": quality.get("diversity", np.nan),
            "search_seconds": round(search_seconds, 2),
            "fit_seconds": round(prepare_seconds + surrogate_seconds, 2),
            "best_offline_normalized": metrics["best_offline_normalized"],
        }
        rows.append(row)
        if progress_enabled():
            print(
                f"{task_name} seed {seed} {spec.label}: 100th {row['score_100th']:.3f} "
                f"50th {row['score_50th']:.3f} ({search_seconds:.1f} s)",
                flush=True,
            )
    return rows


def _surrogate_config(config: GenmboConfig, spec: MethodSpec) -> SurrogateConfig:
    raw = to_mapping(config.surrogate) | spec.surrogate
    return from_mapping(SurrogateConfig, raw, source=f"method {spec.label!r}", prefix="surrogate.")


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
    write_text_atomic(
        out / "results.md",
        header + summary_table(results, labels) + ranks + rank_table(results, labels) + "\n",
    )
