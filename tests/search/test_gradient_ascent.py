"""Gradient ascent: it climbs the surrogate from the top offline latents, and pessimism lowers the std."""

from __future__ import annotations

import pytest
import torch
from quadratic_toy import CENTER, QuadraticSurrogate, offline_latents

from genmbo.search.base import SearchProblem
from genmbo.search.gradient_ascent import GradientAscent
from genmbo.search.objectives import PessimisticObjective, ascent_path, latent_scale, top_distinct


@pytest.fixture(scope="module")
def problem() -> SearchProblem:
    latents = offline_latents(512)
    # Scored by the first coordinate, so the top designs lie past CENTER and there is room to climb.
    return SearchProblem(latents, latents[:, 0], QuadraticSurrogate())


def surrogate_mean(latents: torch.Tensor) -> torch.Tensor:
    return QuadraticSurrogate().predict(latents)[0]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_every_start_point_climbs(problem: SearchProblem, optimizer: str) -> None:
    budget = 16
    start = problem.top_latents(budget)
    method = GradientAscent(optimizer=optimizer, learning_rate=0.01 if optimizer == "sgd" else 0.05)
    candidates = method(problem, budget, torch.Generator().manual_seed(0))
    gain = surrogate_mean(candidates) - surrogate_mean(start)
    assert (gain > 0).all()
    assert surrogate_mean(candidates).mean() > 0.5 * surrogate_mean(start).mean()


def test_zero_steps_return_the_start_points(problem: SearchProblem) -> None:
    candidates = GradientAscent(steps=0)(problem, 8, torch.Generator().manual_seed(0))
    assert torch.equal(candidates, problem.top_latents(8))


def test_pessimism_moves_candidates_to_lower_std(problem: SearchProblem) -> None:
    plain = GradientAscent(optimizer="adam", learning_rate=0.05)(problem, 16, torch.Generator())
    pessimistic = GradientAscent(optimizer="adam", learning_rate=0.05, kappa=2.0)(
        problem, 16, torch.Generator()
    )
    std_plain = QuadraticSurrogate().predict(plain)[1]
    std_pessimistic = QuadraticSurrogate().predict(pessimistic)[1]
    assert (std_pessimistic < std_plain).all()


def test_sgd_step_is_design_bench_normalized_step() -> None:
    """One SGD step moves z by lr * scale^2 * grad_z f: plain ascent on inputs normalized by `scale`."""
    surrogate = QuadraticSurrogate()
    objective = PessimisticObjective(surrogate, kappa=0.0, score_scale=4.0)
    start = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    scale = torch.tensor([2.0, 0.5])
    moved = ascent_path(start, objective, scale, steps=1, learning_rate=0.1, optimizer="sgd")[-1]
    gradient = -2 * (start - CENTER) / 4.0
    torch.testing.assert_close(moved, start + 0.1 * scale**2 * gradient)


def test_latent_scale_guards_constant_dimensions() -> None:
    latents = torch.tensor([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    torch.testing.assert_close(latent_scale(latents), torch.tensor([2.0, 1.0]))
    torch.testing.assert_close(latent_scale(latents[:1]), torch.ones(2))


def test_top_distinct_skips_duplicates_and_ranks_nan_last() -> None:
    candidates = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    values = torch.tensor([0.0, 5.0, 5.0, float("nan"), 1.0])
    assert top_distinct(candidates, values, 3).tolist() == [1, 4, 0]
    # Fewer distinct rows than asked for: they repeat, best first.
    assert top_distinct(candidates[1:3], values[1:3], 3).tolist() == [0, 0, 0]


def test_ascent_path_keeps_evenly_spaced_iterates_ending_at_the_final_one() -> None:
    """On a linear objective an SGD step moves z by lr * w, so the iterate after t steps is start + t lr w."""
    weights = torch.tensor([1.0, -2.0])
    start = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    scale = torch.ones(2)

    def linear(latents: torch.Tensor) -> torch.Tensor:
        return latents @ weights

    path = ascent_path(start, linear, scale, steps=10, learning_rate=0.1, snapshots=3)
    assert path.shape == (3, 2, 2)
    for iterate, steps_taken in zip(path, (4, 7, 10), strict=True):  # ceil(10 i / 3)
        torch.testing.assert_close(iterate, start + steps_taken * 0.1 * weights)
    # Keeping iterates does not change the ascent: the last equals the end point kept alone.
    torch.testing.assert_close(path[-1], ascent_path(start, linear, scale, steps=10, learning_rate=0.1)[0])
    # More snapshots than steps: one per step; no steps: the start alone.
    assert ascent_path(start, linear, scale, steps=2, learning_rate=0.1, snapshots=5).shape[0] == 2
    torch.testing.assert_close(ascent_path(start, linear, scale, 0, 0.1, snapshots=4), start[None])
    with pytest.raises(ValueError, match="snapshots"):
        ascent_path(start, linear, scale, 10, 0.1, snapshots=0)
