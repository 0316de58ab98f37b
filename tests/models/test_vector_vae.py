"""The vector VAE and the identity autoencoder: shapes, training, checkpoints, LatentAutoencoder."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.models.autoencoder import LatentAutoencoder
from genmbo.models.identity_autoencoder import IdentityAutoencoder
from genmbo.models.vector_vae import VectorVAE
from genmbo.spaces import ContinuousSpace, MoleculeSpace


def trainer(max_steps: int, **kwargs) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def toy_designs(count: int = 1024, seed: int = 0) -> list[tuple[float, ...]]:
    """Points near a 1-D curve in 4-D, at a scale far from unit, inside the box [-100, 100]."""
    generator = torch.Generator().manual_seed(seed)
    position = torch.rand(count, 1, generator=generator) * 6 - 3
    vectors = torch.cat([position, position.sin(), position.cos(), 0.5 * position], dim=1) * 20 + 5
    vectors += 0.1 * torch.randn(vectors.shape, generator=generator)
    return [tuple(row) for row in vectors.tolist()]


@pytest.fixture
def space() -> ContinuousSpace:
    return ContinuousSpace(4, lower=-100.0, upper=100.0).fit(toy_designs())


def tiny_vae(space: ContinuousSpace, **kwargs) -> VectorVAE:
    settings = {"latent_dim": 2, "hidden_dims": (32, 32), "kl_warmup_steps": 20, "learning_rate": 3e-3}
    return VectorVAE(space, **{**settings, **kwargs})


def datamodule(space: ContinuousSpace) -> LatentDataModule:
    return LatentDataModule(space.encode(toy_designs()), batch_size=64, val_fraction=0.25)


def test_shapes_and_latent_autoencoder_contract(space: ContinuousSpace) -> None:
    torch.manual_seed(0)
    vae = tiny_vae(space)
    assert isinstance(vae, LatentAutoencoder)
    designs = toy_designs(5)
    latents = vae.encode_designs(designs)
    assert latents.shape == (5, 2)
    mean, log_variance = vae.encode(space.encode(designs))
    assert mean.shape == log_variance.shape == (5, 2)
    assert vae.decode(latents).shape == (5, 4)
    decoded = vae.decode_latents(torch.randn(7, 2) * 50)
    assert len(decoded) == 7 and all(len(design) == 4 for design in decoded)
    # Decoding clips to the space's box, so even far-away latents give designs inside it.
    assert all(-100.0 <= value <= 100.0 for design in decoded for value in design)


def test_kl_warmup_and_free_bits(space: ContinuousSpace) -> None:
    vae = tiny_vae(space, beta=0.5, kl_warmup_steps=10, free_bits=0.25)
    assert vae.kl_weight() == pytest.approx(0.05)
    terms = vae.loss_terms(space.encode(toy_designs(16)))
    # Free bits: each of the 2 latent dimensions is charged at least 0.25 nats.
    assert terms["penalized_kl"] >= 0.5 - 1e-6
    assert terms["penalized_kl"] >= terms["kl"] - 1e-6
    assert tiny_vae(space, kl_warmup_steps=0, beta=0.5).kl_weight() == 0.5


def test_training_lowers_reconstruction_error(space: ContinuousSpace) -> None:
    pl.seed_everything(0)
    vae = tiny_vae(space)
    data = datamodule(space)
    validation = data.latents[data.val_indices]
    before = (vae(validation) - validation).square().mean().item()
    trainer(100, enable_checkpointing=False).fit(vae, datamodule=data)
    after = (vae(validation) - validation).square().mean().item()
    assert after < 0.5 * before
    # The latent is in use (no posterior collapse): decoding posterior means beats predicting the mean,
    # whose error on standardized data is about 1.
    assert after < 0.5


def test_checkpoint_rebuilds_model_and_space(space: ContinuousSpace, tmp_path) -> None:
    pl.seed_everything(0)
    vae = tiny_vae(space)
    fit = trainer(5, enable_checkpointing=False, default_root_dir=tmp_path)
    fit.fit(vae, datamodule=datamodule(space))
    path = tmp_path / "vae.ckpt"
    fit.save_checkpoint(path)
    loaded = VectorVAE.load_from_checkpoint(path)
    assert loaded.space.to_dict() == space.to_dict()
    assert loaded.hparams.latent_dim == 2
    designs = toy_designs(6, seed=1)
    torch.testing.assert_close(loaded.encode_designs(designs), vae.encode_designs(designs), rtol=0, atol=0)
    latents = torch.randn(6, 2)
    assert loaded.decode_latents(latents) == vae.decode_latents(latents)


def test_resume_continues_global_step(space: ContinuousSpace, tmp_path) -> None:
    pl.seed_everything(0)
    checkpoints = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer(6, callbacks=[checkpoints], default_root_dir=tmp_path).fit(
        tiny_vae(space), datamodule=datamodule(space)
    )
    resumed = trainer(
        10,
        callbacks=[ModelCheckpoint(dirpath=tmp_path, save_last=True)],
        default_root_dir=tmp_path,
    )
    vae = tiny_vae(space)
    resumed.fit(vae, datamodule=datamodule(space), ckpt_path=tmp_path / "last.ckpt")
    assert resumed.global_step == 10
    # The KL warm-up (20 steps) continues from the restored step instead of restarting.
    assert vae.kl_weight() == pytest.approx(11 / 20)


def test_vector_vae_rejects_token_spaces() -> None:
    with pytest.raises(TypeError, match="ContinuousSpace"):
        VectorVAE(MoleculeSpace(["[C]"], 4))


def test_identity_autoencoder_round_trip(space: ContinuousSpace) -> None:
    identity = IdentityAutoencoder(space.to_dict())
    assert isinstance(identity, LatentAutoencoder)
    assert identity.latent_dim == 4
    designs = toy_designs(5)
    latents = identity.encode_designs(designs)
    torch.testing.assert_close(latents, space.encode(designs))
    for decoded, original in zip(identity.decode_latents(latents), designs, strict=True):
        assert decoded == pytest.approx(original, rel=1e-5, abs=1e-4)
    rebuilt = IdentityAutoencoder.from_dict(identity.to_dict())
    torch.testing.assert_close(rebuilt.encode_designs(designs), latents)
