"""Train the realism critic of the shipped MOSES prior and add it to `checkpoints/moses/`.

Runs after `scripts/train_moses_diffusion.py`. Draws `--samples` latents from the prior (DPM-Solver++ in 5
steps, the cheapest sampler), decodes them greedily,
labels each 1 where `genmbo design`'s realism filter keeps its molecule (`DesignFilter` with the default
constraints and bounds from the VAE's training molecules: SA score within their 90th percentile, no ring
larger than theirs, no PAINS alert, no BRENK or NIH alert rarer than 1% among them) and 0 otherwise,
trains a `genmbo.models.realism_critic.RealismCritic` on the labelled latents (95% of them; it prints its
AUROC on the other 5%), and writes `realism_critic.ckpt` and the prior's manifest into `--prior`. The
labelled draws are kept in `--run-dir`, so a rerun only trains. Sampling then keeps the samples it rates
most realistic with `realism_pool` (`Prior.sample_designs`, `scripts/evaluate_moses_samples.py
--realism-pool`).

    python scripts/train_moses_critic.py --prior checkpoints/moses
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch

from genmbo.config import ConstraintsConfig
from genmbo.data.moses_training import training_molecules
from genmbo.models.prior import CRITIC_CHECKPOINT, Prior, load_prior
from genmbo.models.realism_critic import fit_realism_critic, realism_labels
from genmbo.selection.constraints import DesignFilter, describe_realism_bounds

DRAW_BATCH = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prior", type=Path, default=Path("checkpoints/moses"))
    parser.add_argument("--samples", type=int, default=300_000)
    parser.add_argument("--max-steps", type=int, default=3_000)
    parser.add_argument("--run-dir", type=Path, default=Path("runs/moses_critic"))
    parser.add_argument("--seed", type=int, default=0, help="the seed the VAE's held-out split used")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    start = time.time()

    prior = load_prior(args.prior)
    draws = args.run_dir / "draws.pt"
    if draws.is_file():  # a rerun (to resume, or with other training options) reuses the labelled draws
        latents, labels = torch.load(draws, weights_only=True).values()
        print(f"[{time.time() - start:6.0f} s] read {len(labels)} labelled draws from {draws}", flush=True)
    else:
        latents, labels = draw_and_label(prior, args.samples, args.seed, start)
        args.run_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"latents": latents, "labels": labels}, draws)

    critic, auroc = fit_realism_critic(latents, labels, args.run_dir, args.max_steps, seed=args.seed)
    print(f"[{time.time() - start:6.0f} s] critic trained: AUROC {auroc:.3f} on its 5% validation draws")
    prior.critic = critic
    prior.save(args.prior)
    written = args.prior / CRITIC_CHECKPOINT
    print(f"[{time.time() - start:6.0f} s] wrote {written} ({written.stat().st_size / 2**20:.2f} MB)")


def draw_and_label(prior: Prior, samples: int, seed: int, start: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`samples` latents of `prior`, each labelled 1 where the realism filter keeps its decoded molecule."""
    generator = torch.Generator().manual_seed(seed + 1)
    latents = torch.cat(
        [
            prior.sample_latents(min(DRAW_BATCH, samples - done), generator, sampler="dpm")
            for done in range(0, samples, DRAW_BATCH)
        ]
    )
    with torch.no_grad():
        designs = prior.autoencoder.decode_latents(latents)
    print(f"[{time.time() - start:6.0f} s] drew and decoded {len(designs)} latents", flush=True)
    design_filter = DesignFilter(prior.autoencoder.space, ConstraintsConfig(), training_molecules(seed))
    labels = realism_labels(designs, lambda design: design_filter.reason(design) is None)
    print(
        f"[{time.time() - start:6.0f} s] {labels.mean():.1%} kept by the realism filter "
        f"({describe_realism_bounds(design_filter.realism)})",
        flush=True,
    )
    return latents, labels


if __name__ == "__main__":
    main()
