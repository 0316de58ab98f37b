"""PGS's CQL-SAC pieces: network shapes and densities, the CQL penalty by hand, the trained policy's steps.

The learner itself is tested in `test_conservative_sac.py`."""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal, TransformedDistribution
from torch.distributions.transforms import TanhTransform

from genmbo.models.networks.pgs_networks import QNetwork, TanhGaussianPolicyNetwork
from genmbo.models.policy.pgs_policy import PGSPolicy, cql_penalty


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
