"""PGS's offline RL data: random trajectories through the best offline designs, linked by gradients.

Chemingui et al., "Offline Model-Based Optimization via Policy-Guided Gradient Search" (AAAI 2024,
arXiv 2405.05349), trajectory synthesis (Fig. 1: "random trajectories from a subset of inputs with high
function values ... Top p percentile"), as implemented by the reference code (``yassineCh/PGS``,
``generate_trajectories.py`` and ``pgs.py``), which we followed where the paper's text was not available
to us:

1. Pool: the offline designs whose scores are at or above the ``(100 - p)``-th percentile (``top_p``).
2. A trajectory is ``length + 1`` *distinct* pool points drawn uniformly without replacement, in the
   order drawn: they are not sorted by score (the reference's ``np.random.choice(..., replace=False)``),
   so rewards are positive and negative and the critic learns which steps pay.
3. The action linking ``x_t`` to ``x_{t+1}`` is the elementwise ratio of the step to the surrogate
   gradient, ``(x_{t+1} - x_t) / grad f(x_t)``, in units of ``action_scale`` (the reference divides by
   ``clip_action = 10``); ratios that are not finite, or beyond ``action_scale`` in magnitude, become 0
   (the reference's ``nan_to_num`` then ``action[|action| > 1] = 0``), and the rest are clipped to
   ``+-ACTION_CLIP`` (0.999, the reference's ``clip_action`` flag) so the tanh policy's log-density is
   finite there.
4. The reward is the change of the offline score, ``y_{t+1} - y_t``; ``done`` is 1 at the last step only.

States are normalized latents, ``(z - mean) / std`` over all offline latents, and the surrogate objective
is divided by the offline scores' std, as the reference normalizes both designs and scores
(``normalize_xs``, ``normalize_ys``). Rewards are divided by the same score std.

Departures: the reference uses 20,000 trajectories of length 50; our default is fewer (see
`genmbo.search.pgs`). A pool of fewer than ``length + 1`` points shortens the trajectories to the pool
size minus one (the reference would fail).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from genmbo.models.policy.pgs_policy import Transitions

ACTION_CLIP = 0.999
PGS_TRAJECTORY_LENGTH = 50


def top_percentile_mask(scores: torch.Tensor, percentile: float) -> torch.Tensor:
    """A `n` bool mask of the scores at or above their ``(100 - percentile)``-th percentile (linear
    interpolation, as ``numpy.percentile``)."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    threshold = torch.quantile(scores.double(), 1.0 - percentile / 100.0)
    return scores.double() >= threshold


def normalized_gradients(
    objective: Callable[[torch.Tensor], torch.Tensor],
    latent_mean: torch.Tensor,
    latent_scale: torch.Tensor,
    normalized: torch.Tensor,
) -> torch.Tensor:
    """``grad_u objective(mean + scale * u)`` at `n x d` normalized latents ``u``: `n x d`, detached."""
    with torch.enable_grad():
        normalized = normalized.detach().clone().requires_grad_(True)
        # Rows are independent, so the gradient of the sum is each row's own gradient.
        (gradient,) = torch.autograd.grad(
            objective(latent_mean + latent_scale * normalized).sum(), normalized
        )
    return gradient.detach()


def step_ratio_actions(steps: torch.Tensor, gradients: torch.Tensor, action_scale: float) -> torch.Tensor:
    """Actions that reproduce `steps` as ``action_scale * action * gradients`` (`n x d` each).

    Entries whose ratio is not finite or exceeds `action_scale` in magnitude are 0; the rest are clipped
    to ``+-ACTION_CLIP``.
    """
    actions = steps / gradients / action_scale
    keep = torch.isfinite(actions) & (actions.abs() <= 1.0)
    return torch.where(keep, actions, torch.zeros_like(actions)).clamp(-ACTION_CLIP, ACTION_CLIP)


def synthesize_trajectories(
    states: torch.Tensor,
    scores: torch.Tensor,
    gradients: torch.Tensor,
    count: int,
    length: int,
    generator: torch.Generator,
    action_scale: float,
    reward_scale: float = 1.0,
) -> Transitions:
    """`count` random trajectories of `length` steps through distinct pool points.

    Args:
        states: a `m x d` tensor of pool states (normalized latents).
        scores: a `m` tensor of their offline scores.
        gradients: a `m x d` tensor, the surrogate gradient at each pool state (with respect to the state).
        count: number of trajectories.
        length: steps per trajectory (shortened to ``m - 1`` if the pool is smaller).
        action_scale: the units of an action (see `step_ratio_actions`).
        reward_scale: rewards are ``(y_{t+1} - y_t) / reward_scale``.
    Returns:
        `Transitions` with ``count * length`` rows, trajectory by trajectory.
    """
    pool_size = states.shape[0]
    if pool_size < 2:
        raise ValueError(f"a trajectory needs at least 2 pool points, got {pool_size}")
    length = min(length, pool_size - 1)
    order = torch.stack([torch.randperm(pool_size, generator=generator)[: length + 1] for _ in range(count)])
    current, following = order[:, :-1].reshape(-1), order[:, 1:].reshape(-1)
    dones = torch.zeros(count, length, dtype=states.dtype)
    dones[:, -1] = 1.0
    return Transitions(
        states=states[current],
        actions=step_ratio_actions(states[following] - states[current], gradients[current], action_scale),
        rewards=((scores[following] - scores[current]) / reward_scale).to(states.dtype),
        next_states=states[following],
        dones=dones.reshape(-1),
    )
