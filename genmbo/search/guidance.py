"""Surrogate guidance of the latent diffusion prior: classifier guidance with a regression surrogate.

Implements the `genmbo.models.latent_diffusion.Guidance` protocol with Dhariwal & Nichol's score-based
conditioning for DDIM ("Diffusion Models Beat GANs on Image Synthesis", NeurIPS 2021, arXiv 2105.05233,
Sec. 4.2, eq. 14 and Algorithm 2):

    eps'(z_t) = eps(z_t) - sqrt(1 - abar_t) * s * step_size * grad_{z_t} f

with ``log p(y | z_t)`` replaced by the pessimistic surrogate objective ``f = (mean - kappa * std) /
score_std`` (see `genmbo.search.objectives`), a guidance scale ``s`` and an optional per-dimension step
size (a learned policy's, later; ones by default).

Which gradient. Dhariwal & Nichol train their classifier on noisy inputs; our surrogate is fitted on clean
latents, so ``f`` is evaluated at the predicted clean latent ``z0_hat = (z_t - sqrt(1 - abar_t) eps) /
sqrt(abar_t)`` (clipped as the sampler clips it, then unstandardized: the surrogate lives in the
autoencoder's latent scale). The chain rule needs the Jacobian ``d z0_hat / d z_t``, which we replace by
its exact value for standardized Gaussian data, ``E[z0 | z_t] = sqrt(abar_t) z_t``:

    grad_{z_t} f ~= sqrt(abar_t) * grad_{z0} f(z0_hat)

so each step moves the predicted clean latent by ``s * (1 - abar_t) * grad f``, the posterior variance of
``z0`` times the gradient: about ``s * grad f`` (in units of the data's std) early, nothing once the sample
is determined. Like manifold-preserving guidance (He et al., ICLR 2024, arXiv 2311.16424), which also
takes the gradient at ``z0_hat`` without backpropagating through the denoiser, it costs one surrogate
gradient per step. The alternatives failed on a 2-D toy (200- and 2000-step priors, 20- and 50-step DDIM):
backpropagating through the denoiser (``z0_hat``'s exact chain rule, as in DPS, Chung et al., ICLR 2023,
or Bansal et al.'s universal guidance) multiplies the denoiser's Jacobian error by ``1 / sqrt(abar_t)``
(~160 at the first step of the linear schedule); treating eps as constant gives ``grad f / sqrt(abar_t)``,
the same factor outright; the gradient at ``z_t`` queries the surrogate on noisy latents. All three drove
DDIM samples toward the clipping bound (for s >= 0.3 the mean surrogate value fell to several times
its unguided value, where this form raised it 2-7x closer to the optimum), because DDIM
reuses the guided eps in its direction term unclipped; with DDPM all four forms lifted the surrogate.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from genmbo.models.latent_diffusion import LatentDiffusion

StepSize = Callable[[torch.Tensor], torch.Tensor]
"""``step_size(clean_latents) -> n x d`` per-dimension multipliers of the guidance gradient, given the
`n x d` predicted clean latents in the autoencoder's scale (the surrogate's input)."""


class SurrogateGuidance:
    """Steer every reverse step of `diffusion` up the gradient of `objective` (a `Guidance`).

    Args:
        diffusion: the latent diffusion model being sampled (its schedule and latent scale are read).
        objective: `n x d` latents in the autoencoder's scale -> `n` values, differentiable.
        scale: the guidance scale ``s``; 0 samples the prior unchanged.
        step_size: optional per-dimension step sizes (`StepSize`); None means ones.
    """

    def __init__(
        self,
        diffusion: LatentDiffusion,
        objective: Callable[[torch.Tensor], torch.Tensor],
        scale: float,
        step_size: StepSize | None = None,
    ):
        self.diffusion = diffusion
        self.objective = objective
        self.scale = scale
        self.step_size = step_size

    def __call__(self, noise: torch.Tensor, latents: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
        """Guided noise for `n x d` standardized noisy latents at a scalar timestep: `n x d`, detached."""
        if self.scale == 0.0:
            return noise
        alpha_bar = self.diffusion.noise_scheduler.alphas_cumprod[timestep.long()].to(latents)
        clean = self.clip((latents - (1 - alpha_bar).sqrt() * noise) / alpha_bar.sqrt()).detach()
        with torch.enable_grad():
            clean.requires_grad_(True)
            unstandardized = self.diffusion.unstandardize(clean)
            # Rows are independent, so the gradient of the sum is each row's own gradient.
            (gradient,) = torch.autograd.grad(self.objective(unstandardized).sum(), clean)
        if self.step_size is not None:
            gradient = gradient * self.step_size(unstandardized.detach())
        guided = noise - (1 - alpha_bar).sqrt() * self.scale * alpha_bar.sqrt() * gradient
        return guided.detach()

    def clip(self, clean: torch.Tensor) -> torch.Tensor:
        """Clip predicted clean latents as the sampler does, so the surrogate sees the same ``z0_hat``."""
        config = self.diffusion.noise_scheduler.config
        if not config.clip_sample:
            return clean
        return clean.clamp(-config.clip_sample_range, config.clip_sample_range)
