"""Unguided designs from a prior, drawn fast: `draw_designs` (what `Prior.sample_designs` runs).

The initial noise is drawn first, with the caller's generator; on the CPU the latents are then denoised
and decoded in batches of `DRAW_BATCH`, whose activations stay in the core's cache (the shipped MOSES
denoiser in bfloat16 on one thread: 0.047 s per 1,000 latents in batches of 1,024, 0.062 s in one batch
of 5,000), and a large draw is split into one share of whole batches per core, each drawn by its own
process with one torch thread (`genmbo.runtime.workers.shard_results`): the same batches, from the same
noise, whichever process draws them. DDPM draws fresh noise from the generator at every step, so it runs
in one process; on a GPU the draw is one batch.

``precision="bfloat16"`` runs the denoiser and the decoder under `torch.autocast` in bfloat16 (the format
of Kalamkar et al., arXiv 1905.12322, 2019: float32's range, 8 significant bits), the sampler's
arithmetic staying in float32. It is for token priors only: a vector decoded in bfloat16 keeps three
significant digits. On a CPU with bf16 instructions the shipped MOSES prior's DPM-Solver++ draws 5,200
valid molecules a second instead of 3,400 on two cores (docs/BENCHMARKS.md, "Speed"), and a third of its
samples change, to molecules as realistic by every distribution metric (docs/priors.md, "Samplers"); on a
CPU without them torch emulates bfloat16, more slowly than float32.

With a realism critic (`genmbo.models.realism_critic`) and ``pool`` above 1, each batch of designs is
decoded from the latents the critic rates most realistic among ``pool`` times as many samples: a batch
of `DRAW_BATCH` designs from ``pool * DRAW_BATCH`` latents, so the designs still do not depend on the
split.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import torch

from genmbo.errors import GenmboError
from genmbo.models.autoencoder import LatentAutoencoder
from genmbo.models.latent_diffusion import LatentDiffusion, Sampler
from genmbo.models.realism_critic import RealismCritic
from genmbo.models.sequence_vae import SequenceVAE
from genmbo.runtime.progress import showing_progress, track
from genmbo.runtime.workers import shard_results

Precision = Literal["float32", "bfloat16"]
PRECISIONS = get_args(Precision)
DRAW_BATCH = 1024


def draw_designs(
    diffusion: LatentDiffusion,
    autoencoder: LatentAutoencoder,
    num_samples: int,
    generator: torch.Generator,
    sampler: Sampler = "ddim",
    num_steps: int | None = None,
    precision: Precision = "float32",
    critic: RealismCritic | None = None,
    pool: int = 1,
) -> list[Any]:
    """`num_samples` designs decoded (greedily) from `diffusion`'s samples by `autoencoder`, each the most
    realistic by `critic` of `pool` samples when `pool` is above 1; `None` where a latent decodes to
    nothing (see the module docstring)."""
    if pool < 1:
        raise ValueError(f"pool must be >= 1, got {pool}")
    if pool > 1 and critic is None:
        raise GenmboError(
            "realism_pool needs a prior with a realism critic (scripts/train_moses_critic.py trains one)"
        )
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    low_precision = precision == "bfloat16"
    if low_precision and not isinstance(autoencoder, SequenceVAE):
        raise ValueError("bfloat16 sampling is for token priors: a vector keeps 3 digits in bfloat16")
    diffusion.eval()
    noise = diffusion.initial_noise(num_samples * pool, generator)
    on_cpu = all(_device_type(module) == "cpu" for module in (diffusion, autoencoder))
    batch = DRAW_BATCH if on_cpu else max(num_samples, 1)
    autocast = torch.autocast(_device_type(diffusion), dtype=torch.bfloat16, enabled=low_precision)

    def draw(indices: range) -> list[Any]:
        designs = []
        for start in track(range(indices.start, indices.stop, batch), "drawing samples"):
            stop = min(start + batch, indices.stop)
            start_noise = noise[start * pool : stop * pool]
            with autocast, showing_progress(False):
                latents = diffusion.sample(
                    len(start_noise), generator, sampler, num_steps=num_steps, noise=start_noise
                )
                if pool > 1:
                    latents = latents[critic.most_realistic(latents, stop - start)]
                designs += autoencoder.decode_latents(latents)
        return designs

    if sampler == "ddpm" or not on_cpu:
        return draw(range(num_samples))
    return [design for share in shard_results(draw, num_samples, align=batch) for design in share]


def _device_type(module: Any) -> str:
    device = getattr(module, "device", None)  # an identity autoencoder has no weights, hence no device
    return "cpu" if device is None else torch.device(device).type
