"""The portfolio: ascents from the best offline designs, each giving its latest iterate with a new design."""

from __future__ import annotations

import torch

from genmbo.campaign import portfolio
from genmbo.campaign.portfolio import portfolio_designs
from genmbo.config import ConstraintsConfig
from genmbo.models.prior import Prior
from genmbo.search.base import SearchProblem
from genmbo.search.gradient_ascent import GradientAscent
from genmbo.selection.constraints import DesignFilter
from genmbo.selection.filtering import NewDesigns
from genmbo.spaces import ContinuousSpace

SPACE = ContinuousSpace(2)


class Grid:
    """Decodes a latent to the nearest point of a grid of spacing `step`; many latents, one design."""

    def __init__(self, step: float):
        self.step = step

    def decode_latents(self, latents: torch.Tensor) -> list[tuple[float, ...]]:
        snapped = (latents.detach() / self.step).round() * self.step
        return [tuple(round(float(value), 6) for value in row) for row in snapped]


class Quadratic:
    """mean = -||z - (3, -1)||^2, std 0."""

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return -((latents - torch.tensor([3.0, -1.0])) ** 2).sum(dim=1), torch.zeros(latents.shape[0])


def problem_on(grid: Grid) -> SearchProblem:
    latents = torch.tensor([1.0, -2.0]) + torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    designs = grid.decode_latents(latents)
    prior = Prior(autoencoder=grid, diffusion=None)  # type: ignore[arg-type]
    return SearchProblem(
        latents, Quadratic().predict(latents)[0], Quadratic(), prior, designs, SPACE, kappa=0.0
    )


def new_designs(problem: SearchProblem) -> NewDesigns:
    return NewDesigns(SPACE, list(problem.designs), DesignFilter(SPACE, ConstraintsConfig()))


def test_each_ascent_from_the_best_offline_designs_gives_its_end_point_when_that_is_new() -> None:
    problem = problem_on(Grid(0.01))
    designs = portfolio_designs(problem, 4, new_designs(problem), torch.Generator())
    ends = GradientAscent(kappa=0.0).ascend_from(problem, problem.top_latents(4).float())
    assert designs == Grid(0.01).decode_latents(ends)


def test_ascents_that_end_on_a_taken_design_fall_back_to_an_earlier_new_one(monkeypatch) -> None:
    monkeypatch.setattr(portfolio, "PATH_SNAPSHOTS", 5)
    problem = problem_on(Grid(1.0))  # a coarse grid: the ascents end on one design
    new = new_designs(problem)
    designs = portfolio_designs(problem, 6, new, torch.Generator())
    offline = set(problem.designs)
    assert 0 < len(designs) < 6 and len(set(designs)) == len(designs) and not offline & set(designs)
    assert all(not new.admits(design) for design in designs)  # claimed for the rest of the library
