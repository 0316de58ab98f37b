"""PGS: trajectory synthesis, step/gradient actions, the guided rollout, OSEL, the method end to end."""

from __future__ import annotations

import pytest
import torch

from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.networks.pgs_networks import TanhGaussianPolicyNetwork
from genmbo.models.policy.pgs_policy import PGSPolicy
from genmbo.search.base import SearchProblem
from genmbo.search.guidance import SurrogateGuidance
from genmbo.search.objectives import PessimisticObjective, latent_scale
from genmbo.search.osel import NearestNeighborValue, select
from genmbo.search.pgs import PolicyGuidedGradientSearch, policy_guided_ascent
from genmbo.search.pgs_trajectories import (
    ACTION_CLIP,
    normalized_gradients,
    step_ratio_actions,
    synthesize_trajectories,
    top_percentile_mask,
)

CENTER = torch.tensor([3.0, -1.0])
TINY = dict(hidden_dims=(16, 16), batch_size=32)


class QuadraticSurrogate:
    """mean = -||z - CENTER||^2, std = 0."""

    latent_dim = 2

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return -((latents - CENTER) ** 2).sum(dim=1), torch.zeros(latents.shape[0])


def surrogate_mean(latents: torch.Tensor) -> torch.Tensor:
    return QuadraticSurrogate().predict(latents)[0]


@pytest.fixture(scope="module")
def problem() -> SearchProblem:
    latents = torch.randn(256, 2, generator=torch.Generator().manual_seed(0))
    return SearchProblem(latents, surrogate_mean(latents), QuadraticSurrogate())


def constant_policy(problem: SearchProblem, action: list[float], action_scale: float = 10.0) -> PGSPolicy:
    """A policy whose deterministic action is `action` everywhere (zero weights, atanh bias)."""
    network = TanhGaussianPolicyNetwork(2, 2, (4,))
    with torch.no_grad():
        last = network.network[-1]
        last.weight.zero_()
        last.bias.copy_(torch.cat([torch.atanh(torch.tensor(action)), torch.zeros(2)]))
    latents = problem.latents
    return PGSPolicy(network, latents.mean(0), latent_scale(latents), action_scale)


def test_top_percentile_mask_follows_numpy_percentile() -> None:
    scores = torch.arange(1.0, 101.0)
    assert top_percentile_mask(scores, 10).sum() == 10
    assert top_percentile_mask(scores, 10)[90:].all()
    assert top_percentile_mask(scores, 100).all()
    with pytest.raises(ValueError):
        top_percentile_mask(scores, 0)


def test_actions_are_step_over_gradient_in_action_units() -> None:
    steps = torch.tensor([[1.0, -2.0, 5.0, 0.3, 9.9999, 0.0]])
    gradients = torch.tensor([[0.5, 4.0, 0.1, 0.0, 1.0, 0.0]])
    # Ratios 2, -0.5, 50 (beyond 10: dropped), inf (dropped), 9.9999 (clipped), nan (dropped).
    expected = torch.tensor([[0.2, -0.05, 0.0, 0.0, ACTION_CLIP, 0.0]])
    torch.testing.assert_close(step_ratio_actions(steps, gradients, 10.0), expected)


def test_trajectories_are_distinct_pool_points_linked_by_gradients() -> None:
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(20, 3, generator=generator)
    scores = torch.randn(20, generator=generator)
    gradients = torch.randn(20, 3, generator=generator)
    count, length, action_scale = 7, 5, 4.0
    transitions = synthesize_trajectories(
        states, scores, gradients, count, length, generator, action_scale, reward_scale=2.0
    )
    assert transitions.states.shape == transitions.next_states.shape == (count * length, 3)
    assert transitions.actions.shape == (count * length, 3)
    assert transitions.rewards.shape == transitions.dones.shape == (count * length,)
    row_of = {tuple(row.tolist()): index for index, row in enumerate(states)}
    for trajectory in range(count):
        rows = slice(trajectory * length, (trajectory + 1) * length)
        visited = [row_of[tuple(s.tolist())] for s in transitions.states[rows]]
        visited.append(row_of[tuple(transitions.next_states[rows][-1].tolist())])
        assert len(set(visited)) == length + 1  # distinct pool points
        torch.testing.assert_close(transitions.next_states[rows][:-1], transitions.states[rows][1:])
        assert transitions.dones[rows].tolist() == [0.0] * (length - 1) + [1.0]
        torch.testing.assert_close(
            transitions.rewards[rows], (scores[visited[1:]] - scores[visited[:-1]]) / 2.0
        )
        # The action recomputed by hand: step / gradient / action_scale, kept where within [-1, 1].
        for t in range(length):
            ratio = (states[visited[t + 1]] - states[visited[t]]) / gradients[visited[t]] / action_scale
            hand = torch.where(ratio.abs() <= 1, ratio, torch.zeros_like(ratio)).clamp(
                -ACTION_CLIP, ACTION_CLIP
            )
            torch.testing.assert_close(transitions.actions[rows][t], hand)


