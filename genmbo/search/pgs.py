"""PGS: gradient ascent on the surrogate with per-dimension step sizes chosen by an offline-RL policy.

Chemingui et al., "Offline Model-Based Optimization via Policy-Guided Gradient Search" (AAAI 2024,
arXiv 2405.05349; Fig. 1 and the method section), with the reference code's settings (``yassineCh/PGS``,
``pgs.py``, ``evaluate_policy.py``, ``knn_evaluate.py``):

1. For each percentile ``p`` in ``{10, 20, 30, 40}``: synthesize random trajectories through the top-``p``
   percent of the offline designs (`genmbo.search.pgs_trajectories`), train a step-size policy on them
   with CQL-SAC (`genmbo.models.policy.pgs_policy`), keeping checkpoints along the way.
2. For each (``p``, checkpoint): from the top offline designs take ``T = 50`` steps
   ``x <- x + s * pi(x) * grad f(x)``, ``pi`` the deterministic policy (``tanh`` of its Gaussian mean).
3. OSEL (`genmbo.search.osel`): keep the final designs of the (``p``, checkpoint) whose k-NN estimated
   value, from the offline data only, is highest.

Units. Designs are normalized latents ``u = (z - mean) / std`` and ``f`` is the (pessimistic) surrogate
divided by the offline scores' std (`objectives.PessimisticObjective`), as the reference normalizes
designs and scores. An action is the step/gradient ratio divided by ``s`` = `action_scale` (10, the
reference's ``clip_action``), and the rollout multiplies it back by the same ``s``, so training and test
actions are in the same units. The reference instead rolls out with ``scale = 0.05 sqrt(d)`` (continuous
tasks) or ``2 sqrt(d)`` (discrete tasks) against actions trained in units of 10; we do not copy that
mismatch.

Defaults versus the reference: 500 trajectories of length 50 (reference: 20,000 of 50), 500 CQL
updates per percentile with a checkpoint every 250 (reference: 401 epochs of 1,000 updates, designs and
OSEL every 50 epochs), so the four trainings take minutes on one CPU core (about 0.1 s per update with
the reference's 256-256 networks at ``d = 32``). With so few updates a single policy is unreliable: on a
2-D quadratic toy, one percentile and one 400-update checkpoint often stepped *against* the gradient at
the top designs (the CQL penalty keeps the policy near the data's actions, which are symmetric about 0
for unsorted random trajectories), while OSEL over two percentiles and two checkpoints of 600 updates
moved at least 15 of 16 start points uphill (the slow test in ``tests/search/test_pgs.py``).

Start points are the top ``budget`` offline latents (reference: the top 128). The surrogate is the
campaign's (reference: one 2048-wide MLP fitted by PGS itself) and may be pessimistic,
``mean - kappa * std`` (default ``kappa = 0``: the plain mean). OSEL's k-NN runs in normalized latent
space, not on the reference's learned trajectory embedding (see `genmbo.search.osel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from genmbo.models.policy.conservative_sac import fit_conservative_sac
from genmbo.models.policy.pgs_policy import PGS_DEFAULT_UPDATES, ConservativeSACConfig, PGSPolicy
from genmbo.search.base import SearchMethod, SearchProblem
from genmbo.search.objectives import PessimisticObjective, check_kappa, latent_scale, start_points
from genmbo.search.osel import OSEL_NEIGHBORS, NearestNeighborValue, select
from genmbo.search.pgs_trajectories import (
    PGS_TRAJECTORY_LENGTH,
    normalized_gradients,
    synthesize_trajectories,
    top_percentile_mask,
)

PGS_PERCENTILES = (10.0, 20.0, 30.0, 40.0)
PGS_DEFAULT_TRAJECTORIES = 500
PGS_SEARCH_STEPS = 50
PGS_ACTION_SCALE = 10.0


def policy_guided_ascent(
    start: torch.Tensor,
    objective: PessimisticObjective,
    policy: PGSPolicy,
    steps: int,
) -> torch.Tensor:
    """`steps` PGS steps ``u <- u + step_vector(u) * grad_u f(u)`` from `n x d` start latents.

    Departure: a row whose step is not finite (the signed policy can push a row downhill until the
    surrogate overflows) keeps its last finite iterate, so the candidates are always finite.

    Returns:
        A detached `n x d` tensor of latents (the autoencoder's scale).
    """
    normalized = policy.normalize(start.detach().float())
    for _ in range(steps):
        latents = policy.unnormalize(normalized)
        gradient = normalized_gradients(objective, policy.latent_mean, policy.latent_scale, normalized)
        stepped = normalized + policy.step_vector(latents) * gradient
        # A row whose step overflows stops at its last finite iterate (a guard the reference lacks).
        normalized = torch.where(torch.isfinite(stepped).all(1, keepdim=True), stepped, normalized)
    return policy.unnormalize(normalized).to(start.dtype)


class PolicyGuidedGradientSearch(SearchMethod):
    """PGS with OSEL model selection; every option has a default.

    Args:
        percentiles: candidate top-``p`` pools, selected among by OSEL (paper: 10, 20, 30, 40); one value
            fixes ``p``.
        trajectories: synthesized trajectories per percentile (reference: 20,000).
        trajectory_length: steps per trajectory (reference: 50).
        updates: CQL-SAC updates per percentile (reference: 401,000).
        checkpoint_every: updates between policy checkpoints OSEL chooses among (None: the final only).
        steps: PGS steps at test time (reference: 50).
        action_scale: units of an action, shared by trajectory synthesis and rollout (reference: 10).
        kappa: weight of the surrogate std in the objective ``mean - kappa * std``.
        osel_neighbors: k of the OSEL k-NN estimate (reference: 10).
        hidden_dims: hidden widths of the actor and both critics (reference: 256, 256).
        batch_size: transitions per update (reference: 256).
        learning_rate: Adam learning rate of actor, critics and temperature (reference: 3e-4).
        discount: the RL discount (reference: 0.99).
        cql_min_q_weight: weight of the CQL penalty (PGS reference: 5).
        cql_actions: sampled actions per proposal in the CQL logsumexp (reference: 10).

    After a call, `selected` holds the chosen ``(percentile, checkpoint index)`` and `policy` the chosen
    `PGSPolicy` (a guided-diffusion `StepSize` through ``policy.step_size`` or ``policy.relative_step_size``).

    `fit` trains in its `run_dir`, one subfolder per percentile and, within it, per training
    (`genmbo.models.policy.conservative_sac.training_dir`: Lightning checkpoints and logs; a rerun resumes
    or reuses the trained policies): `genmbo design` passes ``OUT/policy``. Without one, each
    training runs in a temporary folder.
    """

    name = "pgs"

    def __init__(
        self,
        percentiles: Sequence[float] = PGS_PERCENTILES,
        trajectories: int = PGS_DEFAULT_TRAJECTORIES,
        trajectory_length: int = PGS_TRAJECTORY_LENGTH,
        updates: int = PGS_DEFAULT_UPDATES,
        checkpoint_every: int | None = 250,
        steps: int = PGS_SEARCH_STEPS,
        action_scale: float = PGS_ACTION_SCALE,
        kappa: float = 0.0,
        osel_neighbors: int = OSEL_NEIGHBORS,
        hidden_dims: Sequence[int] = (256, 256),
        batch_size: int = 256,
        learning_rate: float = 3e-4,
        discount: float = 0.99,
        cql_min_q_weight: float = 5.0,
        cql_actions: int = 10,
    ):
        if not percentiles or any(not 0 < p <= 100 for p in percentiles):
            raise ValueError(f"percentiles must be a non-empty sequence in (0, 100], got {percentiles}")
        for label, value in (
            ("trajectories", trajectories),
            ("trajectory_length", trajectory_length),
            ("updates", updates),
            ("batch_size", batch_size),
            ("cql_actions", cql_actions),
            ("osel_neighbors", osel_neighbors),
        ):
            if value < 1:
                raise ValueError(f"{label} must be >= 1, got {value}")
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        if action_scale <= 0:
            raise ValueError(f"action_scale must be > 0, got {action_scale}")
        if learning_rate <= 0 or not 0 <= discount <= 1 or cql_min_q_weight < 0:
            raise ValueError("need learning_rate > 0, 0 <= discount <= 1 and cql_min_q_weight >= 0")
        check_kappa(kappa)
        self.percentiles = tuple(float(p) for p in percentiles)
        self.trajectories = trajectories
        self.trajectory_length = trajectory_length
        self.updates = updates
        self.checkpoint_every = checkpoint_every
        self.steps = steps
        self.action_scale = action_scale
        self.kappa = kappa
        self.osel_neighbors = osel_neighbors
        self.config = ConservativeSACConfig(
            hidden_dims=tuple(hidden_dims),
            discount=discount,
            policy_learning_rate=learning_rate,
            critic_learning_rate=learning_rate,
            batch_size=batch_size,
            cql_actions=cql_actions,
            cql_min_q_weight=cql_min_q_weight,
        )
        self.selected: tuple[float, int] | None = None
        self.policy: PGSPolicy | None = None
        self._run_dir: Path | None = None
        self._fitted_on: SearchProblem | None = None

    def train_policies(
        self, problem: SearchProblem, percentile: float, generator: torch.Generator
    ) -> list[PGSPolicy]:
        """Synthesize trajectories from the top-`percentile` pool and train; a policy per checkpoint."""
        latents = problem.latents.detach().float()
        mean, scale = latents.mean(0), latent_scale(latents)
        objective = PessimisticObjective.for_problem(problem, self.kappa)
        pool = top_percentile_mask(problem.scores, percentile)
        if pool.sum() < 2:  # a trajectory needs two points: take the best two
            pool[torch.argsort(problem.scores, descending=True, stable=True)[:2]] = True
        states = (latents[pool] - mean) / scale
        gradients = normalized_gradients(objective, mean, scale, states)
        transitions = synthesize_trajectories(
            states,
            problem.scores[pool].float(),
            gradients,
            self.trajectories,
            self.trajectory_length,
            generator,
            self.action_scale,
            reward_scale=objective.score_scale,
        )
        dim = latents.shape[1]
        networks = fit_conservative_sac(
            transitions,
            dim,
            dim,
            self.config,
            self.updates,
            generator,
            self.checkpoint_every,
            self._run_dir / f"p{percentile:g}" if self._run_dir is not None else None,
        )
        return [PGSPolicy(network, mean, scale, self.action_scale) for network in networks]

    def fit(
        self, problem: SearchProblem, budget: int, generator: torch.Generator, run_dir: Path | None = None
    ) -> None:
        """Train a policy per percentile (checkpoints in `run_dir`) and keep the one OSEL selects by the
        designs its rollouts from the top `budget` offline latents reach; a no-op once fitted on `problem`."""
        if self._fitted_on is problem:
            return
        self._run_dir = run_dir
        start = start_points(problem, budget, generator)
        objective = PessimisticObjective.for_problem(problem, self.kappa)
        candidate_sets: dict[tuple[float, int], torch.Tensor] = {}
        policies: dict[tuple[float, int], PGSPolicy] = {}
        for percentile in self.percentiles:
            for index, policy in enumerate(self.train_policies(problem, percentile, generator)):
                policies[percentile, index] = policy
                candidate_sets[percentile, index] = policy_guided_ascent(start, objective, policy, self.steps)
        if len(candidate_sets) == 1:
            key = next(iter(candidate_sets))
        else:
            key = select(
                candidate_sets, NearestNeighborValue(problem.latents, problem.scores, self.osel_neighbors)
            )
        self.selected, self.policy = key, policies[key]
        self._fitted_on = problem

    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x d` tensor: the top offline latents after `steps` steps of the OSEL-selected policy
        (`fit` first, unless it ran on this problem)."""
        self.fit(problem, budget, generator)
        assert self.policy is not None
        start = start_points(problem, budget, generator)
        objective = PessimisticObjective.for_problem(problem, self.kappa)
        return policy_guided_ascent(start, objective, self.policy, self.steps)
