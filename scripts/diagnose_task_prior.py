"""Where does a built-in task's prior lose realism? Decode latents of different origins and measure each.

The prior is one `genmbo fit` saved (``OUT/prior``); every set has `--samples` designs and is measured by
`genmbo.metrics.realism` against the same `--samples` offline designs (the reference), as `genmbo fit`
measures its samples:
- floor: other offline designs (real designs: the best a set can do at this size);
- reconstruction: the floor's designs encoded to their posterior means and decoded again;
- codes + noise s: those means moved by Gaussian noise of s standard deviations of the offline designs'
  means in each dimension: how far from a real design's code a decode stays realistic;
- Gaussian fit: draws of a Gaussian with the mean and full covariance of every offline design's code
  (what a prior that learned only the first two moments of the codes gives);
- diffusion: the prior's own samples (`Prior.sample_designs`, DDIM in 50 steps), as `genmbo fit` draws them.
Novelty is the share of valid designs that are not offline designs.

    genmbo fit --task ehrlich-s32-d64-m4-l4-q4 --out runs/priors/ehrlich-s32-d64-m4-l4-q4 --samples 1000
    python scripts/diagnose_task_prior.py --task ehrlich-s32-d64-m4-l4-q4 \\
        --prior runs/priors/ehrlich-s32-d64-m4-l4-q4/prior
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from genmbo.metrics.realism import realism_metrics, split_reference
from genmbo.models.prior import load_prior
from genmbo.tasks.registry import get_task

NOISE_SCALES = (0.1, 0.3, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", required=True)
    parser.add_argument("--prior", type=Path, required=True, help="the prior folder `genmbo fit` wrote")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)

    task = get_task(args.task)
    designs = list(task.offline_dataset(args.seed).designs)
    prior = load_prior(args.prior)
    autoencoder = prior.autoencoder
    reference, floor = split_reference(designs, args.samples, generator)  # two exchangeable halves
    count = len(floor)

    with torch.no_grad():
        codes = autoencoder.encode_designs(floor)
        every_code = autoencoder.encode_designs(designs)
        spread = every_code.std(0)
        fitted = torch.distributions.MultivariateNormal(
            every_code.mean(0),
            torch.cov(every_code.T) + 1e-6 * torch.eye(every_code.shape[1]),
        )
        torch.manual_seed(args.seed)  # MultivariateNormal.sample takes no generator
        sets = {"floor": floor, "reconstruction": autoencoder.decode_latents(codes)}
        for scale in NOISE_SCALES:
            noise = scale * spread * torch.randn(codes.shape, generator=generator)
            sets[f"codes + noise {scale}"] = autoencoder.decode_latents(codes + noise)
        sets["Gaussian fit"] = autoencoder.decode_latents(fitted.sample((count,)))
        sets["diffusion"] = prior.sample_designs(count, generator)

    known = set(designs)
    header = None
    for name, decoded in sets.items():
        valid = [design for design in decoded if design is not None]
        metrics = realism_metrics(task.space, valid, reference, designs)
        if header is None:
            header = ["latents decoded", "novelty", *metrics]
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
        novelty = sum(design not in known for design in valid) / max(len(valid), 1)
        cells = [name, f"{novelty:.3f}", *(f"{value:.4f}" for value in metrics.values())]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