def test_tiny_offline_data_still_runs(problem: SearchProblem) -> None:
    small = SearchProblem(problem.latents[:5], problem.scores[:5], problem.surrogate)
    method = PolicyGuidedGradientSearch(percentiles=(20.0,), trajectories=4, updates=3, steps=3, **TINY)
    candidates = method(small, 9, torch.Generator().manual_seed(0))
    assert (
        candidates.shape == (9, 2) and candidates.dtype == torch.float32 and torch.isfinite(candidates).all()
    )


def test_short_pool_shortens_trajectories() -> None:
    generator = torch.Generator().manual_seed(0)
    transitions = synthesize_trajectories(
        torch.randn(4, 2), torch.randn(4), torch.ones(4, 2), 3, 50, generator, 10.0
    )
    assert len(transitions) == 3 * 3


def test_normalized_gradients_are_chain_ruled(problem: SearchProblem) -> None:
    objective = PessimisticObjective.for_problem(problem, 0.0)
    mean, scale = torch.tensor([0.5, -0.5]), torch.tensor([2.0, 0.5])
    normalized = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
    latents = mean + scale * normalized
    expected = scale * (-2 * (latents - CENTER)) / objective.score_scale
    torch.testing.assert_close(normalized_gradients(objective, mean, scale, normalized), expected)


def test_policy_guided_rollout_climbs_the_toy_surrogate(problem: SearchProblem) -> None:
    start = problem.top_latents(16)
    objective = PessimisticObjective.for_problem(problem, 0.0)
    climbed = policy_guided_ascent(start, objective, constant_policy(problem, [0.05, 0.05]), 50)
    assert (surrogate_mean(climbed) > surrogate_mean(start)).all()
    assert surrogate_mean(climbed).mean() > -0.1  # the optimum, at CENTER, is 0
    # One step by hand: u' = u + s * a * grad_u f.
    policy = constant_policy(problem, [0.05, -0.02])
    one = policy_guided_ascent(start, objective, policy, 1)
    normalized = policy.normalize(start)
    gradient = normalized_gradients(objective, policy.latent_mean, policy.latent_scale, normalized)
    torch.testing.assert_close(one, policy.unnormalize(normalized + torch.tensor([0.5, -0.2]) * gradient))


def test_rollout_keeps_rows_finite_when_a_policy_descends(problem: SearchProblem) -> None:
    start = problem.top_latents(4)
    objective = PessimisticObjective.for_problem(problem, 0.0)
    descended = policy_guided_ascent(start, objective, constant_policy(problem, [-0.99, -0.99], 1e6), 50)
    assert torch.isfinite(descended).all()


def test_osel_estimate_and_selection(problem: SearchProblem) -> None:
    estimator = NearestNeighborValue(problem.latents, problem.scores, neighbors=3)
    point = problem.latents[:1]
    normalized = (problem.latents - problem.latents.mean(0)) / latent_scale(problem.latents)
    nearest = torch.cdist(normalized[:1], normalized).topk(3, largest=False).indices[0]
    torch.testing.assert_close(estimator(point), problem.scores[nearest].mean().reshape(1))
    good, bad = problem.top_latents(4), -problem.top_latents(4)
    assert select({"bad": bad, "good": good}, estimator) == "good"
    assert estimator.score_set(torch.tensor([[float("nan"), 0.0]])) == float("-inf")


