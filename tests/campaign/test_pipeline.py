"""The one pipeline: `genmbo design` and `genmbo benchmark` make the same library, and every registered
method goes through every stage."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
import yaml

from genmbo.benchmark.evaluation import oracle_metrics
from genmbo.campaign.inputs import resolve_dataset
from genmbo.campaign.pipeline import LibraryPlan, Models, Stopwatch, fit_surrogates, make_library
from genmbo.cli import main
from genmbo.config import GenmboConfig, from_mapping
from genmbo.models.prior import fit_prior_and_encode
from genmbo.search.base import Candidates, SearchMethod
from genmbo.search.registry import SEARCH_METHODS, build_search_method
from genmbo.selection.constraints import DesignFilter

TINY_MODELS = """
prior:
  autoencoder: {latent_dim: 4, hidden_dim: 16, embedding_dim: 8, max_steps: 200, batch_size: 32}
  diffusion: {hidden_dim: 16, num_blocks: 1, max_steps: 30, batch_size: 32}
surrogate: {members: 2, hidden_dims: [16], max_steps: 30, batch_size: 32}
"""
# The flagship trains its policy on every kind of space here (by default on sequences only).
EVERY_SPACE = ["molecules", "sequence", "continuous"]
TINY_FLAGSHIP = {
    "num_steps": 5,
    "policy": {
        "percentiles": [50],
        "trajectories": 20,
        "trajectory_length": 5,
        "updates": 5,
        "checkpoint_every": None,
        "hidden_dims": [16],
        "batch_size": 16,
        "steps": 3,
        "spaces": EVERY_SPACE,
    },
}


def test_benchmark_scores_the_library_design_writes(tmp_path, capsys):
    """Same task, seed and config: the same designs in the same order, with the same predictions."""
    design_config = tmp_path / "design.yaml"
    search = {"search": {"method": "guided_diffusion", **TINY_FLAGSHIP}}
    design_config.write_text(TINY_MODELS + yaml.safe_dump(search))
    (tmp_path / "bench.yaml").write_text(TINY_MODELS)
    argv = [
        "design",
        "--task",
        "tfbind8",
        "--seed",
        "1",
        "--n-candidates",
        "12",
        "--config",
        str(design_config),
    ]
    assert main([*argv, "--out", str(tmp_path / "design"), "--no-progress"]) == 0
    spec = "guided_diffusion:" + json.dumps(TINY_FLAGSHIP)
    argv = ["benchmark", "--tasks", "tfbind8", "--methods", spec, "--seeds", "1", "--budget", "12"]
    assert main([*argv, "--config", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "bench")]) == 0
    capsys.readouterr()
    designed = pd.read_csv(tmp_path / "design" / "library.csv")
    benchmarked = pd.read_csv(tmp_path / "bench" / "tfbind8" / "seed-1" / "guided_diffusion" / "library.csv")
    assert len(designed) > 1
    assert list(benchmarked["design"]) == list(designed["design"])
    columns = ["predicted_score", "predicted_std", "oracle_score", "normalized_score"]
    pd.testing.assert_frame_equal(benchmarked[columns], designed[columns])
    row = pd.read_csv(tmp_path / "bench" / "results.csv").iloc[0]
    metrics = json.loads((tmp_path / "design" / "metrics.json").read_text())
    assert row["score_100th"] == pytest.approx(metrics["score_100th"])
    assert row["score_50th"] == pytest.approx(metrics["score_50th"])


TINY = {
    "task": {"name": "ackley-3"},
    "prior": {"diffusion": {"hidden_dim": 16, "num_blocks": 1, "max_steps": 30, "batch_size": 64}},
    "surrogate": {"members": 2, "hidden_dims": [16], "max_steps": 30, "batch_size": 64},
    "run": {"n_candidates": 8},
    "selection": {"pool_factor": 2},
    "stages": {"portfolio": 0.25},
}
TINY_PGS = {"percentiles": (20.0,), "trajectories": 20, "updates": 20, "steps": 10, "hidden_dims": (16, 16)}
FAST_OPTIONS = {
    "pgs": TINY_PGS,
    "guided_diffusion": {"policy": {**TINY_PGS, "spaces": EVERY_SPACE}, "num_steps": 10},
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    config = from_mapping(GenmboConfig, TINY)
    folder = tmp_path_factory.mktemp("run")
    dataset, _ = resolve_dataset(config)
    prior, latents = fit_prior_and_encode(dataset, config.prior, folder / "prior", 0, True)
    surrogate, _ = fit_surrogates(dataset, latents, config.surrogate, folder, folder / "designs", 0, False)
    return config, dataset, Models(prior, latents, surrogate), folder


def library_of(prepared, method: SearchMethod, **stages):
    config, dataset, models, folder = prepared
    config = config.model_copy(update={"stages": config.stages.model_copy(update=stages)})
    constraints = DesignFilter(dataset.space, config.constraints)
    plan = LibraryPlan.of(config, method)
    return make_library(plan, dataset, models, method, constraints, folder / "method", Stopwatch())


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_every_method_makes_a_new_scoreable_library(prepared, name):
    _, dataset, _, _ = prepared
    library = library_of(prepared, build_search_method(name, **FAST_OPTIONS.get(name, {})))
    assert 0 < len(library.designs) <= 8 and library.pool["size"] == 16
    keys = [dataset.space.key(design) for design in library.designs]
    assert len(set(keys)) == len(keys)
    offline = {dataset.space.key(design) for design in dataset.designs}
    if name != "best_offline":  # the portfolio and the filter keep offline designs out
        assert not offline & set(keys)
    for design in library.designs:
        assert dataset.space.parse(design) == design
    metrics = oracle_metrics("ackley-3", library.designs)
    assert metrics["validity"] == 1.0 and not math.isnan(metrics["score_100th"])
    again = library_of(prepared, build_search_method(name, **FAST_OPTIONS.get(name, {})))
    assert again.designs == library.designs


def test_best_offline_makes_a_library_of_the_best_visible_designs(prepared):
    _, dataset, _, _ = prepared
    library = library_of(prepared, build_search_method("best_offline"), portfolio=0.0)
    best_designs, _ = dataset.best(16)
    assert library.designs[0] == best_designs[0]
    assert {tuple(design) for design in library.designs} <= {tuple(design) for design in best_designs}
    # A measured design is valued at its measurement.
    assert library.std.eq(0).all() and library.mean[0] == pytest.approx(float(dataset.scores.max()))


class ChoosesItsDesigns(SearchMethod):
    """Returns the best offline latents, but as designs the best offline designs shifted by 0.5 in the
    first coordinate: designs its latents do not decode to."""

    name = "chooses_its_designs"

    def __call__(self, problem, budget, generator):
        return self.candidates(problem, budget, generator).latents

    def candidates(self, problem, budget, generator):
        order = torch.argsort(problem.scores, descending=True)[:budget]
        designs = [(problem.designs[row][0] + 0.5, *problem.designs[row][1:]) for row in order.tolist()]
        return Candidates(problem.latents[order], designs)


def test_the_pipeline_keeps_the_designs_a_method_chose_itself(prepared):
    config, dataset, _, _ = prepared
    library = library_of(prepared, ChoosesItsDesigns())
    shifted = {(design[0] + 0.5, *design[1:]) for design in dataset.best(16)[0]}
    # Without the portfolio's designs (a quarter of the library), the rest are the method's own.
    own = [design for design in library.designs if tuple(design) in shifted]
    assert len(own) >= config.run.n_candidates - 2


class TwoNewDesigns(SearchMethod):
    """Each call proposes the two best offline designs shifted in the first coordinate, repeated to fill
    the pool: two new designs a round, by a shift drawn from the generator (`fixed`: the same shift every
    round, so a second round proposes nothing new)."""

    name = "two_new_designs"

    def __init__(self, fixed: bool = False):
        self.fixed = fixed

    def __call__(self, problem, budget, generator):
        return self.candidates(problem, budget, generator).latents

    def candidates(self, problem, budget, generator):
        shift = 0.05 if self.fixed else 0.01 + 0.1 * float(torch.rand(1, generator=generator))
        order = torch.argsort(problem.scores, descending=True)[:2]
        designs = [(problem.designs[row][0] + shift, *problem.designs[row][1:]) for row in order.tolist()]
        return Candidates(problem.latents[order].repeat(budget // 2, 1), designs * (budget // 2))


def test_the_search_runs_again_until_the_library_can_be_filled(prepared):
    config, dataset, models, folder = prepared

    def library(method, rounds):
        changed = config.model_copy(
            update={
                "selection": config.selection.model_copy(update={"pool_rounds": rounds}),
                "stages": config.stages.model_copy(update={"portfolio": 0.0}),
            }
        )
        plan = LibraryPlan.of(changed, method)
        constraints = DesignFilter(dataset.space, changed.constraints)
        return make_library(plan, dataset, models, method, constraints, folder / "rounds", Stopwatch())

    # 8 designs asked for, 2 new ones a round of 16: four rounds fill the library, and no more are run.
    filled = library(TwoNewDesigns(), rounds=8)
    assert len(filled.designs) == 8 and filled.pool["rounds"] == 4 and filled.pool["size"] == 64
    assert filled.dropped == {"repeat within the pool": 56}
    one = library(TwoNewDesigns(), rounds=1)  # one pool: the library falls short
    assert len(one.designs) == 2 and one.pool["rounds"] == 1 and one.pool["size"] == 16
    # A round that admits nothing new ends the search and is not kept in the pool.
    stuck = library(TwoNewDesigns(fixed=True), rounds=8)
    assert len(stuck.designs) == 2 and stuck.pool["rounds"] == 1 and stuck.pool["size"] == 16
    assert stuck.dropped == {"repeat within the pool": 14}
