"""DDOM: sample a score-conditioned diffusion prior at the best offline score, with classifier-free guidance.

Denoising Diffusion Optimization Models (Krishnamoorthy et al., ICML 2023, arXiv 2306.07180) are an
inverse method: a diffusion model of ``p(x | y)`` is trained on the offline data (reweighted toward high
scores, `genmbo.data.score_weighting`), and candidates are drawn conditioned on a high score. Here the
prior's `LatentDiffusion` (built with ``conditional=True``) is that model, over latents rather than designs.

Sampling (Sec. 3, "classifier-free guidance"): the condition is the maximum score of the offline dataset,
as in the official evaluation (github.com/siddarthk97/ddom, `design_baselines/diff/trainer.py`,
``args.condition = task.y.max()``); the guided noise is ``(1 + w) eps(z, y_max) - w eps(z, null)``
(`LatentDiffusion.predict_noise`), with ``w = 2`` (``gamma = 2.0`` in the official
`configs/score_diffusion.cfg`). Every sample is returned: DDOM evaluates all of its candidates, with no
surrogate filtering of its own; the pipeline then filters, values and selects them as for every method.

Departures: a discrete DDPM chain (Ho et al. 2020, Algorithm 2; all training timesteps by default) replaces
DDOM's continuous-time VP-SDE integrated with Heun's method; the reweighting acts through the training
sampler (`WeightedLatentDataModule`), not loss weights. Deterministic under a fixed generator, which seeds
the initial noise and every DDPM step.
"""

from __future__ import annotations

from typing import Literal

import torch

from genmbo.errors import ConfigError
from genmbo.search.base import SearchMethod, SearchProblem


class ConditionalDiffusion(SearchMethod):
    """`budget` latents from the conditional prior, conditioned on the best offline score.

    Args:
        guidance_weight: the classifier-free guidance weight ``w`` (0: the conditional model alone).
        sampler: "ddpm" (ancestral, DDOM's stochastic sampling) or "ddim" (eta = 0).
        num_steps: reverse steps; None uses the prior's default for the sampler.
    """

    name = "ddom"
    needs_condition = True  # samples p(z | y = target)

    def __init__(
        self,
        guidance_weight: float = 2.0,
        sampler: Literal["ddpm", "ddim"] = "ddpm",
        num_steps: int | None = None,
    ):
        if not isinstance(guidance_weight, int | float) or guidance_weight < 0:
            raise ValueError(f"guidance_weight must be a number >= 0, got {guidance_weight!r}")
        if sampler not in ("ddpm", "ddim"):
            raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
        if num_steps is not None and (not isinstance(num_steps, int) or num_steps < 1):
            raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
        self.guidance_weight = float(guidance_weight)
        self.sampler: Literal["ddpm", "ddim"] = sampler
        self.num_steps = num_steps

    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x d` float32 tensor of latents, in the autoencoder's latent scale."""
        if problem.prior is None:
            raise ConfigError("search method 'ddom' samples a conditional prior; this problem has none")
        diffusion = problem.prior.diffusion
        if not diffusion.hparams.conditional:
            raise ConfigError(
                "search method 'ddom' needs a score-conditional diffusion prior "
                "(diffusion.conditional: true); this prior is unconditional"
            )
        diffusion.eval()
        with torch.no_grad():
            candidates = diffusion.sample(
                budget,
                generator,
                sampler=self.sampler,
                num_steps=self.num_steps,
                condition=float(problem.scores.max()),
                guidance_weight=self.guidance_weight,
            )
        return candidates.float()
