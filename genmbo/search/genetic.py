"""A real-coded genetic algorithm in latent space, scored by the (pessimistic) surrogate.

The loop is the single-objective GA of pymoo (Blank & Deb, IEEE Access 2020; `pymoo.algorithms.soo.
nonconvex.ga.GA`): binary tournament selection (Goldberg & Deb 1991), crossover, mutation, then
(mu + lambda) truncation survival over parents and offspring with duplicates eliminated. Because survival
is elitist, the final population holds the best distinct individuals ever evaluated, and the method
returns its best `budget`.

Defaults and sources: `population_size = 100`, `tournament_size = 2` and duplicate elimination are pymoo's
GA defaults; `crossover_rate = 0.9` is pymoo's SBX default probability of mating; `mutation_rate = 1 / d`
per gene is the classic rate (Baeck, "Evolutionary Algorithms in Theory and Practice", 1996) and pymoo's
polynomial mutation default; `generations = 50` is the length of pymoo's GA usage example.

Departures: the population starts from the top offline latents (not uniform samples from bounds, which
latent spaces do not have). On a space of discrete designs (a prior that decodes latents to sequences or
molecules), an individual is its decoded design: duplicates are eliminated on the decoded designs (pymoo's
`ElementwiseDuplicateElimination` with a comparison of phenotypes), since many nearby latents decode to
one design and latent-level elimination lets the population collapse onto a handful of designs; a latent
that decodes to nothing, or to a design the campaign does not accept (`SearchProblem.acceptable`: invalid,
or failing the configured constraints), is infeasible and ranks last (pymoo's feasibility-first
comparison, Deb 2000); and the method returns its best individuals whose designs are not already in the
offline data (they are measured; the pipeline drops them), the offline ones only to fill the budget. On a
vector space the latents are their own identity. Crossover is uniform (Syswerda 1989) or blend, BLX-alpha
with alpha = 0.5 (Eshelman & Schaffer 1993), instead of SBX; mutation is Gaussian with standard deviation
`mutation_scale = 0.1` of each latent dimension's offline standard deviation (our choice: small next to
the spread of the data, so offspring stay near it) instead of polynomial mutation within bounds.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import torch

from genmbo.search.base import SearchMethod, SearchProblem
from genmbo.search.objectives import (
    PessimisticObjective,
    check_kappa,
    latent_scale,
    start_points,
    top_distinct,
)
from genmbo.spaces import ContinuousSpace


class GeneticAlgorithm(SearchMethod):
    """Evolve latents toward a high ``mean - kappa * std`` of the surrogate.

    Args:
        population_size: individuals per generation (at least `budget` are used).
        generations: number of offspring generations.
        tournament_size: competitors per tournament.
        crossover: "blend" (BLX-alpha) or "uniform".
        crossover_rate: probability that a child is a crossover of its parents rather than a copy of one.
        blend_alpha: BLX-alpha's extension of the parents' interval on each side.
        mutation_rate: per-gene mutation probability; None means ``1 / d``.
        mutation_scale: mutation std in units of each latent dimension's offline std.
        kappa: weight of the surrogate std in the fitness.
    """

    name = "genetic"

    def __init__(
        self,
        population_size: int = 100,
        generations: int = 50,
        tournament_size: int = 2,
        crossover: Literal["blend", "uniform"] = "blend",
        crossover_rate: float = 0.9,
        blend_alpha: float = 0.5,
        mutation_rate: float | None = None,
        mutation_scale: float = 0.1,
        kappa: float = 0.0,
    ):
        if population_size < 2 or generations < 0 or tournament_size < 1:
            raise ValueError(
                "need population_size >= 2, generations >= 0 and tournament_size >= 1, got "
                f"{population_size}, {generations} and {tournament_size}"
            )
        if crossover not in ("blend", "uniform"):
            raise ValueError(f"crossover must be 'blend' or 'uniform', got {crossover!r}")
        for label, rate in (("crossover_rate", crossover_rate), ("mutation_rate", mutation_rate)):
            if rate is not None and not 0.0 <= rate <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {rate}")
        if blend_alpha < 0 or mutation_scale < 0:
            raise ValueError(
                f"blend_alpha and mutation_scale must be >= 0, got {blend_alpha}, {mutation_scale}"
            )
        check_kappa(kappa)
        self.population_size = population_size
        self.generations = generations
        self.tournament_size = tournament_size
        self.crossover: Literal["blend", "uniform"] = crossover
        self.crossover_rate = crossover_rate
        self.blend_alpha = blend_alpha
        self.mutation_rate = mutation_rate
        self.mutation_scale = mutation_scale
        self.kappa = kappa

    @torch.no_grad()
    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """The best `budget` distinct individuals of the final population, a `budget x d` float32 tensor."""
        size = max(self.population_size, budget)
        population = start_points(problem, size, generator)
        objective = PessimisticObjective.for_problem(problem, self.kappa)
        identity = DecodedIdentity.of(problem)
        scale = latent_scale(problem.latents.float()).to(population)
        fitness = objective(population)
        rows, fitness, measured = identity(population, fitness)
        for _ in range(self.generations):
            offspring = self.mutate(self.cross(population, fitness, generator), scale, generator)
            offspring_rows, offspring_fitness, offspring_measured = identity(offspring, objective(offspring))
            merged = torch.cat([population, offspring])
            merged_rows = torch.cat([rows, offspring_rows])
            merged_fitness = torch.cat([fitness, offspring_fitness])
            survivors = top_distinct(merged_rows, merged_fitness, size)
            population, rows, fitness = merged[survivors], merged_rows[survivors], merged_fitness[survivors]
            measured = torch.cat([measured, offspring_measured])[survivors]
        new_first = torch.where(measured, -torch.inf, fitness)
        return population[top_distinct(rows, new_first, budget)]

    def cross(
        self, population: torch.Tensor, fitness: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """One child per individual from two tournament-selected parents: `n x d` -> `n x d`."""
        first = population[self.tournament(fitness, generator)]
        second = population[self.tournament(fitness, generator)]
        weights = uniform(first.shape, generator, first)
        if self.crossover == "uniform":
            children = torch.where(weights < 0.5, first, second)
        else:
            low, high = torch.minimum(first, second), torch.maximum(first, second)
            spread = self.blend_alpha * (high - low)
            children = low - spread + weights * (high - low + 2 * spread)
        mates = uniform((first.shape[0], 1), generator, first) < self.crossover_rate
        return torch.where(mates, children, first)

    def tournament(self, fitness: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """`n` winner indices of `n` tournaments among `tournament_size` uniformly drawn competitors."""
        count = fitness.shape[0]
        draws = torch.randint(
            count, (count, self.tournament_size), generator=generator, device=generator.device
        )
        draws = draws.to(fitness.device)
        # Ties go to the first competitor drawn, itself random.
        winners = fitness.nan_to_num(nan=-torch.inf)[draws].argmax(dim=1)
        return draws.gather(1, winners[:, None]).squeeze(1)

    def mutate(self, children: torch.Tensor, scale: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Add `mutation_scale * scale` Gaussian noise to each gene with probability `mutation_rate`."""
        rate = self.mutation_rate if self.mutation_rate is not None else 1.0 / children.shape[1]
        mutated = uniform(children.shape, generator, children) < rate
        noise = torch.randn(children.shape, generator=generator, device=generator.device).to(children)
        return children + mutated * noise * self.mutation_scale * scale


