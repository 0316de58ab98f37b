"""PGS's CQL-SAC: network shapes and densities, the CQL penalty by hand, training, targets, the policy."""

from __future__ import annotations

import copy
import math

import torch
from torch.distributions import Normal, TransformedDistribution
from torch.distributions.transforms import TanhTransform

from genmbo.models.networks.pgs_networks import QNetwork, TanhGaussianPolicyNetwork
from genmbo.models.pgs_policy import (
    ConservativeSAC,
    ConservativeSACConfig,
    PGSPolicy,
    Transitions,
    cql_penalty,
)

TINY = ConservativeSACConfig(hidden_dims=(16, 16), batch_size=32)


def toy_transitions(count: int = 256, dim: int = 3, seed: int = 0) -> Transitions:
    """Reward = first action coordinate: a critic can fit it, so training should lower its loss."""
    generator = torch.Generator().manual_seed(seed)
    states = torch.randn(count, dim, generator=generator)
    actions = torch.rand(count, dim, generator=generator) * 1.8 - 0.9
    dones = torch.zeros(count)
    dones[9::10] = 1.0
    return Transitions(states, actions, actions[:, 0].clone(), torch.roll(states, -1, 0), dones)


def test_policy_shapes_and_tanh_gaussian_log_density() -> None:
    torch.manual_seed(0)
    policy = TanhGaussianPolicyNetwork(3, 2, (8,))
    states = torch.randn(5, 3)
    generator = torch.Generator().manual_seed(1)
    actions, log_density = policy(states, generator=generator)
    assert actions.shape == (5, 2) and log_density.shape == (5,)
    assert actions.abs().max() < 1
    mean, std = policy.distribution(states)
    reference = TransformedDistribution(Normal(mean, std), TanhTransform()).log_prob(actions).sum(-1)
    torch.testing.assert_close(log_density, reference, rtol=1e-4, atol=1e-4)
    repeated, repeated_log_density = policy(states, repeat=4, generator=generator)
    assert repeated.shape == (5, 4, 2) and repeated_log_density.shape == (5, 4)
    torch.testing.assert_close(policy.mode(states), torch.tanh(mean))


def test_q_network_shapes_share_states_across_actions() -> None:
    critic = QNetwork(3, 2, (8,))
    states, actions = torch.randn(5, 3), torch.rand(5, 4, 2)
    values = critic(states, actions)
    assert values.shape == (5, 4)
    torch.testing.assert_close(values[:, 1], critic(states, actions[:, 1]))


def test_cql_penalty_matches_hand_computation() -> None:
    q_data = torch.tensor([1.0, -0.5])
    q_random = torch.tensor([[0.2, -0.1], [0.0, 0.4]])
    q_current = torch.tensor([[0.5, 0.3], [-0.2, 0.1]])
    log_pi_current = torch.tensor([[-1.0, -0.5], [0.3, -0.2]])
    q_next = torch.tensor([[0.1, 0.0], [0.6, -0.3]])
    log_pi_next = torch.tensor([[-0.4, 0.2], [-1.5, 0.0]])
    action_dim = 2
    expected = 0.0
    for row in range(2):
        terms = [q - action_dim * math.log(0.5) for q in q_random[row].tolist()]
        terms += [q - lp for q, lp in zip(q_next[row].tolist(), log_pi_next[row].tolist(), strict=True)]
        terms += [q - lp for q, lp in zip(q_current[row].tolist(), log_pi_current[row].tolist(), strict=True)]
        expected += math.log(sum(math.exp(t) for t in terms)) - q_data[row].item()
    expected /= 2
    penalty = cql_penalty(q_data, q_random, q_current, log_pi_current, q_next, log_pi_next, action_dim)
    assert math.isclose(penalty.item(), expected, rel_tol=1e-5)
    # Temperature 2: 2 * logsumexp(x / 2).
    cooled = cql_penalty(q_data, q_random, q_current, log_pi_current, q_next, log_pi_next, action_dim, 2.0)
    weighted = torch.cat(
        [q_random - action_dim * math.log(0.5), q_next - log_pi_next, q_current - log_pi_current], 1
    )
    torch.testing.assert_close(cooled, (2 * torch.logsumexp(weighted / 2, 1) - q_data).mean())