def run_method(
    problem: SearchProblem, seed: int, **options: object
) -> tuple[torch.Tensor, PolicyGuidedGradientSearch]:
    settings: dict[str, object] = dict(
        percentiles=(20.0,), trajectories=20, updates=20, checkpoint_every=None, steps=10, **TINY
    )
    settings.update(options)
    method = PolicyGuidedGradientSearch(**settings)  # type: ignore[arg-type]
    return method(problem, 8, torch.Generator().manual_seed(seed)), method


def test_method_end_to_end_shapes_step_sizes_and_determinism(problem: SearchProblem) -> None:
    candidates, method = run_method(problem, 0)
    again, _ = run_method(problem, 0)
    assert candidates.shape == (8, 2) and torch.isfinite(candidates).all()
    torch.testing.assert_close(candidates, again)
    assert method.selected == (20.0, 0) and method.policy is not None
    sizes = method.policy.step_size(problem.latents[:5])
    assert sizes.shape == (5, 2) and torch.isfinite(sizes).all() and (sizes >= 0).all()


def test_osel_chooses_among_percentiles_and_checkpoints(problem: SearchProblem) -> None:
    candidates, method = run_method(problem, 1, percentiles=(20.0, 40.0), updates=10, checkpoint_every=5)
    assert method.selected is not None
    assert method.selected[0] in (20.0, 40.0) and method.selected[1] in (0, 1)
    assert candidates.shape == (8, 2)


def test_defaults_and_validation() -> None:
    method = PolicyGuidedGradientSearch()
    assert (
        method.percentiles == (10.0, 20.0, 30.0, 40.0) and method.steps == 50 and method.action_scale == 10.0
    )
    assert method.config.cql_min_q_weight == 5.0 and method.config.cql_actions == 10
    for bad in (
        dict(percentiles=()),
        dict(updates=0),
        dict(action_scale=0.0),
        dict(kappa=-1.0),
        dict(steps=-1),
    ):
        with pytest.raises(ValueError):
            PolicyGuidedGradientSearch(**bad)  # type: ignore[arg-type]


def test_policy_step_size_plugs_into_surrogate_guidance(problem: SearchProblem) -> None:
    torch.manual_seed(0)
    diffusion = LatentDiffusion(2, hidden_dim=16, num_blocks=1, embedding_dim=8)
    diffusion.fit_standardization(problem.latents)
    objective = PessimisticObjective.for_problem(problem, 0.0)
    noise, latents, timestep = torch.randn(5, 2), torch.randn(5, 2), torch.tensor(500)
    unguided = SurrogateGuidance(diffusion, objective, scale=1.0, step_size=lambda z: torch.zeros_like(z))
    stopped = SurrogateGuidance(diffusion, objective, 1.0, constant_policy(problem, [-0.5, -0.5]).step_size)
    moving = SurrogateGuidance(diffusion, objective, 1.0, constant_policy(problem, [0.1, 0.0]).step_size)
    torch.testing.assert_close(stopped(noise, latents, timestep), unguided(noise, latents, timestep))
    guided = moving(noise, latents, timestep)
    assert guided.shape == (5, 2) and torch.isfinite(guided).all()
    assert not torch.allclose(guided[:, 0], noise[:, 0]) and torch.equal(guided[:, 1], noise[:, 1])


@pytest.mark.slow
def test_learned_policy_climbs_the_toy_surrogate(problem: SearchProblem) -> None:
    """End to end with OSEL over two percentiles and two checkpoints (about 15 s on one core)."""
    method = PolicyGuidedGradientSearch(
        percentiles=(10.0, 20.0), trajectories=200, updates=600, checkpoint_every=300, hidden_dims=(64, 64)
    )
    start = problem.top_latents(16)
    candidates = method(problem, 16, torch.Generator().manual_seed(0))
    improved = surrogate_mean(candidates) > surrogate_mean(start)
    assert improved.float().mean() >= 0.75
    assert surrogate_mean(candidates).median() > surrogate_mean(start).median()
