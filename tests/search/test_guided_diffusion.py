"""Surrogate-guided diffusion on a tiny 2-D prior: guidance lifts the surrogate, pessimism lowers the std,
refinement is Design-Bench gradient ascent on part of the library."""

from __future__ import annotations

import pytest
import torch
from quadratic_toy import GridAutoencoder, QuadraticSurrogate, offline_latents

from genmbo.errors import ConfigError
from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.prior import Prior
from genmbo.search.base import SearchProblem
from genmbo.search.design_selection import DesignChoice, NewDesigns
from genmbo.search.gradient_ascent import GradientAscent
from genmbo.search.guidance import SurrogateGuidance
from genmbo.search.guided_diffusion import PATH_SNAPSHOTS, POLISH_NEIGHBORS, SurrogateGuidedDiffusion
from genmbo.search.objectives import PessimisticObjective
from genmbo.search.registry import build_search_method

# Guidance alone (no refinement, equal steps), chosen as latents (the toy prior has no autoencoder) unless a
# test asks for more.
FAST = {"num_steps": 20, "refine_fraction": 0.0, "policy": None, "choose_designs": False}


@pytest.fixture(scope="module")
def problem() -> SearchProblem:
    """Offline latents ~ N((1, -2), diag(2, 0.5)^2), not unit scale, and a prior trained 200 steps on them."""
    generator = torch.Generator().manual_seed(0)
    latents = offline_latents(1024, generator)
    torch.manual_seed(0)
    diffusion = LatentDiffusion(2, hidden_dim=64, num_blocks=2, embedding_dim=32)
    diffusion.fit_standardization(latents)
    optimizer = torch.optim.Adam(diffusion.parameters(), lr=3e-3)
    for _ in range(200):
        loss = diffusion.diffusion_loss(latents[torch.randint(0, 1024, (256,), generator=generator)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    surrogate = QuadraticSurrogate()
    prior = Prior(autoencoder=None, diffusion=diffusion.eval())  # type: ignore[arg-type]
    return SearchProblem(latents, surrogate.predict(latents)[0], surrogate, prior)


def sample(problem: SearchProblem, budget: int = 64, seed: int = 1, **options) -> torch.Tensor:
    method = SurrogateGuidedDiffusion(**{"pool_factor": 1, **FAST, **options})
    return method(problem, budget, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_guidance_raises_the_surrogate_mean(problem: SearchProblem, sampler: str) -> None:
    unguided = QuadraticSurrogate().predict(sample(problem, scale=0.0, sampler=sampler))[0]
    guided = QuadraticSurrogate().predict(sample(problem, scale=1.0, sampler=sampler))[0]
    assert guided.mean() > unguided.mean()
    # Not a marginal gain: the mean gap to the optimum (value 0) shrinks by at least 40%.
    assert guided.mean() > 0.6 * unguided.mean()


def test_pessimism_moves_candidates_to_lower_std(problem: SearchProblem) -> None:
    plain = QuadraticSurrogate().predict(sample(problem, scale=1.0, kappa=0.0))[1]
    pessimistic = QuadraticSurrogate().predict(sample(problem, scale=1.0, kappa=5.0))[1]
    assert pessimistic.mean() < plain.mean()


def test_pool_is_filtered_by_the_pessimistic_objective(problem: SearchProblem) -> None:
    candidates = sample(problem, budget=16, pool_factor=4, kappa=1.0)
    objective = PessimisticObjective.for_problem(problem, kappa=1.0)
    values = objective(candidates)
    assert torch.equal(values, values.sort(descending=True).values)
    assert torch.unique(candidates, dim=0).shape[0] == 16
    # The best quarter of a pool beats an unfiltered sample of the same size.
    assert values.mean() > objective(sample(problem, budget=16, kappa=1.0)).mean()


def test_step_size_multiplies_the_gradient(problem: SearchProblem) -> None:
    seen: list[torch.Size] = []

    def no_steps(clean_latents: torch.Tensor) -> torch.Tensor:
        seen.append(clean_latents.shape)
        return torch.zeros_like(clean_latents)

    unguided = sample(problem, budget=8, scale=0.0)
    assert torch.equal(sample(problem, budget=8, scale=1.0, step_size=no_steps), unguided)
    assert seen and all(shape == (8, 2) for shape in seen)


def test_guidance_is_dhariwal_nichol_eq14_at_the_predicted_clean_latent(problem: SearchProblem) -> None:
    """eps' = eps - sqrt(1 - abar) * s * sqrt(abar) * grad_{z0} f(z0_hat), in standardized coordinates."""
    diffusion = problem.prior.diffusion
    objective = PessimisticObjective.for_problem(problem, kappa=0.5)
    guidance = SurrogateGuidance(diffusion, objective, scale=2.0)
    generator = torch.Generator().manual_seed(3)
    latents, noise = torch.randn(5, 2, generator=generator), torch.randn(5, 2, generator=generator)
    timestep = torch.tensor(400)
    alpha_bar = diffusion.noise_scheduler.alphas_cumprod[400]
    clean = ((latents - (1 - alpha_bar).sqrt() * noise) / alpha_bar.sqrt()).requires_grad_(True)
    (gradient,) = torch.autograd.grad(objective(diffusion.unstandardize(clean)).sum(), clean)
    expected = noise - (1 - alpha_bar).sqrt() * 2.0 * alpha_bar.sqrt() * gradient
    guided = guidance(noise, latents, timestep)
    torch.testing.assert_close(guided, expected)
    assert not guided.requires_grad
    assert guidance.__class__(diffusion, objective, scale=0.0)(noise, latents, timestep) is noise


def test_guidance_works_under_no_grad(problem: SearchProblem) -> None:
    with torch.no_grad():
        guided = sample(problem, budget=8, scale=1.0)
    assert torch.equal(guided, sample(problem, budget=8, scale=1.0))


def test_a_problem_without_a_prior_is_refused(problem: SearchProblem) -> None:
    bare = SearchProblem(problem.latents, problem.scores, problem.surrogate)
    with pytest.raises(ValueError, match="prior"):
        SurrogateGuidedDiffusion()(bare, 4, torch.Generator())


def _rows(latents: torch.Tensor) -> set[tuple[float, ...]]:
    return {tuple(row.tolist()) for row in latents}


def test_refinement_replaces_the_tail_of_the_guided_selection(problem: SearchProblem) -> None:
    guided = sample(problem, budget=16, pool_factor=2, kappa=1.0)
    mixed = sample(problem, budget=16, pool_factor=2, kappa=1.0, refine_fraction=0.5, refine_from_offline=0.5)
    objective = PessimisticObjective.for_problem(problem, kappa=1.0)
    values = objective(mixed)
    assert mixed.shape == (16, 2) and torch.equal(values, values.sort(descending=True).values)
    # The best 8 guided samples are kept as they are; the 8 others are refined latents.
    kept = _rows(guided[:8])
    assert kept <= _rows(mixed)
    refined = torch.stack([row for row in mixed if tuple(row.tolist()) not in kept])
    # Started from the best 4 guided samples and the best 4 offline designs, each ascent only climbs,
    # so the k-th best refined value beats the k-th best start (order statistics of a pairwise gain).
    starts = torch.cat([guided[:4], problem.top_latents(4)])
    assert refined.shape == (8, 2)
    assert (objective(refined).sort().values > objective(starts).sort().values).all()


def test_by_default_the_refined_half_starts_from_the_best_offline_designs(problem: SearchProblem) -> None:
    guided = sample(problem, budget=16, pool_factor=2, kappa=1.0)
    mixed = sample(problem, budget=16, pool_factor=2, kappa=1.0, refine_fraction=0.5)
    ascended = GradientAscent(kappa=1.0).ascend_from(problem, problem.top_latents(8).float())
    assert _rows(mixed) == _rows(guided[:8]) | _rows(ascended)


def test_full_refinement_from_offline_designs_is_design_bench_gradient_ascent(problem: SearchProblem) -> None:
    refined = sample(problem, budget=8, kappa=0.0, refine_fraction=1.0, refine_from_offline=1.0)
    reference = GradientAscent(kappa=0.0)(problem, 8, torch.Generator().manual_seed(1))
    assert torch.allclose(
        refined, reference[torch.argsort(problem.surrogate.predict(reference)[0], descending=True)]
    )


def test_refinement_steps_and_rate_set_the_ascent(problem: SearchProblem) -> None:
    guided = sample(problem, budget=8)
    assert torch.equal(
        sample(problem, budget=8, refine_fraction=1.0, refine_steps=0, refine_from_offline=0.0), guided
    )
    short = sample(problem, budget=8, kappa=0.0, refine_fraction=1.0, refine_steps=5, refine_from_offline=1.0)
    reference = GradientAscent(steps=5, learning_rate=0.02, kappa=0.0)(problem, 8, torch.Generator())
    faster = sample(
        problem,
        budget=8,
        kappa=0.0,
        refine_fraction=1.0,
        refine_steps=5,
        refine_from_offline=1.0,
        refine_learning_rate=0.02,
    )
    assert _rows(faster) == _rows(reference) and _rows(short) != _rows(faster)


def test_refinement_kappa_sets_the_ascent_objective_only(problem: SearchProblem) -> None:
    plain_ascent = sample(
        problem, budget=8, kappa=1.0, refine_kappa=0.0, refine_fraction=1.0, refine_from_offline=1.0
    )
    reference = GradientAscent(kappa=0.0)(problem, 8, torch.Generator())
    pessimistic_ascent = GradientAscent(kappa=1.0)(problem, 8, torch.Generator())
    assert _rows(plain_ascent) == _rows(reference) != _rows(pessimistic_ascent)
    # The library is still ordered by the sampler's own, pessimistic, objective.
    values = PessimisticObjective.for_problem(problem, kappa=1.0)(plain_ascent)
    assert torch.equal(values, values.sort(descending=True).values)


def test_a_top_20_percent_pgs_policy_is_trained_by_default_unless_steps_are_given() -> None:
    assert SurrogateGuidedDiffusion().pgs.percentiles == (20.0,)
    assert SurrogateGuidedDiffusion(policy=None).pgs is None
    assert SurrogateGuidedDiffusion(step_size=torch.ones(2)).pgs is None


def test_fitting_the_policy_as_a_stage_of_its_own_changes_no_candidate(problem: SearchProblem) -> None:
    tiny_pgs = {
        "percentiles": [50],
        "trajectories": 20,
        "trajectory_length": 5,
        "updates": 10,
        "checkpoint_every": None,
        "hidden_dims": [16],
        "batch_size": 16,
        "steps": 3,
    }
    options = {"pool_factor": 1, "num_steps": 10, "policy": tiny_pgs, "choose_designs": False}
    whole = SurrogateGuidedDiffusion(**options)(problem, 8, torch.Generator().manual_seed(3))
    staged = SurrogateGuidedDiffusion(**options)
    generator = torch.Generator().manual_seed(3)
    staged.fit_policy(problem, 8, generator)
    trained = staged.pgs.policy
    assert staged.policy_seconds > 0
    assert torch.equal(staged(problem, 8, generator), whole) and staged.pgs.policy is trained


def test_refinement_with_fewer_offline_designs_than_starts(problem: SearchProblem) -> None:
    few = SearchProblem(problem.latents[:3], problem.scores[:3], problem.surrogate, problem.prior)
    candidates = SurrogateGuidedDiffusion(
        pool_factor=1, num_steps=20, refine_from_offline=1.0, policy=None, choose_designs=False
    )(few, 16, torch.Generator().manual_seed(0))
    assert candidates.shape == (16, 2) and torch.isfinite(candidates).all()
    assert torch.unique(candidates, dim=0).shape[0] == 16


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("refine_fraction", 1.5),
        ("refine_from_offline", -0.1),
        ("refine_steps", -1),
        ("refine_learning_rate", 0.0),
        ("refine_kappa", -1.0),
        ("polish_starts", 0),
    ],
)
def test_bad_refinement_options_are_config_errors(option: str, value: float) -> None:
    with pytest.raises(ConfigError, match=option):
        build_search_method("guided_diffusion", **{option: value})


def gridded(problem: SearchProblem, step: float) -> SearchProblem:
    """The toy problem decoded through a grid of spacing `step`, its offline designs the decoded latents."""
    autoencoder = GridAutoencoder(step)
    prior = Prior(autoencoder=autoencoder, diffusion=problem.prior.diffusion)  # type: ignore[arg-type]
    designs = autoencoder.decode_latents(problem.latents)
    return SearchProblem(problem.latents, problem.scores, problem.surrogate, prior, designs)


def test_by_default_candidates_are_new_distinct_designs_best_first_at_their_encodings(
    problem: SearchProblem,
) -> None:
    grid = gridded(problem, 0.1)
    method = SurrogateGuidedDiffusion(pool_factor=2, num_steps=20, policy=None)
    candidates = method(grid, 16, torch.Generator().manual_seed(0))
    designs = grid.prior.autoencoder.decode_latents(candidates)
    assert len(set(designs)) == 16 and not set(designs) & set(grid.designs)
    objective = PessimisticObjective.for_problem(grid, kappa=1.0)
    values = objective(grid.prior.autoencoder.encode_designs(designs))
    assert torch.equal(values, values.sort(descending=True).values)
    # The refined half: each ascent's latest iterate with a new design, all of them in the library.
    path = method.refinement_path(grid, torch.zeros(0, 2), 8, PATH_SNAPSHOTS)
    refined = NewDesigns(grid, objective).last_on_paths(path).latents
    assert 0 < refined.shape[0] <= 8
    assert all((candidates == row).all(dim=1).any() for row in refined)


def test_with_too_few_new_designs_the_best_latents_fill_the_budget(problem: SearchProblem) -> None:
    grid = gridded(problem, 0.5)  # near the optimum, nearly every grid point is an offline design
    candidates = SurrogateGuidedDiffusion(pool_factor=2, num_steps=20, policy=None)(
        grid, 16, torch.Generator().manual_seed(0)
    )
    assert candidates.shape == (16, 2) and torch.isfinite(candidates).all()
    designs = grid.prior.autoencoder.decode_latents(candidates)
    new = [design for design in designs if design not in set(grid.designs)]
    assert 0 < len(set(new)) < 16
    # The new designs come first, once each.
    assert designs[: len(set(new))] == list(dict.fromkeys(new))


def test_candidates_carry_the_chosen_designs_beside_the_call_s_latents(problem: SearchProblem) -> None:
    grid = gridded(problem, 0.1)
    method = SurrogateGuidedDiffusion(pool_factor=2, num_steps=20, policy=None)
    found = method.candidates(grid, 16, torch.Generator().manual_seed(0))
    latents = method(grid, 16, torch.Generator().manual_seed(0))
    assert torch.equal(found.latents, latents)
    # The grid reconstructs every design, so the designs are the latents' decodings.
    assert found.designs == grid.prior.autoencoder.decode_latents(latents)
    assert found.designs_from(None) is found.designs
    # Choosing by latents, the method has no designs of its own: the caller decodes.
    by_latents = SurrogateGuidedDiffusion(pool_factor=2, num_steps=20, policy=None, choose_designs=False)
    plain = by_latents.candidates(grid, 16, torch.Generator().manual_seed(0))
    assert plain.designs is None
    assert plain.designs_from(grid.prior.autoencoder) == grid.prior.autoencoder.decode_latents(plain.latents)


def test_extra_polishing_starts_compete_for_the_pool_s_slots(problem: SearchProblem, monkeypatch) -> None:
    grid = gridded(problem, 0.1)
    handed: list[DesignChoice] = []
    neighbor_budgets: list[int] = []

    def reversed_values(self, choice, rounds, max_neighbors, *args, **kwargs) -> DesignChoice:
        # A stand-in polish that keeps every design but reverses the order of merit.
        handed.append(choice)
        neighbor_budgets.append(max_neighbors)
        return DesignChoice(choice.latents, -choice.values, choice.designs)

    monkeypatch.setattr(NewDesigns, "polished", reversed_values)
    found = SurrogateGuidedDiffusion(pool_factor=4, num_steps=20, policy=None, polish_starts=2).candidates(
        grid, 16, torch.Generator().manual_seed(0)
    )
    (choice,) = handed
    assert neighbor_budgets == [POLISH_NEIGHBORS * len(choice)]  # the same per design as without extra starts
    # The refinement's 8 ascents give r <= 8 lines first; the pool twice as many starts as the 16 - r
    # slots left: 32 - r designs in all.
    refined = 32 - len(choice)
    assert 0 < refined <= 8
    slots = 16 - refined
    pool_starts = choice.designs[refined:]  # best first by their value before the "polish"
    # After it, the pool's worse half is the better: those fill the slots, beside every refined line.
    assert len(found.designs) == 16
    assert set(found.designs) == set(choice.designs[:refined]) | set(pool_starts[slots:])
