"""Two processes on CPU (Lightning's DDP with gloo): a tiny prior trains, a pool is sampled in shards, and
the pool and its metrics equal a single process's; the PGS policy learner trains on two processes."""

import pandas as pd
import pytest
import torch
from torchmetrics import MetricCollection

from genmbo.data.weighted_latent_datamodule import WeightedLatentDataModule
from genmbo.metrics.library import MeanPairwiseDistance
from genmbo.metrics.samples import Uniqueness
from genmbo.models.identity_autoencoder import IdentityAutoencoder
from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.policy.conservative_sac import fit_conservative_sac
from genmbo.models.policy.pgs_policy import ConservativeSACConfig, Transitions
from genmbo.models.surrogates.ensemble import EnsembleSurrogate
from genmbo.models.training import build_trainer, distributed_training
from genmbo.search.guidance import SurrogateGuidance
from genmbo.search.objectives import PessimisticObjective
from genmbo.search.sharded_sampling import ShardedSampler, sample_pool
from genmbo.spaces import ContinuousSpace

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")


def two_moons(count=512, seed=0):
    generator = torch.Generator().manual_seed(seed)
    angles = torch.rand(count, generator=generator) * torch.pi
    upper = torch.rand(count, generator=generator) < 0.5
    points = torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    points = torch.where(upper[:, None], points, torch.stack([1 - points[:, 0], 0.5 - points[:, 1]], 1))
    return points + 0.05 * torch.randn(count, 2, generator=generator)


def sampler_for(diffusion, autoencoder, output):
    metrics = MetricCollection(
        {"uniqueness": Uniqueness(autoencoder.space), "diversity": MeanPairwiseDistance("euclidean")}
    )

    return ShardedSampler(
        diffusion,
        num_shards=5,  # not a multiple of 2: one padded shard is drawn and dropped
        shard_size=16,
        seed=3,
        output=output,
        decode=autoencoder.decode_latents,
        metrics=DesignMetrics(metrics),
        num_steps=10,
    )


class DesignMetrics(MetricCollection):
    """Uniqueness takes designs, the distance takes coordinates: feed each what it needs."""

    def update(self, designs):  # noqa: D102
        self["uniqueness"].update(designs)
        self["diversity"].update(torch.tensor(designs, dtype=torch.float64))


def test_ddp_training_and_sharded_sampling_match_one_process(tmp_path, monkeypatch):
    # Spawned processes read this at start-up: one intra-op thread each, as on a busy 2-core machine.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    latents = two_moons()
    diffusion = LatentDiffusion(2, hidden_dim=32, num_blocks=1, conditional=False, learning_rate=3e-3)
    data = WeightedLatentDataModule(latents, batch_size=64, val_fraction=0.0, seed=0)
    with distributed_training("ddp_spawn", devices=2):
        trainer = build_trainer(tmp_path / "train", max_steps=150)
        assert trainer.world_size == 2
        trainer.fit(diffusion, datamodule=data)
    losses = pd.read_csv(tmp_path / "train" / "logs" / "metrics.csv")["train/loss"].dropna().to_numpy()
    assert losses[-5:].mean() < 0.7 * losses[:5].mean()  # it trained (on two processes)

    autoencoder = IdentityAutoencoder(ContinuousSpace(2))
    with distributed_training("ddp_spawn", devices=2):
        pool, metrics = sample_pool(
            sampler_for(diffusion, autoencoder, tmp_path / "pool2.pt"), tmp_path / "s2"
        )
    single, single_metrics = sample_pool(
        sampler_for(diffusion, autoencoder, tmp_path / "pool1.pt"), tmp_path / "s1"
    )
    assert pool.shape == (5 * 16, 2)
    assert torch.unique(pool, dim=0).shape[0] == pool.shape[0]  # no duplicates across shards
    torch.testing.assert_close(pool, single)
    assert set(metrics) == {"uniqueness", "diversity"}
    for name, value in single_metrics.items():
        torch.testing.assert_close(metrics[name], value)

    # Guided by a surrogate (gradients inside Trainer.predict), sharded the same way.
    surrogate = EnsembleSurrogate(2, members=2, hidden_dims=[8]).eval()
    guidance = SurrogateGuidance(diffusion, PessimisticObjective(surrogate, kappa=1.0), scale=1.0)
    guided = {}
    for devices in (2, 1):
        sampler = sampler_for(diffusion, autoencoder, tmp_path / f"guided{devices}.pt")
        sampler.guidance = guidance
        with distributed_training("ddp_spawn" if devices == 2 else "auto", devices=devices):
            guided[devices], _ = sample_pool(sampler, tmp_path / f"g{devices}")
    torch.testing.assert_close(guided[2], guided[1])
    assert not torch.allclose(guided[1], single)  # the guidance moved the samples


def test_ddp_trains_the_step_size_policy(tmp_path, monkeypatch):
    """PGS's CQL-SAC learner under DDP: rank 0 draws the single-process stream, the other process's
    gradients are averaged in, and the critics' TD loss falls."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(256, 3, generator=generator)
    actions = torch.rand(256, 3, generator=generator) * 1.8 - 0.9
    dones = (torch.arange(256) % 10 == 9).float()
    transitions = Transitions(states, actions, actions[:, 0].clone(), torch.roll(states, -1, 0), dones)
    # No discount and no CQL term: the critics regress the reward, so their loss must fall fast.
    config = ConservativeSACConfig(
        hidden_dims=(16, 16), batch_size=32, discount=0.0, cql_min_q_weight=0.0, critic_learning_rate=3e-3
    )
    results = {}
    for devices in (1, 2):
        stream = torch.Generator().manual_seed(7)
        with distributed_training("ddp_spawn" if devices == 2 else "auto", devices=devices):
            folder = tmp_path / f"d{devices}"
            policies = fit_conservative_sac(transitions, 3, 3, config, 100, stream, 50, folder)
        results[devices] = policies, stream.get_state()
    (single, single_stream), (double, double_stream) = results[1], results[2]
    assert len(double) == 2
    assert torch.equal(double_stream, single_stream)
    probe = torch.randn(8, 3)
    assert not torch.allclose(double[-1].mode(probe), single[-1].mode(probe))
    (log,) = (tmp_path / "d2").glob("*/logs/metrics.csv")  # in the training's own subfolder
    td_loss = pd.read_csv(log)["train/td_loss_1"].dropna().to_numpy()
    assert td_loss[-5:].mean() < 0.5 * td_loss[:5].mean()
