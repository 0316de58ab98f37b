"""Measure samples of the shipped MOSES prior: validity, uniqueness, novelty and IntDiv (MOSES metrics).

Draws `--samples` latents from the latent diffusion prior (`--sampler`: DDIM in 50 steps by default,
`dpm` DPM-Solver++ in 5; seeded; `--precision bfloat16` runs the networks in bfloat16; `--realism-pool K`
keeps the most realistic of K times as many by the prior's realism critic, `genmbo.models.realism_critic`),
decodes them greedily
with the SELFIES VAE, and prints JSON: validity (decodes that are molecules), uniqueness (distinct among
valid), novelty (distinct valid molecules not in the VAE's training molecules: the shipped subset minus
the 10,000 held out, or with `--moses-wheel` the whole MOSES training set minus them), IntDiv1 and
IntDiv2 (Morgan radius 2, 1024 bits, as MOSES), and the distribution metrics of `genmbo.metrics.realism`
against the 10,000 held-out molecules (`realism_*`: FCD, GuacaMol KL score, MOSES's SNN, Frag and Scaf,
SA, ring and alert shares) beside the same metrics for as many training molecules drawn at random
(`realism_*_floor`).

    python scripts/evaluate_moses_samples.py --prior checkpoints/moses --samples 10000
    python scripts/evaluate_moses_samples.py --sampler dpm --steps 5 --precision bfloat16
    python scripts/evaluate_moses_samples.py --sampler dpm --realism-pool 12
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from genmbo.data.moses_training import subset_split, training_molecules
from genmbo.models.prior import load_prior
from genmbo.models.prior_evaluation import sample_metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prior", type=Path, default=Path("checkpoints/moses"))
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument(
        "--moses-wheel",
        type=Path,
        help="the prior trained on the full MOSES training set of this molsets wheel: novelty and the "
        "floor against that set",
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("runs/moses_full"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampler", choices=["ddim", "dpm", "ddpm"], default="ddim")
    parser.add_argument("--steps", type=int, help="reverse steps (default: the sampler's)")
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument(
        "--realism-pool",
        type=int,
        default=1,
        help="keep the samples the realism critic rates most realistic among this many times as many",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    prior = load_prior(args.prior)
    reference = subset_split()[1]
    training = training_molecules(wheel=args.moses_wheel, cache_dir=args.cache_dir)
    generator = torch.Generator().manual_seed(args.seed)
    metrics = sample_metrics(
        prior,
        training,
        args.samples,
        generator,
        reference=reference,
        sampler=args.sampler,
        num_steps=args.steps,
        precision=args.precision,
        realism_pool=args.realism_pool,
    )
    report = {
        "prior": str(args.prior),
        "samples": args.samples,
        "sampler": args.sampler,
        "steps": args.steps,
        "precision": args.precision,
        "realism_pool": args.realism_pool,
        **{k: round(v, 4) for k, v in metrics.items()},
    }
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
