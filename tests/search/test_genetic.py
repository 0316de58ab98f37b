"""The genetic algorithm: it beats its initial population, returns distinct individuals best first."""

from __future__ import annotations

import pytest
import torch
from quadratic_toy import QuadraticSurrogate, offline_latents

from genmbo.search.base import SearchProblem
from genmbo.search.genetic import GeneticAlgorithm
from genmbo.search.objectives import PessimisticObjective, start_points


@pytest.fixture(scope="module")
def problem() -> SearchProblem:
    latents = offline_latents(512)
    # Scored by the first coordinate, so the initial population (the top designs) lies past CENTER.
    return SearchProblem(latents, latents[:, 0], QuadraticSurrogate())


@pytest.mark.parametrize("crossover", ["blend", "uniform"])
def test_best_individual_beats_the_initial_population(problem: SearchProblem, crossover: str) -> None:
    method = GeneticAlgorithm(population_size=32, generations=20, crossover=crossover)
    objective = PessimisticObjective.for_problem(problem, kappa=0.0)
    initial_best = objective(start_points(problem, 32, torch.Generator())).max()
    candidates = method(problem, 8, torch.Generator().manual_seed(0))
    values = objective(candidates)
    assert values[0] > initial_best
    # Several survivors beat the whole initial population, not one lucky child.
    assert (values > initial_best).sum() >= 4


def test_candidates_are_distinct_and_best_first(problem: SearchProblem) -> None:
    candidates = GeneticAlgorithm(population_size=32, generations=10)(problem, 16, torch.Generator())
    assert torch.unique(candidates, dim=0).shape[0] == 16
    values = QuadraticSurrogate().predict(candidates)[0]
    assert torch.equal(values, values.sort(descending=True).values)


def test_budget_larger_than_the_population(problem: SearchProblem) -> None:
    candidates = GeneticAlgorithm(population_size=8, generations=3)(problem, 20, torch.Generator())
    assert torch.unique(candidates, dim=0).shape[0] == 20


def test_pessimism_moves_candidates_to_lower_std(problem: SearchProblem) -> None:
    def mean_std(kappa: float) -> torch.Tensor:
        method = GeneticAlgorithm(population_size=32, generations=30, kappa=kappa)
        candidates = method(problem, 8, torch.Generator().manual_seed(0))
        return QuadraticSurrogate().predict(candidates)[1].mean()

    assert mean_std(2.0) < mean_std(0.0)


def test_zero_generations_return_the_top_offline_latents(problem: SearchProblem) -> None:
    candidates = GeneticAlgorithm(population_size=32, generations=0)(problem, 4, torch.Generator())
    population = problem.top_latents(32)
    best = QuadraticSurrogate().predict(population)[0].argsort(descending=True)[:4]
    assert torch.equal(candidates, population[best])
