"""The pipeline a design run follows, stage by stage: data -> prior -> latents -> surrogate -> search.

`prepare` loads the offline data (a task's visible rows or the user's file), fits or loads the prior,
encodes the designs and fits the surrogate on their latents; `propose` runs one search method from the
prepared state and decodes its candidate latents (`genmbo.evaluation.oracle_metrics` scores them with a
task's hidden oracle). Every fitted model lands in the run folder, so a rerun resumes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genmbo.config import GenmboConfig
from genmbo.data.offline import OfflineDataset
from genmbo.inputs import resolve_dataset
from genmbo.models.prior import Prior, fit_prior_and_encode
from genmbo.models.surrogate import EnsembleSurrogate, fit_surrogate
from genmbo.search.base import SearchProblem
from genmbo.search.registry import SEARCH_METHODS, build_search_method
from genmbo.tasks import Task


@dataclass
class PreparedRun:
    dataset: OfflineDataset
    task: Task | None
    prior: Prior
    latents: torch.Tensor
    surrogate: EnsembleSurrogate
    timings: dict[str, float] = field(default_factory=dict)

    def problem(self) -> SearchProblem:
        scores = torch.as_tensor(self.dataset.scores, dtype=torch.float32)
        return SearchProblem(
            self.latents, scores, self.surrogate, self.prior, self.dataset.designs, self.dataset.space
        )


@dataclass
class Proposal:
    """Candidates of one method: latents (`n x d`), designs (the method's own, else decoded; None if
    undecodable), predictions at the latents."""

    method: str
    latents: torch.Tensor
    designs: list[Any]
    predicted_mean: np.ndarray
    predicted_std: np.ndarray
    seconds: float


def prepare(config: GenmboConfig, out: Path, needs_condition: bool = True) -> PreparedRun:
    """Load data, fit (or load) the prior and the surrogate, with each stage's wall time.

    `needs_condition`: whether a method to be run needs a score-conditioned diffusion prior (DDOM).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    dataset, task = resolve_dataset(config)
    timings["load"] = time.perf_counter() - started

    started = time.perf_counter()
    prior, latents = fit_prior_and_encode(
        dataset, config.prior, out / "prior", config.run.seed, needs_condition
    )
    timings["fit_prior"] = time.perf_counter() - started  # including encoding the designs

    started = time.perf_counter()
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    surrogate = fit_surrogate(latents, scores, config.surrogate, out, seed=config.run.seed).eval()
    timings["fit_surrogate"] = time.perf_counter() - started
    return PreparedRun(dataset, task, prior, latents, surrogate, timings)


def needs_condition(method_names: list[str]) -> bool:
    """Whether any of these search methods samples a score-conditioned prior."""
    return any(getattr(SEARCH_METHODS.get(name), "needs_condition", False) for name in method_names)


def propose(run: PreparedRun, method_name: str, options: dict[str, Any], budget: int, seed: int) -> Proposal:
    """Run one search method and decode its `budget` candidate latents."""
    method = build_search_method(method_name, **options)
    started = time.perf_counter()
    found = method.candidates(run.problem(), budget, torch.Generator().manual_seed(seed))
    latents = found.latents.detach()
    designs = found.designs_from(run.prior.autoencoder)
    with torch.no_grad():
        mean, std = run.surrogate.predict(latents)
    seconds = time.perf_counter() - started
    return Proposal(method_name, latents, designs, mean.numpy(), std.numpy(), seconds)