class DecodedIdentity:
    """What makes two individuals the same: on a space of discrete designs, the design their latents decode
    to (each distinct design gets an integer id, remembered across generations); otherwise the latents.

    Called on `n x d` latents and their `n` fitness values, returns the `n x k` identity rows that
    `top_distinct` groups by, the fitness with infeasible individuals (undecodable, or a design the
    problem does not accept) set to -inf, and an `n` mask of those whose design is in the offline data.
    """

    def __init__(self, problem: SearchProblem | None = None):
        self.problem = problem
        self.ids: dict[Hashable, int] = {}
        self.feasible: dict[Hashable, bool] = {}
        self.undecodable = 0
        self.offline = set() if problem is None else problem.offline_keys()

    @classmethod
    def of(cls, problem: SearchProblem) -> DecodedIdentity:
        """The identity for `problem`: by decoded design where its prior decodes to discrete designs."""
        discrete = problem.prior is not None and problem.space is not None
        discrete = discrete and not isinstance(problem.space, ContinuousSpace)
        return cls(problem if discrete else None)

    def __call__(
        self, latents: torch.Tensor, fitness: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.problem is None:
            return latents, fitness, torch.zeros(latents.shape[0], dtype=torch.bool, device=latents.device)
        assert self.problem.prior is not None
        designs = self.problem.prior.autoencoder.decode_latents(latents)
        acceptable = self.problem.acceptable or (lambda design: True)
        ids, measured, feasible = [], [], []
        for design in designs:
            if design is None:  # each undecodable latent is its own (infeasible) individual
                self.undecodable += 1
                ids.append(-self.undecodable)
                measured.append(False)
                feasible.append(False)
                continue
            key = self.problem.design_key(design)
            if key not in self.feasible:
                self.feasible[key] = acceptable(design)
            ids.append(self.ids.setdefault(key, len(self.ids)))
            measured.append(key in self.offline)
            feasible.append(self.feasible[key])
        rows = torch.tensor(ids, device=latents.device)[:, None]
        feasible_fitness = torch.where(torch.tensor(feasible, device=fitness.device), fitness, -torch.inf)
        return rows, feasible_fitness, torch.tensor(measured, device=latents.device)


def uniform(
    shape: tuple[int, ...] | torch.Size, generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """U(0, 1) draws from `generator` (on its device), moved to `like`'s device and dtype."""
    return torch.rand(shape, generator=generator, device=generator.device).to(like)
