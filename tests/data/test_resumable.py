"""The resumable batch sampler: an order per epoch from the seed alone, and exact mid-epoch resumption."""

import torch

from genmbo.data.resumable import EpochBatchSampler


def take(sampler, epochs):
    return [list(sampler) for _ in range(epochs)]


def test_each_epoch_is_a_fresh_permutation_fixed_by_the_seed():
    first = take(EpochBatchSampler(10, 4, seed=3), 3)
    assert first == take(EpochBatchSampler(10, 4, seed=3), 3)
    assert first[0] != first[1]
    for epoch in first:
        assert sorted(index for batch in epoch for index in batch) == list(range(10))
        assert [len(batch) for batch in epoch] == [4, 4, 2]
    assert take(EpochBatchSampler(10, 4, seed=4), 1) != first[:1]


def test_restoring_mid_epoch_continues_with_the_same_batches():
    uninterrupted = EpochBatchSampler(20, 3, seed=0)
    expected = [batch for epoch in take(uninterrupted, 3) for batch in epoch]
    interrupted = EpochBatchSampler(20, 3, seed=0)
    seen = list(interrupted)  # epoch 0
    iterator = iter(interrupted)  # epoch 1, stopped after two batches as a killed run would
    seen += [next(iterator), next(iterator)]
    state = interrupted.state_dict()
    resumed = EpochBatchSampler(20, 3, seed=0)
    resumed.load_state_dict(state)
    seen += list(resumed) + list(resumed)
    assert seen == expected


def test_state_at_an_epoch_end_points_to_the_next_epoch():
    sampler = EpochBatchSampler(6, 3, seed=1)
    list(sampler)  # epoch 0, fully served
    assert sampler.state_dict() == {"epoch": 1, "served": 0}
    resumed = EpochBatchSampler(6, 3, seed=1)
    resumed.load_state_dict(sampler.state_dict())
    assert list(resumed) == list(sampler)  # both serve epoch 1 next


def test_weighted_draws_follow_the_weights():
    weights = torch.tensor([0.0, 0.0, 1.0, 3.0])
    sampler = EpochBatchSampler(4, 100, seed=0, weights=weights, samples_per_epoch=4000)
    draws = torch.tensor([index for batch in sampler for index in batch])
    assert set(draws.tolist()) == {2, 3}
    assert abs((draws == 3).float().mean().item() - 0.75) < 0.03


def test_processes_get_disjoint_batches_and_the_same_number_of_steps(monkeypatch):
    from genmbo.data import resumable

    per_rank = []
    for rank in range(3):
        monkeypatch.setattr(resumable, "_rank_and_world_size", lambda rank=rank: (rank, 3))
        sampler = EpochBatchSampler(23, 4, seed=0)  # 6 batches: 5 full and 1 of 3 rows
        per_rank.append(list(sampler))
        assert len(sampler) == len(per_rank[-1])
    assert [len(batches) for batches in per_rank] == [2, 2, 2]  # equal steps, or DDP would hang
    rows = [index for batches in per_rank for batch in batches for index in batch]
    assert len(rows) == len(set(rows))
    monkeypatch.setattr(resumable, "_rank_and_world_size", lambda: (1, 3))
    assert len(EpochBatchSampler(5, 4, seed=0)) == 1  # 2 batches for 3 processes: repeated to fill a round
