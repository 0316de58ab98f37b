"""The realism critic: it learns a known labelling of latents, a prior's samples chosen by it lie where it
was taught, and it travels with the prior it belongs to."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.errors import GenmboError
from genmbo.models.checkpoints import load_module, save_weights
from genmbo.models.identity_autoencoder import IdentityAutoencoder
from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.prior import Prior, load_prior
from genmbo.models.realism_critic import RealismCritic, fit_realism_critic, realism_labels
from genmbo.spaces import ContinuousSpace

# Two blobs; the critic is taught that only the right-hand one is realistic.
CENTERS = torch.tensor([[-3.0, 4.0], [3.0, 4.0]])


def blobs(count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(0, 2, (count,), generator=generator)
    return CENTERS[which] + 0.5 * torch.randn(count, 2, generator=generator)


def right_hand(latents: torch.Tensor) -> torch.Tensor:
    return (latents[:, 0] > 0).float()


@pytest.fixture(scope="module")
def blob_diffusion() -> LatentDiffusion:
    pl.seed_everything(0)
    model = LatentDiffusion(2, hidden_dim=64, num_blocks=2, embedding_dim=32, learning_rate=3e-3)
    data = LatentDataModule(blobs(2048, seed=0), batch_size=128, val_fraction=0.0)
    pl.Trainer(
        accelerator="cpu",
        max_steps=600,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    ).fit(model, datamodule=data)
    return model.eval()


@pytest.fixture(scope="module")
def blob_critic(blob_diffusion, tmp_path_factory) -> RealismCritic:
    # Trained, as the shipped critic is, on the prior's own samples labelled by what they are.
    latents = blob_diffusion.sample(2000, torch.Generator().manual_seed(1), sampler="ddim")
    critic, auroc = fit_realism_critic(
        latents, right_hand(latents), tmp_path_factory.mktemp("critic"), max_steps=300, hidden_dims=(32, 32)
    )
    assert auroc > 0.99  # the held-out draws' labels follow from one coordinate
    return critic


def test_the_critic_learns_a_known_labelling_and_reloads_identically(blob_critic, tmp_path):
    fresh = blobs(1000, seed=5)
    logits = blob_critic(fresh)
    assert ((logits > 0).float() == right_hand(fresh)).float().mean() >= 0.97
    save_weights(blob_critic, tmp_path / "critic.ckpt")
    reloaded = load_module(RealismCritic, tmp_path / "critic.ckpt", "realism critic")
    assert torch.equal(reloaded(fresh), logits)


def test_labels_count_an_undecodable_design_as_unrealistic_and_must_be_binary(tmp_path):
    labels = realism_labels(["CCO", None, "c1ccccc1", "C1CCCCCCCC1"], lambda smiles: len(smiles) < 9)
    assert labels.tolist() == [1.0, 0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="0 or 1"):
        fit_realism_critic(torch.zeros(4, 2), torch.tensor([0.0, 1.0, 0.5, 1.0]), tmp_path)
    with pytest.raises(ValueError, match="labels n"):
        fit_realism_critic(torch.zeros(4, 2), torch.ones(3), tmp_path)


def test_samples_chosen_by_the_critic_lie_in_the_realistic_blob(blob_diffusion, blob_critic):
    space = ContinuousSpace(2, -10.0, 10.0)
    prior = Prior(IdentityAutoencoder(space), blob_diffusion, blob_critic)

    def right_share(pool: int) -> float:
        designs = prior.sample_designs(500, torch.Generator().manual_seed(3), realism_pool=pool)
        return float(right_hand(torch.tensor(designs)).mean())

    # Two of every three samples discarded: the kept third is the right-hand blob (about 0.4 of them).
    assert 0.3 < right_share(1) < 0.65
    assert right_share(3) > 0.97


def test_the_most_realistic_are_the_top_logits_in_draw_order(blob_critic):
    latents = blobs(50, seed=7)
    kept = blob_critic.most_realistic(latents, 10)
    logits = blob_critic(latents)
    assert kept.tolist() == sorted(kept.tolist())
    assert logits[kept].min() >= logits[[i for i in range(50) if i not in kept.tolist()]].max()


def test_a_prior_saves_and_loads_its_critic_and_sampling_needs_one(blob_diffusion, blob_critic, tmp_path):
    space = ContinuousSpace(2, -10.0, 10.0)
    prior = Prior(IdentityAutoencoder(space), blob_diffusion, blob_critic)
    save_weights(blob_diffusion, tmp_path / "diffusion.ckpt")
    prior.save(tmp_path)
    reloaded = load_prior(tmp_path)
    assert reloaded.critic is not None

    def draw(of: Prior, pool: int = 2) -> list:
        return of.sample_designs(64, torch.Generator().manual_seed(4), realism_pool=pool)

    assert draw(reloaded) == draw(prior)
    assert draw(prior) != draw(prior, pool=1)

    without = Prior(IdentityAutoencoder(space), blob_diffusion)
    with pytest.raises(GenmboError, match="realism critic"):
        draw(without)
    assert draw(without, pool=1) == draw(prior, pool=1)  # the critic changes nothing unless asked
    with pytest.raises(ValueError, match="pool must be"):
        draw(prior, pool=0)
