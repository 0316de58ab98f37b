"""CQL(H) on soft actor-critic as a LightningModule: the learner behind PGS's step-size policy.

The losses are those of `genmbo.models.policy.pgs_policy` (its docstring cites CQL, SAC and the PGS reference
code and lists the hyperparameters). The reference steps three optimizers in turn on each batch
(temperature, actor, critics), each after its own backward pass. Here the three losses are summed and
minimized by one Adam with a parameter group each, in one backward pass, which is the same update:

- each loss reaches only its own parameters: the actor's loss reads the critics through detached copies
  of their weights (``torch.func.functional_call``), the critics' targets and CQL actions are drawn
  without gradients, and the temperature enters the other losses detached;
- all three losses are computed from the weights before the step, as in the reference, where the critic
  loss's inputs were drawn before the actor stepped;
- Adam is per parameter, so one optimizer with three groups equals three optimizers.

`tests/models/policy/test_conservative_sac.py` checks the weights after a few Lightning steps against the
reference's three-optimizer order. One backward pass per step is what lets Lightning's DDP run the
learner unchanged: it averages the gradients of the summed loss across processes.

Randomness. One generator draws, per update and in the reference's order, the batch (uniform with
replacement, the reference's sampling) and then every policy and CQL action sample; it starts from the
caller's generator state and hands its final state back, so a run draws what the former plain loop drew.
Its state travels in Lightning's checkpoints, so a resumed run continues the same stream. With several
processes, process ``r > 0`` draws from its own stream, seeded by the first stream and ``r`` (rank 0's
stream is still the single-process one); after a resume those streams restart from the step reached.

Files. A training lives in a folder named by its fingerprint (settings, transitions, starting stream),
whose checkpoints and result file (`policies.pt`: the policy copies and the final stream state) carry
the fingerprint too, so a rerun reuses or resumes only its own training (and rebuilds the result from a
final checkpoint if it was killed between the two), and two runs that train the same policy train it
once. The transitions are plain tensors, not buffers, which DDP would re-send every step.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, IterableDataset

from genmbo.models.checkpoints import usable_resume_checkpoint
from genmbo.models.networks.pgs_networks import QNetwork, TanhGaussianPolicyNetwork
from genmbo.models.policy.pgs_policy import ConservativeSACConfig, Transitions, cql_penalty
from genmbo.models.training import build_trainer, resume_path, several_processes
from genmbo.outputs.files import write_atomic

POLICIES_FILE = "policies.pt"


class ConservativeSAC(pl.LightningModule):
    """CQL(H)-SAC for `state_dim` states and `action_dim` actions in ``(-1, 1)``.

    Args:
        state_dim, action_dim: sizes of a state and an action.
        generator: seeds the networks (one draw) and then supplies the training stream's starting state.
        config: hyperparameters.
        transitions: the offline RL data; held as buffers that move with the module, not saved.
        updates: the number of updates a fit runs (its `max_steps`).
        checkpoint_every: keep a copy of the policy every this many updates (and after the last).
        output: where process 0 writes the policy copies and the stream's state when training ends.
    """

    def __init__(
        self,
        state_dim: int,
        action_dim: int,
        generator: torch.Generator,
        config: ConservativeSACConfig | None = None,
        transitions: Transitions | None = None,
        updates: int = 1,
        checkpoint_every: int | None = None,
        output: Path | None = None,
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
        self.updates = updates
        self.checkpoint_every = checkpoint_every
        self.output = output
        # A generator is not picklable (ddp_spawn pickles the module): keep its state, build it at fit.
        self.stream_state = generator.get_state()
        self.stream: torch.Generator | None = None
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.register_buffer("updates_done", torch.zeros((), dtype=torch.long))
        # Plain tensors, not buffers: DDP would broadcast every buffer from process 0 on every step.
        self.transitions = (
            transitions.map(lambda field: field.detach().float()) if transitions is not None else None
        )
        # Identifies the training (settings, data, starting stream) in its checkpoints and result file,
        # so a folder holding another training's files is never resumed or reused by mistake.
        self.fingerprint = training_fingerprint(
            self.config, self.transitions, updates, checkpoint_every, self.stream_state_now()
        )

    # -- the losses ---------------------------------------------------------------------------------

    def losses(self, batch: Transitions, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Every loss of one update on `batch`; ``loss`` is their sum, whose gradient is the update's."""
        new_actions, log_pi = self.policy(batch.states, generator=generator)
        alpha_loss = -(self.log_alpha * (log_pi + self.target_entropy).detach()).mean()
        alpha = self.log_alpha.exp().detach()
        q_new = torch.min(*(_frozen(critic)(batch.states, new_actions) for critic in self.critics))
        policy_loss = (alpha * log_pi - q_new).mean()
        losses = self.critic_losses(batch, generator)
        losses.update(policy_loss=policy_loss, alpha_loss=alpha_loss, alpha=alpha)
        losses["loss"] = alpha_loss + policy_loss + losses["critic_loss"]
        return losses

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
                torch.rand(
                    states.shape[0], count, self.action_dim, generator=generator, device=generator.device
                ).to(states)
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

    def update_targets(self) -> None:
        """Polyak-average the target critics towards the critics."""
        with torch.no_grad():
            for critic, target in zip(self.critics, self.target_critics, strict=True):
                for parameter, target_parameter in zip(critic.parameters(), target.parameters(), strict=True):
                    target_parameter.lerp_(parameter, self.config.target_update_rate)

    # -- Lightning ----------------------------------------------------------------------------------

    def configure_optimizers(self) -> torch.optim.Optimizer:
        config = self.config
        return torch.optim.Adam(
            [
                {"params": [self.log_alpha], "lr": config.policy_learning_rate},
                {"params": list(self.policy.parameters()), "lr": config.policy_learning_rate},
                {"params": list(self.critics.parameters()), "lr": config.critic_learning_rate},
            ]
        )

    def train_dataloader(self) -> DataLoader:
        # The batches are drawn from the stream in `training_step`; the loader only counts steps.
        return DataLoader(_Steps(), batch_size=None)

    def on_train_start(self) -> None:
        # After any checkpoint restore (some strategies restore after `on_fit_start`).
        assert self.transitions is not None, "a learner trains on the transitions it was built with"
        self.transitions = self.transitions.map(lambda field: field.to(self.device))
        if self.stream is None:
            self.stream = torch.Generator().set_state(self.stream_state)
        if self.global_rank > 0:
            first = int(
                torch.randint(0, 2**62, (1,), generator=torch.Generator().set_state(self.stream.get_state()))
            )
            self.stream = torch.Generator().manual_seed(first + self.global_rank)

    def training_step(self, step: torch.Tensor, batch_index: int) -> torch.Tensor:
        assert self.stream is not None and self.transitions is not None
        count = len(self.transitions)
        indices = torch.randint(0, count, (self.config.batch_size,), generator=self.stream).to(self.device)
        batch = self.transitions.batch(indices)
        losses = self.losses(batch, self.stream)
        self.log_dict({f"train/{name}": value.detach() for name, value in losses.items()})
        return losses["loss"]

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        # Targets and policy copies are updated here, inside the step, so that a checkpoint saved at the
        # end of this batch (callbacks run before the module's batch-end hook) already holds them.
        super().optimizer_step(*args, **kwargs)
        self.update_targets()
        self.updates_done += 1
        done = int(self.updates_done)
        if done == self.updates or (self.checkpoint_every and done % self.checkpoint_every == 0):
            self.snapshots.append({k: v.detach().cpu().clone() for k, v in self.policy.state_dict().items()})

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["genmbo_sac"] = {
            "stream": self.stream_state_now(),
            "snapshots": list(self.snapshots),
            "fingerprint": self.fingerprint,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["genmbo_sac"]
        self.stream = torch.Generator().set_state(state["stream"])
        self.snapshots = list(state["snapshots"])

    def stream_state_now(self) -> torch.Tensor:
        return (self.stream.get_state() if self.stream is not None else self.stream_state).clone()

    def on_train_end(self) -> None:
        # Every process reads the result from one file, written by process 0: under ddp_spawn the
        # processes that trained are gone when the caller reads it.
        finished = int(self.updates_done) == self.updates
        if self.trainer.is_global_zero and self.output is not None and finished:
            write_result(self.output, self.fingerprint, self.snapshots, self.stream_state_now())
        self.trainer.strategy.barrier("genmbo_sac_policies")


class _Steps(IterableDataset):
    """Endless step numbers: the learner draws its own batches, so a loader only has to keep stepping."""

    def __iter__(self) -> Iterator[int]:
        step = 0
        while True:
            yield step
            step += 1


def _frozen(critic: nn.Module):
    """`critic` as a function of its current weights, detached: gradients reach the actions only."""
    weights = {name: parameter.detach() for name, parameter in critic.named_parameters()}
    return lambda states, actions: functional_call(critic, weights, (states, actions))


def fit_conservative_sac(
    transitions: Transitions,
    state_dim: int,
    action_dim: int,
    config: ConservativeSACConfig,
    updates: int,
    generator: torch.Generator,
    checkpoint_every: int | None = None,
    run_dir: Path | None = None,
) -> list[TanhGaussianPolicyNetwork]:
    """Train a learner for `updates` updates with Lightning and return copies of its policy network every
    `checkpoint_every` updates and after the last, in eval mode.

    The learner is trained in its own subfolder of `run_dir` (`training_dir`: checkpoints, logs, the
    resulting `policies.pt`), or of a temporary folder when None (one process only: under a launcher that
    runs every process separately the folders would differ). A rerun of the same training resumes from
    its `last.ckpt`, or reads the finished result, so runs that train the same policy under one `run_dir`
    train it once. `generator` is left as the training stream left it, as if the caller had drawn every
    batch and sample itself.
    """
    if run_dir is None:
        if several_processes():
            raise ValueError("training the step-size policy on several processes needs a shared run_dir")
        with tempfile.TemporaryDirectory(prefix="genmbo-policy-") as folder:
            return fit_conservative_sac(
                transitions, state_dim, action_dim, config, updates, generator, checkpoint_every, Path(folder)
            )
    learner = ConservativeSAC(
        state_dim, action_dim, generator, config, transitions, updates, checkpoint_every
    )
    run_dir = training_dir(run_dir, learner.fingerprint)
    result_path = learner.output = run_dir / POLICIES_FILE
    result = _matching_result(result_path, learner.fingerprint)
    if result is None:
        checkpoint = _own_checkpoint(run_dir / "last.ckpt", learner.fingerprint)
        if checkpoint is not None and int(checkpoint["state_dict"]["updates_done"]) == updates:
            # Killed after the last checkpoint, before the result was written: the checkpoint holds it.
            state = checkpoint["genmbo_sac"]
            write_result(result_path, learner.fingerprint, state["snapshots"], state["stream"])
        else:
            trainer = build_trainer(run_dir, max_steps=updates)
            trainer.fit(learner, ckpt_path=resume_path(run_dir))
        result = torch.load(result_path, map_location="cpu", weights_only=True)
    generator.set_state(result["stream"])
    policies = []
    for weights in result["snapshots"]:
        network = copy.deepcopy(learner.policy).cpu()
        network.load_state_dict(weights)
        policies.append(network.eval().requires_grad_(False))
    return policies


def training_dir(run_dir: Path, fingerprint: str) -> Path:
    """The folder of the training with `fingerprint` under `run_dir`, named by the fingerprint: trainings
    of other settings, data or seeds sit beside it instead of resuming or overwriting its files."""
    return run_dir / fingerprint[:16]


def training_fingerprint(
    config: ConservativeSACConfig,
    transitions: Transitions | None,
    updates: int,
    checkpoint_every: int | None,
    stream_state: torch.Tensor,
) -> str:
    """A hash of everything that determines a training's result."""
    digest = hashlib.sha256(repr((dataclasses.asdict(config), updates, checkpoint_every)).encode())
    digest.update(stream_state.numpy().tobytes())
    for field in transitions.__dict__.values() if transitions is not None else ():
        digest.update(field.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def write_result(
    path: Path, fingerprint: str, snapshots: list[dict[str, torch.Tensor]], stream: torch.Tensor
) -> None:
    """The finished training's policy copies and final stream state, written atomically."""
    result = {"fingerprint": fingerprint, "snapshots": snapshots, "stream": stream}
    write_atomic(path, lambda temporary: torch.save(result, temporary))


def _matching_result(path: Path, fingerprint: str) -> dict[str, Any] | None:
    # Written atomically, so a file that exists is whole; one of another training is moved aside.
    if not path.is_file():
        return None
    result = torch.load(path, map_location="cpu", weights_only=True)
    if result.get("fingerprint") == fingerprint:
        return result
    _move_aside(path)
    return None


def _own_checkpoint(last: Path, fingerprint: str) -> dict[str, Any] | None:
    """`last` read back if it is this training's (a damaged one or another training's is moved aside)."""
    if not usable_resume_checkpoint(last):
        return None
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)
    if checkpoint.get("genmbo_sac", {}).get("fingerprint") != fingerprint:
        _move_aside(last)
        return None
    return checkpoint


def _move_aside(path: Path) -> None:
    other = path.with_name(path.name + ".other")
    path.replace(other)
    print(f"genmbo: {path} belongs to another training; moved to {other.name}", file=sys.stderr)
