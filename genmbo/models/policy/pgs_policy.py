"""The PGS step-size policy and its trainer: conservative Q-learning on soft actor-critic.

PGS (Chemingui et al., "Offline Model-Based Optimization via Policy-Guided Gradient Search", AAAI 2024,
arXiv 2405.05349) casts offline optimization as offline RL: a state is a design (here a normalized latent),
an action is a step-size vector ``a`` for the update ``x' = x + s * a * grad f(x)`` on a surrogate ``f``,
and the reward is the change of the offline score. The policy is learned with CQL(H) (Kumar et al.,
"Conservative Q-Learning for Offline RL", NeurIPS 2020, arXiv 2006.04779, eq. 4) on soft actor-critic
(Haarnoja et al., ICML 2018, arXiv 1801.01290, eqs. 5, 7 and the automatic temperature of arXiv
1812.05905, eq. 18). Each update, on a batch of transitions ``(s, a, r, s', done)``:

- twin critics regress on ``r + gamma * (1 - done) * min_i Q'_i(s', a')``, ``a' ~ pi(s')``, with Polyak-
  averaged targets ``Q'_i`` (rate 0.005) and no entropy term in the backup (the reference's
  ``backup_entropy = False``);
- CQL(H) adds ``w * (logsumexp_a Q(s, a) - Q(s, a_data))``, the logsumexp estimated by importance sampling
  over 10 uniform actions, 10 from ``pi(s)`` and 10 from ``pi(s')`` (CQL appendix F; the reference's
  ``cql_importance_sample``), ``w = 5`` (PGS's ``cql_min_q_weight``), temperature 1;
- the actor minimizes ``alpha * log pi(a | s) - min_i Q_i(s, a)``, ``a ~ pi(s)`` reparameterized;
- ``log alpha`` minimizes ``-log alpha * (log pi + target_entropy)``, target entropy ``-action_dim``.

Hyperparameters are those of the reference code (``yassineCh/PGS``, ``conservative_sac.py``, ``pgs.py``):
Adam at 3e-4 for actor, critics and temperature, batch 256, discount 0.99, 256-256 networks. The reference
runs 401 epochs of 1000 updates (about 400k); our default (`PGS_DEFAULT_UPDATES`) is far fewer so that a
run fits in minutes on two CPU cores.

The learner, a LightningModule trained by Lightning (so also under DDP), is
`genmbo.models.policy.conservative_sac`; this module holds its data, hyperparameters, CQL penalty and the
trained policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from genmbo.models.networks.pgs_networks import TanhGaussianPolicyNetwork

PGS_DEFAULT_UPDATES = 500


@dataclass
class Transitions:
    """Offline RL data, one row per transition: `states`, `actions`, `next_states` (`n x d`), `rewards`
    and `dones` (`n`, dones 1.0 at a trajectory's last step)."""

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    dones: torch.Tensor

    def __len__(self) -> int:
        return self.states.shape[0]

    def map(self, function: Callable[[torch.Tensor], torch.Tensor]) -> Transitions:
        """The transitions with `function` applied to every field."""
        return Transitions(*(function(field) for field in self.__dict__.values()))

    def batch(self, indices: torch.Tensor) -> Transitions:
        return self.map(lambda field: field[indices])


@dataclass
class ConservativeSACConfig:
    """CQL(H)-SAC hyperparameters; defaults are the PGS reference's (see the module docstring)."""

    hidden_dims: Sequence[int] = (256, 256)
    discount: float = 0.99
    policy_learning_rate: float = 3e-4
    critic_learning_rate: float = 3e-4
    target_update_rate: float = 5e-3
    batch_size: int = 256
    cql_actions: int = 10
    cql_min_q_weight: float = 5.0
    cql_temperature: float = 1.0


def cql_penalty(
    q_data: torch.Tensor,
    q_random: torch.Tensor,
    q_current: torch.Tensor,
    log_pi_current: torch.Tensor,
    q_next: torch.Tensor,
    log_pi_next: torch.Tensor,
    action_dim: int,
    temperature: float = 1.0,
) -> torch.Tensor:
    """CQL(H)'s gap ``logsumexp_a Q(s, a) - Q(s, a_data)``, averaged over the batch (eq. 4, appendix F).

    The logsumexp over actions is estimated by importance sampling: each sampled Q value is divided by
    its proposal density, uniform on ``[-1, 1]^d`` (log-density ``d log 0.5``) or the policy's.

    Args:
        q_data: `n` Q values of the data actions.
        q_random: `n x m` Q values of uniform actions.
        q_current, log_pi_current: `n x m` Q values and log-densities of actions from ``pi(s)``.
        q_next, log_pi_next: `n x m` Q values (at ``s``) and log-densities of actions from ``pi(s')``.
        action_dim: ``d``.
        temperature: the logsumexp temperature.
    Returns:
        A scalar.
    """
    random_log_density = action_dim * math.log(0.5)
    weighted = torch.cat(
        [q_random - random_log_density, q_next - log_pi_next.detach(), q_current - log_pi_current.detach()],
        dim=1,
    )
    soft_max = torch.logsumexp(weighted / temperature, dim=1) * temperature
    return (soft_max - q_data).mean()


class PGSPolicy(nn.Module):
    """A trained step-size policy on latents in the autoencoder's scale.

    States are normalized latents ``u = (z - latent_mean) / latent_scale``; the step is taken in ``u``:
    ``u' = u + action_scale * pi(u) * grad_u f``. `step_vector` returns ``action_scale * pi(u)``, the
    per-dimension multiplier of the gradient with respect to normalized latents. Those are the units of
    guided diffusion's `StepSize` (its gradient is taken with respect to latents standardized by the same
    per-dimension mean and std, `LatentDiffusion.standardize`, of the score-normalized objective), so
    ``policy.step_size`` plugs into `SurrogateGuidance`; the flagship passes ``relative_step_size``, the
    same steps divided by their mean over the dimensions, and sets the size with its ``scale``.

    Args:
        network: the tanh-Gaussian policy network.
        latent_mean, latent_scale: `d` tensors, the normalization of the offline latents.
        action_scale: ``s``, the units of an action (the trajectories' ratios were divided by it).
    """

    def __init__(
        self,
        network: TanhGaussianPolicyNetwork,
        latent_mean: torch.Tensor,
        latent_scale: torch.Tensor,
        action_scale: float,
    ):
        super().__init__()
        self.network = network
        self.register_buffer("latent_mean", latent_mean.detach().float().clone())
        self.register_buffer("latent_scale", latent_scale.detach().float().clone())
        self.action_scale = action_scale

    def normalize(self, latents: torch.Tensor) -> torch.Tensor:
        return (latents - self.latent_mean) / self.latent_scale

    def unnormalize(self, normalized: torch.Tensor) -> torch.Tensor:
        return normalized * self.latent_scale + self.latent_mean

    @torch.no_grad()
    def step_vector(self, latents: torch.Tensor) -> torch.Tensor:
        """``action_scale * tanh(mean)`` at `n x d` latents: `n x d`, signed (the deterministic policy)."""
        return self.action_scale * self.network.mode(self.normalize(latents.float())).to(latents.dtype)

    def step_size(self, latents: torch.Tensor) -> torch.Tensor:
        """A `StepSize` for guided diffusion: the positive part of `step_vector` (`n x d`, finite, >= 0).

        Guidance multiplies its ascent direction by this; a negative entry would turn it into descent along
        that dimension, which guidance (unlike the PGS rollout, which uses the signed vector) never wants.
        """
        return self.step_vector(latents).clamp_min(0.0)

    def relative_step_size(self, latents: torch.Tensor) -> torch.Tensor:
        """`step_size` divided by its mean over the dimensions of each row (ones where that mean is 0).

        The policy then chooses how guidance spreads its step over the dimensions while the guidance
        scale alone sets the step's overall size; the policy's absolute steps were learned for PGS's
        discrete ascent, whose units (``action_scale``, up to 10) would otherwise multiply the scale.
        """
        positive = self.step_size(latents)
        row_mean = positive.mean(1, keepdim=True)
        return torch.where(row_mean > 0, positive / row_mean.clamp_min(1e-12), torch.ones_like(positive))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.step_size(latents)
