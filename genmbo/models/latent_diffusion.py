"""A diffusion prior over latent vectors, optionally conditioned on a score (DDOM-style).

Training is the simplified DDPM objective (Ho et al. 2020, arXiv 2006.11239, eq. 14 / Algorithm 1):
``|| eps - eps_theta(sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps, t[, y]) ||^2`` with ``t`` uniform over the
training timesteps; the forward noising is diffusers' `DDPMScheduler.add_noise`. Sampling runs the
reverse chain with the same scheduler (DDPM ancestral sampling, Algorithm 2), a `DDIMScheduler` built
from its config (Song et al. 2021, arXiv 2010.02502, eq. 12 with eta = 0: deterministic after the first
draw), or diffusers' `DPMSolverMultistepScheduler` (DPM-Solver++(2M), Lu et al. 2022, arXiv 2211.01095,
Algorithm 2: a second-order multistep solver of the same ODE, built for few steps). The network only
predicts noise; all schedule and sampler math stays in the schedulers.

Conditioning follows DDOM (Krishnamoorthy et al., ICML 2023, arXiv 2306.07180): the score ``y`` is an
input of the denoiser and is replaced by a learned null embedding with probability `condition_dropout`
during training (classifier-free guidance, Ho & Salimans 2022, arXiv 2207.12598). At sampling time DDOM's
form is used: ``eps = (1 + w) eps(z, y) - w eps(z, null)``.
A row without a score (NaN: an unlabeled design) always takes the null embedding, so unmeasured
designs train the unconditional model that guidance contrasts against.

Departures: latents and scores are standardized with statistics fitted on the training data (buffers), so one
set of defaults serves any autoencoder scale; the predicted ``z_0`` is clipped to +-5 standard deviations at
every reverse step (see `DEFAULT_NOISE_SCHEDULE`); timesteps use "trailing" spacing, so few-step samplers
start at the last training timestep (Lin et al. 2024, arXiv 2305.08891); DPM-Solver++ clips its predicted
``z_0`` the same way (`ClippedDPMSolver`: diffusers' thresholding rescales to [-1, 1], which suits images, not
standardized latents); DDOM's continuous-time VP-SDE is replaced by a discrete DDPM schedule. DDOM's
reweighting of training rows by score is done by the data, not here (`genmbo.data.score_weighting`, used by
`genmbo.models.prior`). With ``ema_decay > 0`` the model samples with an exponential moving average of the
denoiser's weights (`genmbo.models.weight_average`; Ho et al. 2020, App. B).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from diffusers.utils.torch_utils import randn_tensor

from genmbo.models.networks.denoiser import LatentDenoiser
from genmbo.models.weight_average import DenoiserAverage

DEFAULT_NOISE_SCHEDULE: dict[str, Any] = {
    "num_train_timesteps": 1000,
    # Ho et al.'s linear betas, 1e-4 to 0.02. The cosine schedule ("squaredcos_cap_v2") ends with betas
    # capped at 0.999 and abar_T ~ 1e-7, which makes the last reverse steps far worse conditioned.
    "beta_schedule": "linear",
    "timestep_spacing": "trailing",
    # Predicting z_0 from noise, (z_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), multiplies the network's
    # error by up to 1 / sqrt(abar_T) ~ 160; a DDIM path that starts from such a z_0 never recovers
    # (toy runs gave |z| ~ 170 outliers among unit-scale data). DDPM clips images to [-1, 1] for the
    # same reason; standardized latents are clipped at 5 standard deviations.
    "clip_sample": True,
    "clip_sample_range": 5.0,
    "prediction_type": "epsilon",
}
DEFAULT_DDIM_STEPS = 50
# The shipped MOSES prior's samples are as realistic from 5 DPM-Solver++ steps as from 50 DDIM steps, and
# less so from 10 or 20; a vector prior's are not (docs/priors.md, "Samplers"), so DDIM stays the default.
DEFAULT_DPM_STEPS = 5
Sampler = Literal["ddpm", "ddim", "dpm"]


class ClippedDPMSolver(DPMSolverMultistepScheduler):
    """DPM-Solver++ whose predicted ``z_0`` is clipped to ``+-clip_sample_range`` before each update, as
    the DDPM and DDIM schedulers clip it under ``clip_sample`` (`DEFAULT_NOISE_SCHEDULE`)."""

    def convert_model_output(self, model_output: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        predicted = super().convert_model_output(model_output, *args, **kwargs)
        limit = self.config.get("clip_sample_range")
        if not self.config.get("clip_sample") or limit is None:
            return predicted
        return predicted.clamp(-limit, limit)


# Each sampler's scheduler and default number of steps (None: every training timestep).
SCHEDULERS: dict[str, tuple[type, int | None]] = {
    "ddpm": (DDPMScheduler, None),
    "ddim": (DDIMScheduler, DEFAULT_DDIM_STEPS),
    "dpm": (ClippedDPMSolver, DEFAULT_DPM_STEPS),
}


class Guidance(Protocol):
    """Steers one reverse step by changing the predicted noise.

    Called as ``guidance(noise, latents, timestep)`` with `n x d` tensors in the model's standardized
    latent scale and a scalar (CPU) timestep tensor; returns a detached `n x d` noise tensor. It runs outside
    `torch.no_grad`, so it may differentiate a surrogate with respect to `latents`. Guidance objects that
    need the schedule (``abar_t``) or the latent scale hold the model and read `noise_scheduler`,
    `standardize` and `unstandardize`.
    """

    def __call__(
        self, noise: torch.Tensor, latents: torch.Tensor, timestep: torch.Tensor
    ) -> torch.Tensor: ...


def no_guidance(noise: torch.Tensor, latents: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
    """The identity guidance: sample from the model as trained."""
    return noise


class LatentDiffusion(pl.LightningModule):
    """An epsilon-prediction diffusion model over `latent_dim`-dimensional latents.

    Batches are ``(latents,)`` or ``(latents, scores)`` (see `LatentDataModule`). Standardization statistics
    are fitted by `fit_standardization`, or automatically at the start of `Trainer.fit` from the
    datamodule's `train_latents` / `train_scores`.

    Args:
        latent_dim: width of the latent vectors.
        hidden_dim, num_blocks, embedding_dim: size of the residual MLP denoiser.
        conditional: whether the denoiser takes a scalar score.
        condition_dropout: probability of replacing the score by the null embedding in training.
        noise_schedule: `DDPMScheduler` arguments overriding `DEFAULT_NOISE_SCHEDULE`; the checkpoint
            stores the scheduler's complete config.
        ema_decay: in [0, 1); above 0, training ends with the denoiser set to the exponential moving
            average of its weights over the steps (`DenoiserAverage`, which the model adds to any trainer
            that fits it); 0 keeps the last iterate.
    """

    def __init__(
        self,
        latent_dim: int,
        hidden_dim: int = 256,
        num_blocks: int = 3,
        embedding_dim: int = 128,
        conditional: bool = False,
        condition_dropout: float = 0.15,
        noise_schedule: dict[str, Any] | None = None,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        ema_decay: float = 0.0,
    ):
        super().__init__()
        if not 0.0 <= condition_dropout < 1.0:
            raise ValueError(f"condition_dropout must be in [0, 1), got {condition_dropout}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        schedule = {**DEFAULT_NOISE_SCHEDULE, **(noise_schedule or {})}
        if schedule["prediction_type"] != "epsilon":
            raise ValueError(
                "the latent diffusion prior is trained to predict noise (prediction_type='epsilon')"
            )
        self.noise_scheduler = DDPMScheduler(**schedule)
        self.save_hyperparameters()
        # The complete config, as plain values, so the checkpoint does not depend on diffusers' defaults.
        self.hparams["noise_schedule"] = {
            key: value for key, value in self.noise_scheduler.config.items() if not key.startswith("_")
        }
        self.latent_dim = latent_dim
        self.denoiser = LatentDenoiser(latent_dim, hidden_dim, num_blocks, embedding_dim, conditional)
        self.register_buffer("latent_mean", torch.zeros(latent_dim))
        self.register_buffer("latent_std", torch.ones(latent_dim))
        self.register_buffer("score_mean", torch.zeros(()))
        self.register_buffer("score_std", torch.ones(()))
        self.register_buffer("standardization_fitted", torch.tensor(False))

    @property
    def num_train_timesteps(self) -> int:
        return self.noise_scheduler.config.num_train_timesteps

    @torch.no_grad()
    def fit_standardization(self, latents: torch.Tensor, scores: torch.Tensor | None = None) -> None:
        """Fit per-dimension latent statistics on a `n x latent_dim` tensor (and score ones on `n` scores)."""
        latents = latents.to(self.latent_mean)
        self.latent_mean.copy_(latents.mean(0))
        std = latents.std(0) if latents.shape[0] > 1 else torch.ones_like(self.latent_mean)
        # A constant dimension keeps unit scale instead of dividing by zero.
        self.latent_std.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))
        if scores is not None:
            scores = scores.to(self.score_mean)
            scores = scores[torch.isfinite(scores)]  # unlabeled rows (NaN) have no score to standardize
            self.score_mean.copy_(scores.mean() if scores.numel() else torch.zeros_like(self.score_mean))
            score_std = scores.std() if scores.numel() > 1 else torch.ones_like(self.score_std)
            self.score_std.copy_(score_std if score_std > 1e-8 else torch.ones_like(score_std))
        self.standardization_fitted.fill_(True)
        config = self.noise_scheduler.config
        if config.clip_sample:
            outside = (self.standardize(latents).abs() > config.clip_sample_range).any(dim=1).float().mean()
            if outside > 0:
                warnings.warn(
                    f"{outside:.2%} of training latents lie beyond {config.clip_sample_range} standard "
                    "deviations, where samples are clipped; raise noise_schedule['clip_sample_range']",
                    stacklevel=2,
                )

    def standardize(self, latents: torch.Tensor) -> torch.Tensor:
        """`n x latent_dim` latents in the model's internal (unit-scale) coordinates."""
        return (latents - self.latent_mean) / self.latent_std

    def unstandardize(self, latents: torch.Tensor) -> torch.Tensor:
        """Inverse of `standardize`."""
        return latents * self.latent_std + self.latent_mean

    def on_fit_start(self) -> None:
        # Runs after a resumed checkpoint's buffers are restored, so statistics are fitted only once.
        if bool(self.standardization_fitted):
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "train_latents"):
            raise RuntimeError(
                "without a LatentDataModule, call fit_standardization(train_latents, train_scores) first"
            )
        self.fit_standardization(datamodule.train_latents, getattr(datamodule, "train_scores", None))

    def _standardized_condition(self, scores: torch.Tensor) -> torch.Tensor:
        return (scores.to(self.score_mean) - self.score_mean) / self.score_std

    def diffusion_loss(self, latents: torch.Tensor, scores: torch.Tensor | None = None) -> torch.Tensor:
        """Ho et al. eq. 14 on a `n x latent_dim` batch (with `n` scores for a conditional model)."""
        clean = self.standardize(latents)
        noise = torch.randn_like(clean)
        timesteps = torch.randint(0, self.num_train_timesteps, (clean.shape[0],), device=clean.device)
        noisy = self.noise_scheduler.add_noise(clean, noise, timesteps)
        condition = keep_condition = None
        if self.hparams.conditional:
            if scores is None:
                raise ValueError("a conditional diffusion model needs (latents, scores) batches")
            # An unlabeled row (score NaN) always trains the null embedding: it teaches p(z), not p(z | y).
            labeled = torch.isfinite(scores)
            condition = torch.where(labeled, self._standardized_condition(scores), 0.0)
            dropped = torch.rand(clean.shape[0], device=clean.device) < self.hparams.condition_dropout
            keep_condition = labeled & ~dropped
        return F.mse_loss(self.denoiser(noisy, timesteps, condition, keep_condition), noise)

    def _step(self, batch: Sequence[torch.Tensor], stage: str) -> torch.Tensor:
        loss = self.diffusion_loss(batch[0], batch[1] if len(batch) > 1 else None)
        on_step = stage == "train"
        self.log(f"{stage}/loss", loss, prog_bar=True, on_step=on_step, on_epoch=not on_step)
        return loss

    def training_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_callbacks(self) -> list[pl.Callback]:
        # Read when `Trainer.fit` starts, so a decay set on a loaded model's hparams (fine-tuning) counts.
        decay = self.hparams.get("ema_decay", 0.0)
        return [DenoiserAverage(decay)] if decay > 0 else []

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.learning_rate, weight_decay=self.hparams.weight_decay
        )

    @torch.no_grad()
    def predict_noise(
        self,
        latents: torch.Tensor,
        timestep: torch.Tensor,
        condition: torch.Tensor | None = None,
        guidance_weight: float = 0.0,
    ) -> torch.Tensor:
        """Classifier-free guided noise ``(1 + w) eps(z, y) - w eps(z, null)`` (DDOM's form).

        Args:
            latents: a `n x latent_dim` tensor of standardized noisy latents.
            timestep: a scalar (or `n`) timestep tensor.
            condition: a `n` tensor of standardized scores, or None (null embedding / unconditional model).
            guidance_weight: ``w``; 0 uses the conditional prediction alone.
        """
        if condition is None or guidance_weight == 0.0:
            return self.denoiser(latents, timestep, condition)
        # One batched pass for the conditional and unconditional predictions.
        keep = torch.arange(2 * latents.shape[0], device=latents.device) < latents.shape[0]
        doubled = torch.cat([latents, latents])
        noise = self.denoiser(doubled, timestep, torch.cat([condition, condition]), keep)
        conditional_noise, unconditional_noise = noise.chunk(2)
        return (1.0 + guidance_weight) * conditional_noise - guidance_weight * unconditional_noise

    def sample(
        self,
        num_samples: int,
        generator: torch.Generator | None = None,
        sampler: Sampler = "ddpm",
        num_steps: int | None = None,
        condition: float | torch.Tensor | None = None,
        guidance_weight: float = 0.0,
        guidance: Guidance | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Draw latents from the prior.

        Args:
            num_samples: number of latents ``n``.
            generator: seeds the initial noise and every DDPM step; a CPU generator also works for a model
                on an accelerator (diffusers draws on the CPU and moves the noise).
            sampler: "ddpm" (ancestral, Ho et al. Algorithm 2), "ddim" (eta = 0, Song et al.) or "dpm"
                (DPM-Solver++(2M), Lu et al.).
            num_steps: reverse steps; defaults to all training timesteps for DDPM, 50 for DDIM, 5 for
                DPM-Solver++. Few-step DDIM is exact on its grid when `num_steps` divides the number of
                training timesteps.
            condition: a target score (scalar or `n` tensor, in the data's score units) for a conditional
                model; None samples unconditionally.
            guidance_weight: classifier-free guidance weight ``w`` (needs `condition`).
            guidance: a `Guidance` applied to the noise at every step after classifier-free guidance.
            noise: the standard normal `n x latent_dim` latents the reverse process starts from (what
                `initial_noise` draws); drawn with `generator` if None.
        Returns:
            A `n x latent_dim` tensor of latents in the original (unstandardized) scale.
        """
        if sampler not in SCHEDULERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose 'ddpm', 'ddim' or 'dpm'")
        standardized_condition = self._sampling_condition(num_samples, condition, guidance_weight)
        guidance = guidance or no_guidance
        # A fresh scheduler per call: set_timesteps mutates scheduler state.
        scheduler_class, default_steps = SCHEDULERS[sampler]
        scheduler = scheduler_class.from_config(self.noise_scheduler.config)
        default_steps = min(default_steps or self.num_train_timesteps, self.num_train_timesteps)
        scheduler.set_timesteps(num_steps or default_steps)
        if noise is not None and noise.shape != (num_samples, self.latent_dim):
            raise ValueError(f"noise must be {num_samples} x {self.latent_dim}, got {tuple(noise.shape)}")
        latents = self.initial_noise(num_samples, generator) if noise is None else noise
        for timestep in scheduler.timesteps:
            # In the latents' precision: under autocast the denoiser answers in bfloat16, while the
            # sampler's arithmetic (and DDPM's fresh noise, drawn in the prediction's dtype) stays float32.
            predicted_noise = self.predict_noise(
                latents, timestep.to(self.device), standardized_condition, guidance_weight
            ).to(latents.dtype)
            predicted_noise = guidance(predicted_noise, latents, timestep)
            latents = scheduler.step(predicted_noise, timestep, latents, generator=generator).prev_sample
        return self.unstandardize(latents)

    def initial_noise(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The standard normal `n x latent_dim` latents `sample` starts from, drawn with `generator`."""
        return randn_tensor(
            (num_samples, self.latent_dim), generator=generator, device=self.device, dtype=self.dtype
        )

    def _sampling_condition(
        self, num_samples: int, condition: float | torch.Tensor | None, guidance_weight: float
    ) -> torch.Tensor | None:
        if condition is None:
            if guidance_weight != 0.0:
                raise ValueError("classifier-free guidance (guidance_weight != 0) needs a condition")
            return None
        if not self.hparams.conditional:
            raise ValueError("this diffusion model is unconditional; pass condition=None")
        scores = torch.as_tensor(condition, dtype=self.dtype, device=self.device).reshape(-1)
        return self._standardized_condition(scores.expand(num_samples))
