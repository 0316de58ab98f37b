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

Departure: the trainer is a plain loop (`ConservativeSAC.fit`), not a LightningModule; it owns three
optimizers stepped in a fixed order per batch (temperature, actor, critics: the reference's order), which
is all that manual optimization in Lightning would wrap, and its data is a tensor of transitions that
fits in memory.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from genmbo.models.networks.pgs_networks import QNetwork, TanhGaussianPolicyNetwork
from genmbo.progress import track

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

    def batch(self, indices: torch.Tensor) -> Transitions:
        return Transitions(*(field[indices] for field in self.__dict__.values()))


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
    ``policy.step_size`` plugs into `SurrogateGuidance` as is.

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


class ConservativeSAC(nn.Module):
    """CQL(H) on SAC for `state_dim` states and `action_dim` actions in ``(-1, 1)``.

    Networks are initialised from a seed drawn from `generator`, so training is deterministic given it.
    """

    def __init__(
        self,
        state_dim: int,
        action_dim: int,
        generator: torch.Generator,
        config: ConservativeSACConfig | None = None,
    ):
        super().__init__()
        self.config = config or ConservativeSACConfig()
        hidden = tuple(self.config.hidden_dims)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.policy = TanhGaussianPolicyNetwork(state_dim, action_dim, hidden)
            self.critics = nn.ModuleList([QNetwork(state_dim, action_dim, hidden) for _ in range(2)])
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.zeros(()))
        self.target_entropy = -float(action_dim)
        self.action_dim = action_dim
        self.policy_optimizer = torch.optim.Adam(self.policy.parameters(), self.config.policy_learning_rate)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), self.config.critic_learning_rate)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], self.config.policy_learning_rate)

    def update(self, batch: Transitions, generator: torch.Generator) -> dict[str, float]:
        """One CQL-SAC update on `batch`; returns the losses (floats)."""
        config = self.config
        new_actions, log_pi = self.policy(batch.states, generator=generator)
        alpha_loss = -(self.log_alpha * (log_pi + self.target_entropy).detach()).mean()
        alpha = self.log_alpha.exp().detach()
        q_new = torch.min(*(critic(batch.states, new_actions) for critic in self.critics))
        policy_loss = (alpha * log_pi - q_new).mean()

        critic_losses = self.critic_losses(batch, generator)
        for optimizer, loss in (
            (self.alpha_optimizer, alpha_loss),
            (self.policy_optimizer, policy_loss),
            (self.critic_optimizer, critic_losses["critic_loss"]),
        ):
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            for critic, target in zip(self.critics, self.target_critics, strict=True):
                for parameter, target_parameter in zip(critic.parameters(), target.parameters(), strict=True):
                    target_parameter.lerp_(parameter, config.target_update_rate)
        metrics = {name: float(value.detach()) for name, value in critic_losses.items()}
        metrics.update(
            policy_loss=float(policy_loss.detach()), alpha=float(alpha), alpha_loss=float(alpha_loss.detach())
        )
        return metrics

    def critic_losses(self, batch: Transitions, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """TD and CQL losses of both critics on `batch`: ``critic_loss`` is their sum (what is minimized)."""
        config = self.config
        states, next_states = batch.states, batch.next_states
        with torch.no_grad():
            next_actions, _ = self.policy(next_states, generator=generator)
            target_q = torch.min(*(target(next_states, next_actions) for target in self.target_critics))
            td_target = batch.rewards + (1.0 - batch.dones) * config.discount * target_q
            count = config.cql_actions
            random_actions = (
                torch.rand(states.shape[0], count, self.action_dim, generator=generator, dtype=states.dtype)
                * 2
                - 1
            )
            current_actions, log_pi_current = self.policy(states, repeat=count, generator=generator)
            next_policy_actions, log_pi_next = self.policy(next_states, repeat=count, generator=generator)
        losses: dict[str, torch.Tensor] = {}
        total = states.new_zeros(())
        for index, critic in enumerate(self.critics, start=1):
            q_data = critic(states, batch.actions)
            td_loss = nn.functional.mse_loss(q_data, td_target)
            gap = cql_penalty(
                q_data,
                critic(states, random_actions),
                critic(states, current_actions),
                log_pi_current,
                critic(states, next_policy_actions),
                log_pi_next,
                self.action_dim,
                config.cql_temperature,
            )
            losses[f"td_loss_{index}"] = td_loss
            losses[f"cql_gap_{index}"] = gap
            total = total + td_loss + config.cql_min_q_weight * gap
        losses["critic_loss"] = total
        return losses

    def fit(
        self,
        transitions: Transitions,
        updates: int,
        generator: torch.Generator,
        checkpoint_every: int | None = None,
    ) -> tuple[list[TanhGaussianPolicyNetwork], list[dict[str, float]]]:
        """Run `updates` updates on batches drawn uniformly with replacement (as the reference).

        Returns:
            Copies of the policy network every `checkpoint_every` updates (and always after the last),
            and each update's metrics.
        """
        checkpoints: list[TanhGaussianPolicyNetwork] = []
        history: list[dict[str, float]] = []
        self.train()
        for step in track(range(1, updates + 1), "training the step-size policy (CQL-SAC)"):
            indices = torch.randint(0, len(transitions), (self.config.batch_size,), generator=generator)
            history.append(self.update(transitions.batch(indices), generator))
            if step == updates or (checkpoint_every and step % checkpoint_every == 0):
                checkpoints.append(copy.deepcopy(self.policy).eval().requires_grad_(False))
        return checkpoints, history
