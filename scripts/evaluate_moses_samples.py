"""Measure samples of the shipped MOSES prior: validity, uniqueness, novelty and IntDiv (MOSES metrics).

Draws `--samples` latents from the latent diffusion prior (DDIM, 50 steps, seeded), decodes them greedily
with the SELFIES VAE, and prints JSON: validity (decodes that are molecules), uniqueness (distinct among
valid), novelty (distinct valid molecules not in the VAE's training molecules: the shipped subset minus
the 10,000 held out), IntDiv1 and IntDiv2 (Morgan radius 2, 1024 bits, as MOSES), and the distribution
metrics of `genmbo.metrics.realism` against the 10,000 held-out molecules (`realism_*`: FCD, GuacaMol KL
score, SA, ring and alert shares) beside the same metrics for as many training molecules drawn at random
(`realism_*_floor`).

    python scripts/evaluate_moses_samples.py --prior checkpoints/moses --samples 10000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from genmbo.data.token_datamodule import split_indices
from genmbo.models.prior import load_prior
from genmbo.models.prior_evaluation import sample_metrics
from genmbo.resources import moses_subset_smiles

HELD_OUT = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prior", type=Path, default=Path("checkpoints/moses"))
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    prior = load_prior(args.prior)
    smiles = moses_subset_smiles()
    kept, held_out = split_indices(len(smiles), HELD_OUT, 0)
    training = [smiles[index] for index in kept.tolist()]
    reference = [smiles[index] for index in held_out.tolist()]
    generator = torch.Generator().manual_seed(args.seed)
    metrics = sample_metrics(prior, training, args.samples, generator, reference=reference)
    report = {
        "prior": str(args.prior),
        "samples": args.samples,
        **{k: round(v, 4) for k, v in metrics.items()},
    }
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
