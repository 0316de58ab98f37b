"""The latent diffusion prior: denoiser shapes, training, checkpoints, samplers, classifier-free guidance."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from diffusers import DDPMScheduler
from pytorch_lightning.callbacks import ModelCheckpoint

from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.models.latent_diffusion import DEFAULT_NOISE_SCHEDULE, ClippedDPMSolver, LatentDiffusion
from genmbo.models.networks.denoiser import LatentDenoiser

# Two blobs far from the origin, so a model that only learned the mean and scale of the data misses both.
CENTERS = torch.tensor([[-6.0, 8.0], [6.0, 8.0]])
TINY = {"hidden_dim": 64, "num_blocks": 2, "embedding_dim": 32, "learning_rate": 3e-3}


def trainer(max_steps: int, **kwargs) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def blobs(count: int, seed: int = 0) -> torch.Tensor:
    """A `count x 2` sample of an even mixture of two Gaussians (std 0.5) around `CENTERS`."""
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(0, 2, (count,), generator=generator)
    return CENTERS[which] + 0.5 * torch.randn(count, 2, generator=generator)


def distance_to_data(points: torch.Tensor) -> torch.Tensor:
    """Distance of each of `n x 2` points to the nearest blob center."""
    return torch.cdist(points, CENTERS).min(dim=1).values


def train_on_blobs(conditional: bool, steps: int = 600, seed: int = 0) -> LatentDiffusion:
    pl.seed_everything(seed)
    latents = blobs(2048)
    # The score of a latent is its first coordinate, so high scores mean the right-hand blob.
    scores = latents[:, 0] if conditional else None
    model = LatentDiffusion(2, conditional=conditional, **TINY)
    data = LatentDataModule(latents, scores, batch_size=128, val_fraction=0.0)
    trainer(steps, enable_checkpointing=False).fit(model, datamodule=data)
    return model


@pytest.fixture(scope="module")
def unconditional_model() -> LatentDiffusion:
    return train_on_blobs(conditional=False)


@pytest.fixture(scope="module")
def conditional_model() -> LatentDiffusion:
    return train_on_blobs(conditional=True)


def test_denoiser_shapes_and_null_condition() -> None:
    torch.manual_seed(0)
    denoiser = LatentDenoiser(3, hidden_dim=16, num_blocks=1, embedding_dim=8, conditional=True)
    torch.nn.init.normal_(denoiser.output_layer.weight)
    latents, timesteps, scores = torch.randn(5, 3), torch.randint(0, 1000, (5,)), torch.randn(5)
    assert denoiser(latents, timesteps, scores).shape == (5, 3)
    assert denoiser(latents, torch.tensor(7)).shape == (5, 3)
    # Dropped rows use the null embedding, exactly as an unconditional call does.
    keep = torch.tensor([True, False, True, False, True])
    mixed = denoiser(latents, timesteps, scores, keep)
    torch.testing.assert_close(mixed[~keep], denoiser(latents, timesteps)[~keep])
    torch.testing.assert_close(mixed[keep], denoiser(latents, timesteps, scores)[keep])
    with pytest.raises(ValueError, match="without conditioning"):
        LatentDenoiser(3, 16, 1, 8)(latents, timesteps, scores)


def test_datamodule_split_and_batches() -> None:
    data = LatentDataModule(torch.randn(50, 3), torch.randn(50), batch_size=8, val_fraction=0.2, seed=3)
    assert len(data.train_indices) == 40 and len(data.val_indices) == 10
    assert set(data.train_indices.tolist()).isdisjoint(data.val_indices.tolist())
    latents, scores = next(iter(data.train_dataloader()))
    assert latents.shape == (8, 3) and scores.shape == (8,)
    torch.testing.assert_close(
        LatentDataModule(torch.randn(50, 3), val_fraction=0.2, seed=3).train_indices, data.train_indices
    )
    assert LatentDataModule(torch.randn(5, 3), val_fraction=0.0).val_dataloader() == []


def test_standardization_is_fitted_on_training_latents(unconditional_model: LatentDiffusion) -> None:
    train_latents = LatentDataModule(blobs(2048), val_fraction=0.0).train_latents
    torch.testing.assert_close(unconditional_model.latent_mean, train_latents.mean(0))
    torch.testing.assert_close(unconditional_model.latent_std, train_latents.std(0))
    heavy_tailed = torch.cat([torch.randn(999, 2), torch.tensor([[1000.0, 0.0]])])
    with pytest.warns(UserWarning, match="beyond 5.0 standard deviations"):
        LatentDiffusion(2, **TINY).fit_standardization(heavy_tailed)
    with pytest.raises(RuntimeError, match="fit_standardization"):
        model = LatentDiffusion(2, **TINY)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(blobs(64)), batch_size=32)
        trainer(1, enable_checkpointing=False).fit(model, train_dataloaders=loader)


def test_training_lowers_loss() -> None:
    pl.seed_everything(0)
    model = LatentDiffusion(2, **TINY)
    latents = blobs(512)
    model.fit_standardization(latents)
    before = model.diffusion_loss(latents).item()
    data = LatentDataModule(latents, batch_size=128, val_fraction=0.0)
    trainer(60, enable_checkpointing=False).fit(model, datamodule=data)
    torch.manual_seed(1)
    assert model.diffusion_loss(latents).item() < 0.8 * before


@pytest.mark.parametrize(("sampler", "num_steps"), [("ddpm", 50), ("ddim", 10), ("dpm", None)])
def test_sampling_is_deterministic_under_a_generator(
    unconditional_model: LatentDiffusion, sampler: str, num_steps: int
) -> None:
    def draw(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return unconditional_model.sample(16, generator, sampler=sampler, num_steps=num_steps)

    first = draw(0)
    assert first.shape == (16, 2) and torch.isfinite(first).all()
    torch.testing.assert_close(draw(0), first, rtol=0, atol=0)
    assert not torch.allclose(draw(1), first)


@pytest.mark.parametrize(("sampler", "num_steps"), [("ddpm", None), ("ddim", 20), ("dpm", None), ("dpm", 20)])
def test_samples_are_closer_to_the_data_than_noise(
    unconditional_model: LatentDiffusion, sampler: str, num_steps: int | None
) -> None:
    generator = torch.Generator().manual_seed(2)
    samples = unconditional_model.sample(400, generator, sampler=sampler, num_steps=num_steps)
    # The baseline is noise at the data's mean and scale: beating it needs the two modes to be learned.
    noise = unconditional_model.unstandardize(torch.randn(400, 2, generator=torch.Generator().manual_seed(3)))
    sample_distance, noise_distance = distance_to_data(samples), distance_to_data(noise)
    assert sample_distance.median() < 0.4 * noise_distance.median()
    assert (sample_distance < 1.5).float().mean() > 0.6 > (noise_distance < 1.5).float().mean() + 0.3


def test_classifier_free_guidance_moves_samples_toward_the_condition(
    conditional_model: LatentDiffusion,
) -> None:
    def first_coordinates(condition: float | None, weight: float = 0.0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(4)
        samples = conditional_model.sample(
            300, generator, sampler="ddim", num_steps=20, condition=condition, guidance_weight=weight
        )
        return samples[:, 0]

    # Without a condition (the null embedding) both blobs are still drawn.
    assert 0.15 < (first_coordinates(None) > 0).float().mean() < 0.85
    assert (first_coordinates(6.0, weight=2.0) > 0).float().mean() > 0.9
    assert (first_coordinates(-6.0, weight=2.0) < 0).float().mean() > 0.9
    with pytest.raises(ValueError, match="needs a condition"):
        conditional_model.sample(2, guidance_weight=1.0)


def test_guidance_is_called_every_step(unconditional_model: LatentDiffusion) -> None:
    calls = []

    def shift(noise: torch.Tensor, latents: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
        calls.append((latents.shape, int(timestep)))
        return noise - 0.5

    generator = torch.Generator().manual_seed(0)
    steered = unconditional_model.sample(8, generator, sampler="ddim", num_steps=10, guidance=shift)
    assert [timestep for _, timestep in calls] == list(range(999, 0, -100))
    assert all(shape == (8, 2) for shape, _ in calls)
    plain = unconditional_model.sample(8, torch.Generator().manual_seed(0), sampler="ddim", num_steps=10)
    assert not torch.allclose(steered, plain)
    with pytest.raises(ValueError, match="unconditional"):
        unconditional_model.sample(2, condition=1.0)


def test_checkpoint_rebuilds_model_and_schedule(tmp_path) -> None:
    pl.seed_everything(0)
    model = LatentDiffusion(2, conditional=True, **TINY)
    latents = blobs(128)
    fit = trainer(3, enable_checkpointing=False, default_root_dir=tmp_path)
    fit.fit(model, datamodule=LatentDataModule(latents, latents[:, 0], batch_size=32, val_fraction=0.0))
    path = tmp_path / "diffusion.ckpt"
    fit.save_checkpoint(path)
    loaded = LatentDiffusion.load_from_checkpoint(path)
    schedule = loaded.hparams.noise_schedule
    assert {key: schedule[key] for key in DEFAULT_NOISE_SCHEDULE} == DEFAULT_NOISE_SCHEDULE
    assert "beta_start" in schedule and not any(key.startswith("_") for key in schedule)
    torch.testing.assert_close(loaded.latent_std, model.latent_std, rtol=0, atol=0)
    torch.testing.assert_close(loaded.score_mean, model.score_mean, rtol=0, atol=0)
    for sampler in ("ddpm", "ddim"):
        settings = {"sampler": sampler, "num_steps": 20, "condition": 3.0, "guidance_weight": 1.0}
        expected = model.sample(8, torch.Generator().manual_seed(5), **settings)
        actual = loaded.sample(8, torch.Generator().manual_seed(5), **settings)
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def test_resume_continues_global_step_and_keeps_statistics(tmp_path) -> None:
    pl.seed_everything(0)
    model = LatentDiffusion(2, conditional=True, **TINY)
    latents = blobs(256)
    data = LatentDataModule(latents, latents[:, 0], batch_size=64, val_fraction=0.25)
    trainer(6, callbacks=[ModelCheckpoint(dirpath=tmp_path, save_last=True)]).fit(model, datamodule=data)
    # Resume against a shifted dataset: statistics must come from the checkpoint, not be fitted again.
    shifted = LatentDataModule(latents + 100.0, latents[:, 0], batch_size=64, val_fraction=0.25)
    resumed_model = LatentDiffusion(2, conditional=True, **TINY)
    resumed = trainer(10, callbacks=[ModelCheckpoint(dirpath=tmp_path, save_last=True)])
    resumed.fit(resumed_model, datamodule=shifted, ckpt_path=tmp_path / "last.ckpt")
    assert resumed.global_step == 10
    torch.testing.assert_close(resumed_model.latent_mean, model.latent_mean, rtol=0, atol=0)
    torch.testing.assert_close(resumed_model.score_std, model.score_std, rtol=0, atol=0)


def test_unlabeled_rows_train_the_null_condition() -> None:
    """A NaN score (an unlabeled design) always takes the null embedding: the loss equals the one where
    every condition is dropped, and score statistics ignore it."""
    latents = blobs(64)
    model = LatentDiffusion(2, conditional=True, **TINY)
    scores = latents[:, 0].clone()
    scores[::2] = float("nan")
    model.fit_standardization(latents, scores)
    assert float(model.score_mean) == pytest.approx(float(scores[1::2].mean()), abs=1e-6)
    torch.manual_seed(0)
    unlabeled = model.diffusion_loss(latents, torch.full((64,), float("nan")))
    model.hparams.condition_dropout = 1.0  # every condition dropped, the same random draws
    torch.manual_seed(0)
    dropped = model.diffusion_loss(latents, latents[:, 0])
    unlabeled, dropped = unlabeled.detach(), dropped.detach()
    assert torch.isfinite(unlabeled) and float(unlabeled) == pytest.approx(float(dropped), rel=1e-6)


def test_dpm_solver_clips_its_predicted_latents_like_ddim() -> None:
    # From z_T = 0, the first (first-order) DPM-Solver++ update moves to a fraction of the predicted z_0,
    # which a noise prediction of +-100 at t = 999 puts near +-15,700 unless it is clipped to +-5.
    config = DDPMScheduler(**DEFAULT_NOISE_SCHEDULE).config
    noise = torch.tensor([[100.0, -100.0], [0.0, 0.0]])

    def first_step(clip: bool) -> torch.Tensor:
        scheduler = ClippedDPMSolver.from_config({**config, "clip_sample": clip})
        scheduler.set_timesteps(10)
        return scheduler.step(noise, scheduler.timesteps[0], torch.zeros(2, 2)).prev_sample

    clipped, free = first_step(True), first_step(False)
    assert clipped.abs().max() <= 5.0 and free.abs().max() > 100.0
    # Clipping is the only difference: the same update of a predicted z_0 of +-5 instead of +-15,700.
    torch.testing.assert_close(clipped[0] / clipped[0].abs().max(), free[0] / free[0].abs().max())
    assert clipped[1].abs().max() == 0.0


class RecordDenoiser(pl.Callback):
    """The denoiser's parameters after every training step."""

    def __init__(self):
        self.iterates: list[list[torch.Tensor]] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index) -> None:
        self.iterates.append([p.detach().clone() for p in module.denoiser.parameters()])


def test_ema_training_ends_with_the_moving_average_of_the_iterates() -> None:
    pl.seed_everything(0)
    model = LatentDiffusion(2, ema_decay=0.8, **TINY)
    record = RecordDenoiser()
    data = LatentDataModule(blobs(256), batch_size=32, val_fraction=0.0)
    trainer(6, enable_checkpointing=False, callbacks=[record]).fit(model, datamodule=data)
    average = record.iterates[0]
    for iterate in record.iterates[1:]:
        average = [0.8 * a + 0.2 * w for a, w in zip(average, iterate, strict=True)]
    final = list(model.denoiser.parameters())
    for expected, actual in zip(average, final, strict=True):
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6)
    # Not the last iterate, and the standardization fitted at the start is kept.
    assert not torch.equal(final[0], record.iterates[-1][0])
    assert bool(model.standardization_fitted) and model.latent_mean.abs().sum() > 1.0


def test_ema_decay_must_be_below_one() -> None:
    with pytest.raises(ValueError, match="ema_decay"):
        LatentDiffusion(2, ema_decay=1.0)
