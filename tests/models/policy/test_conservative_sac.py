"""The CQL-SAC learner under Lightning: the reference's update, training, targets, snapshots, resume."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from genmbo.models.policy.conservative_sac import (
    POLICIES_FILE,
    ConservativeSAC,
    fit_conservative_sac,
    training_dir,
)
from genmbo.models.policy.pgs_policy import ConservativeSACConfig, Transitions
from genmbo.models.training import build_trainer, checkpointing_every, distributed_training

TINY = ConservativeSACConfig(hidden_dims=(16, 16), batch_size=32)


def toy_transitions(count: int = 256, dim: int = 3, seed: int = 0) -> Transitions:
    """Reward = first action coordinate: a critic can fit it, so training should lower its loss."""
    generator = torch.Generator().manual_seed(seed)
    states = torch.randn(count, dim, generator=generator)
    actions = torch.rand(count, dim, generator=generator) * 1.8 - 0.9
    dones = torch.zeros(count)
    dones[9::10] = 1.0
    return Transitions(states, actions, actions[:, 0].clone(), torch.roll(states, -1, 0), dones)


def reference_fit(transitions: Transitions, updates: int, generator: torch.Generator) -> ConservativeSAC:
    """The PGS reference's order: per batch, temperature, actor and critics each step their own Adam
    after their own backward pass; then the targets move."""
    learner = ConservativeSAC(3, 3, generator, TINY)
    optimizers = [
        torch.optim.Adam([learner.log_alpha], TINY.policy_learning_rate),
        torch.optim.Adam(learner.policy.parameters(), TINY.policy_learning_rate),
        torch.optim.Adam(learner.critics.parameters(), TINY.critic_learning_rate),
    ]
    for _ in range(updates):
        batch = transitions.batch(torch.randint(0, len(transitions), (TINY.batch_size,), generator=generator))
        actions, log_pi = learner.policy(batch.states, generator=generator)
        alpha_loss = -(learner.log_alpha * (log_pi + learner.target_entropy).detach()).mean()
        alpha = learner.log_alpha.exp().detach()
        q_new = torch.min(*(critic(batch.states, actions) for critic in learner.critics))
        policy_loss = (alpha * log_pi - q_new).mean()  # its backward also reaches the critics...
        critic_loss = learner.critic_losses(batch, generator)["critic_loss"]
        for optimizer, loss in zip(optimizers, (alpha_loss, policy_loss, critic_loss), strict=True):
            optimizer.zero_grad()  # ...and this clears that before the critics' own backward
            loss.backward()
            optimizer.step()
        learner.update_targets()
    return learner


def test_one_backward_on_the_summed_losses_is_the_reference_update(tmp_path) -> None:
    transitions = toy_transitions()
    reference_generator = torch.Generator().manual_seed(4)
    reference = reference_fit(transitions, 12, reference_generator)
    generator = torch.Generator().manual_seed(4)
    (policy,) = fit_conservative_sac(transitions, 3, 3, TINY, 12, generator, run_dir=tmp_path)
    for name, value in reference.policy.state_dict().items():
        torch.testing.assert_close(policy.state_dict()[name], value, rtol=1e-6, atol=1e-7)
    # The caller's generator ends where the reference's, which drew every batch and sample, ended.
    assert torch.equal(generator.get_state(), reference_generator.get_state())


def test_training_lowers_the_critic_loss_and_logs_it(tmp_path) -> None:
    """The critic loss under a fixed policy falls. (The logged loss need not: its CQL term is importance-
    weighted by the policy's own density, which the entropy bonus flattens as training goes on.)"""
    transitions = toy_transitions()
    learner = ConservativeSAC(3, 3, torch.Generator().manual_seed(0), TINY, transitions, updates=200)
    batch = transitions.batch(torch.arange(len(transitions)))
    initial_policy = copy.deepcopy(learner.policy)
    before = learner.critic_losses(batch, torch.Generator().manual_seed(2))
    build_trainer(tmp_path, max_steps=200).fit(learner)
    learner.policy = initial_policy
    after = learner.critic_losses(batch, torch.Generator().manual_seed(2))
    assert after["critic_loss"] < before["critic_loss"]
    assert after["td_loss_1"] < before["td_loss_1"] and after["td_loss_2"] < before["td_loss_2"]
    logged = pd.read_csv(tmp_path / "logs" / "metrics.csv")["train/critic_loss"].dropna()
    assert len(logged) >= 10 and np.isfinite(logged.to_numpy()).all()


def test_targets_follow_the_critics_by_polyak_averaging(tmp_path) -> None:
    learner = ConservativeSAC(3, 3, torch.Generator().manual_seed(0), TINY, toy_transitions(), updates=1)
    before = [p.clone() for p in learner.target_critics.parameters()]
    for critic, target in zip(learner.critics, learner.target_critics, strict=True):
        for parameter, target_parameter in zip(critic.parameters(), target.parameters(), strict=True):
            torch.testing.assert_close(parameter, target_parameter)
    build_trainer(tmp_path, max_steps=1).fit(learner)
    rate = TINY.target_update_rate
    for old, new, critic in zip(
        before, learner.target_critics.parameters(), learner.critics.parameters(), strict=True
    ):
        assert not torch.equal(critic, old)  # the critics stepped
        torch.testing.assert_close(new, (1 - rate) * old + rate * critic.detach(), rtol=1e-5, atol=1e-6)


def test_snapshots_determinism_and_reuse_of_a_finished_run(tmp_path) -> None:
    def run(folder):
        generator = torch.Generator().manual_seed(3)
        policies = fit_conservative_sac(toy_transitions(), 3, 3, TINY, 20, generator, 10, folder)
        return policies, generator.get_state()

    (first, first_state), (second, second_state) = run(tmp_path / "a"), run(tmp_path / "b")
    assert len(first) == 2 and torch.equal(first_state, second_state)
    states = torch.randn(4, 3)
    for one, other in zip(first, second, strict=True):
        torch.testing.assert_close(one.mode(states), other.mode(states))
    assert not torch.equal(first[0].mode(states), first[1].mode(states))  # two different checkpoints
    # A rerun into a finished folder reads the result instead of training again.
    (last,) = (tmp_path / "a").glob("*/last.ckpt")  # the training's own subfolder
    last.unlink()
    again, again_state = run(tmp_path / "a")
    torch.testing.assert_close(again[1].mode(states), first[1].mode(states))
    assert torch.equal(again_state, first_state)


def test_resume_after_an_interruption_ends_like_an_uninterrupted_run(tmp_path) -> None:
    transitions = toy_transitions()
    uninterrupted_generator = torch.Generator().manual_seed(5)
    uninterrupted = fit_conservative_sac(
        transitions, 3, 3, TINY, 20, uninterrupted_generator, 10, tmp_path / "whole"
    )
    parent = tmp_path / "interrupted"
    # The first attempt stops after 12 of 20 updates, with a checkpoint every 5.
    learner = ConservativeSAC(3, 3, torch.Generator().manual_seed(5), TINY, transitions, 20, 10)
    folder = training_dir(parent, learner.fingerprint)
    learner.output = folder / POLICIES_FILE
    with checkpointing_every(5):
        build_trainer(folder, max_steps=12).fit(learner)
    assert (folder / "last.ckpt").is_file() and not (folder / POLICIES_FILE).exists()
    generator = torch.Generator().manual_seed(5)
    resumed = fit_conservative_sac(transitions, 3, 3, TINY, 20, generator, 10, parent)
    assert len(resumed) == 2
    # It resumed (a fresh start would also end like the uninterrupted run): only steps after 10 logged.
    steps = pd.read_csv(folder / "logs" / "resumed-1" / "metrics.csv")["step"]
    assert steps.min() >= 10 and steps.max() == 19
    for one, other in zip(resumed, uninterrupted, strict=True):
        for name, value in other.state_dict().items():
            torch.testing.assert_close(one.state_dict()[name], value, rtol=0, atol=0)
    assert torch.equal(generator.get_state(), uninterrupted_generator.get_state())


def test_trainings_share_a_parent_folder_and_a_lost_result_is_rebuilt(tmp_path, capsys):
    transitions = toy_transitions()

    def run(folder, updates):
        generator = torch.Generator().manual_seed(6)
        return fit_conservative_sac(transitions, 3, 3, TINY, updates, generator, 10, folder), generator

    def own_folder(parent, updates):
        learner = ConservativeSAC(3, 3, torch.Generator().manual_seed(6), TINY, transitions, updates, 10)
        return training_dir(parent, learner.fingerprint)

    states = torch.randn(4, 3)
    (reference, _) = run(tmp_path / "fresh", 10)
    shared = tmp_path / "shared"
    with checkpointing_every(10):
        twenty, twenty_generator = run(shared, 20)
    # Another training (10 updates) under the same folder trains in its own subfolder, beside the first.
    ten, _ = run(shared, 10)
    assert len(ten) == 1 and len(twenty) == 2
    torch.testing.assert_close(ten[0].mode(states), reference[0].mode(states), rtol=0, atol=0)
    assert (own_folder(shared, 20) / POLICIES_FILE).is_file() and (
        own_folder(shared, 10) / POLICIES_FILE
    ).is_file()
    # The same training again reads its result: no training runs.
    again, again_generator = run(shared, 20)
    assert not (own_folder(shared, 20) / "logs" / "resumed-1").exists()
    torch.testing.assert_close(again[1].mode(states), twenty[1].mode(states), rtol=0, atol=0)
    assert torch.equal(again_generator.get_state(), twenty_generator.get_state())

    # A result file of another training found in a training's folder is moved aside, never read.
    shutil.copy(own_folder(shared, 20) / POLICIES_FILE, own_folder(shared, 10) / POLICIES_FILE)
    ten_again, _ = run(shared, 10)
    torch.testing.assert_close(ten_again[0].mode(states), reference[0].mode(states), rtol=0, atol=0)
    assert (own_folder(shared, 10) / f"{POLICIES_FILE}.other").is_file()
    assert "belongs to another training" in capsys.readouterr().err

    # Killed after the last checkpoint but before the result file: the checkpoint provides it.
    with checkpointing_every(10):
        run(tmp_path / "killed", 20)
    killed = own_folder(tmp_path / "killed", 20)
    (killed / POLICIES_FILE).unlink()
    rebuilt, rebuilt_generator = run(tmp_path / "killed", 20)
    assert not (killed / "logs" / "resumed-1").exists()  # no training ran
    for one, other in zip(rebuilt, twenty, strict=True):
        torch.testing.assert_close(one.mode(states), other.mode(states), rtol=0, atol=0)
    assert torch.equal(rebuilt_generator.get_state(), twenty_generator.get_state())


def test_several_processes_need_a_shared_folder() -> None:
    with distributed_training("ddp", devices=2), pytest.raises(ValueError, match="shared run_dir"):
        fit_conservative_sac(toy_transitions(), 3, 3, TINY, 5, torch.Generator().manual_seed(0))