def test_short_training_lowers_the_critic_loss() -> None:
    """The critic loss under a fixed policy falls. (The logged loss need not: its CQL term is importance-
    weighted by the policy's own density, which the entropy bonus flattens as training goes on.)"""
    learner = ConservativeSAC(3, 3, torch.Generator().manual_seed(0), TINY)
    transitions = toy_transitions()
    batch = transitions.batch(torch.arange(len(transitions)))
    initial_policy = copy.deepcopy(learner.policy)
    before = learner.critic_losses(batch, torch.Generator().manual_seed(2))
    _, history = learner.fit(transitions, 200, torch.Generator().manual_seed(1))
    learner.policy = initial_policy
    after = learner.critic_losses(batch, torch.Generator().manual_seed(2))
    assert after["critic_loss"] < before["critic_loss"]
    assert after["td_loss_1"] < before["td_loss_1"] and after["td_loss_2"] < before["td_loss_2"]
    assert all(math.isfinite(metrics["critic_loss"]) for metrics in history)


def test_targets_follow_the_critics_by_polyak_averaging() -> None:
    learner = ConservativeSAC(3, 3, torch.Generator().manual_seed(0), TINY)
    before = [p.clone() for p in learner.target_critics.parameters()]
    for critic, target in zip(learner.critics, learner.target_critics, strict=True):
        for parameter, target_parameter in zip(critic.parameters(), target.parameters(), strict=True):
            torch.testing.assert_close(parameter, target_parameter)
    learner.update(toy_transitions().batch(torch.arange(32)), torch.Generator().manual_seed(1))
    rate = TINY.target_update_rate
    for old, new, critic in zip(
        before, learner.target_critics.parameters(), learner.critics.parameters(), strict=True
    ):
        torch.testing.assert_close(new, (1 - rate) * old + rate * critic.detach(), rtol=1e-5, atol=1e-6)


def test_fit_is_deterministic_and_checkpoints() -> None:
    def run() -> tuple[list[TanhGaussianPolicyNetwork], list[dict[str, float]]]:
        learner = ConservativeSAC(3, 3, torch.Generator().manual_seed(3), TINY)
        return learner.fit(toy_transitions(), 20, torch.Generator().manual_seed(4), checkpoint_every=10)

    (first, first_history), (second, second_history) = run(), run()
    assert len(first) == 2 and first_history == second_history
    states = torch.randn(4, 3)
    torch.testing.assert_close(first[-1].mode(states), second[-1].mode(states))


def test_policy_step_sizes_are_scaled_positive_parts() -> None:
    torch.manual_seed(0)
    network = TanhGaussianPolicyNetwork(3, 3, (8,))
    with torch.no_grad():
        network.network[-1].bias.copy_(torch.tensor([0.5, -0.5, 0.0, 0.0, 0.0, 0.0]))
    mean, scale = torch.tensor([1.0, 0.0, -1.0]), torch.tensor([2.0, 1.0, 0.5])
    policy = PGSPolicy(network, mean, scale, action_scale=10.0)
    latents = torch.randn(6, 3)
    vector = policy.step_vector(latents)
    torch.testing.assert_close(vector, 10.0 * network.mode((latents - mean) / scale))
    sizes = policy.step_size(latents)
    assert sizes.shape == (6, 3) and torch.isfinite(sizes).all() and (sizes >= 0).all()
    torch.testing.assert_close(sizes, vector.clamp_min(0))
    assert (sizes[:, 0] > 0).all() and (sizes[:, 1] == 0).all()
    torch.testing.assert_close(policy(latents), sizes)
