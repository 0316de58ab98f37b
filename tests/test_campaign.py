"""The search pipeline end to end on a tiny configuration: every registered method proposes valid designs."""

from __future__ import annotations

import math

import pytest
import torch

from genmbo.campaign import prepare, propose
from genmbo.config import GenmboConfig, from_mapping
from genmbo.evaluation import oracle_metrics
from genmbo.search.base import Candidates, SearchMethod
from genmbo.search.registry import SEARCH_METHODS

TINY = {
    "task": {"name": "ackley-3"},
    "prior": {"diffusion": {"hidden_dim": 16, "num_blocks": 1, "max_steps": 30, "batch_size": 64}},
    "surrogate": {"members": 2, "hidden_dims": [16], "max_steps": 30, "batch_size": 64},
}
# PGS trains an offline-RL policy: its defaults take minutes, so the pipeline test shrinks it.
TINY_PGS = {"percentiles": (20.0,), "trajectories": 20, "updates": 20, "steps": 10, "hidden_dims": (16, 16)}
FAST_OPTIONS = {"pgs": TINY_PGS, "guided_diffusion": {"policy": TINY_PGS}}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare(from_mapping(GenmboConfig, TINY), tmp_path_factory.mktemp("run"))


def test_prepare_fits_every_stage(prepared):
    assert prepared.latents.shape == (len(prepared.dataset), 3)
    assert set(prepared.timings) == {"load", "fit_prior", "fit_surrogate"}
    mean, std = prepared.surrogate.predict(prepared.latents[:5])
    assert mean.shape == std.shape == (5,) and torch.all(std >= 0)


@pytest.mark.parametrize("method", sorted(SEARCH_METHODS))
def test_every_method_proposes_scoreable_designs(prepared, method):
    options = FAST_OPTIONS.get(method, {})
    proposal = propose(prepared, method, options, budget=8, seed=0)
    assert proposal.latents.shape == (8, 3) and len(proposal.designs) == 8
    for design in proposal.designs:
        assert prepared.dataset.space.parse(design) == design
    metrics = oracle_metrics("ackley-3", proposal.designs)
    assert metrics["validity"] == 1.0 and not math.isnan(metrics["score_100th"])
    again = propose(prepared, method, options, budget=8, seed=0)
    assert again.designs == proposal.designs


def test_best_offline_proposes_the_best_visible_designs(prepared):
    proposal = propose(prepared, "best_offline", {}, budget=4, seed=0)
    best_designs, _ = prepared.dataset.best(4)
    for proposed, best in zip(proposal.designs, best_designs, strict=True):
        assert proposed == pytest.approx(best, abs=1e-4)


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


def test_callers_keep_the_designs_a_method_chose_itself(prepared, monkeypatch):
    monkeypatch.setitem(SEARCH_METHODS, "chooses_its_designs", ChoosesItsDesigns)
    proposal = propose(prepared, "chooses_its_designs", {}, budget=4, seed=0)
    best_designs, _ = prepared.dataset.best(4)
    for proposed, best in zip(proposal.designs, best_designs, strict=True):
        assert proposed[0] == pytest.approx(best[0] + 0.5) and proposed[1:] == pytest.approx(best[1:])
    # A method without designs of its own is decoded, as before.
    plain = Candidates(proposal.latents)
    assert plain.designs_from(prepared.prior.autoencoder) == prepared.prior.autoencoder.decode_latents(
        proposal.latents
    )
