"""Where does a molecular prior lose realism? Decode latents of different origins and measure each set.

Sets, each of `--samples` molecules (the held-out molecules are the 10,000 the VAE never trained on,
seed 0, split in two halves A and B; B is the reference every set is measured against):
- floor: training molecules drawn at random (real molecules: the best a set can do at this size);
- reconstruction: held-out A, greedy decoding of each posterior mean;
- posterior draw: held-out A, greedy decoding of one draw z ~ q(z|x) per molecule;
- N(0, I): greedy decoding of standard normal latents (what the VAE's KL term aims at);
- Gaussian fit: greedy decoding of a diagonal Gaussian fitted to the training molecules' posterior means;
- diffusion: the latent diffusion prior's samples (DDIM, 50 steps), decoded greedily;
- held-out + noise s: held-out A's posterior means moved by Gaussian noise of s standard deviations
  of the training means in each dimension (s = 0.1, 0.2, 0.4): how far from a real molecule's
  latent a decode stays realistic;
- training + noise s: the posterior means of training molecules moved the same way (s = 0.2, 0.3), a
  prior that memorizes its data, kernel density on its codes: what realism a sampler of this latent space
  can reach at a given novelty.
- ... denoised: each noisy set above (the same draws) handed to the latent diffusion as the noisy latent
  of the timestep whose noise-to-signal ratio ``sqrt((1 - abar_t) / abar_t)`` is nearest to s (in the
  diffusion's standardized coordinates, where s standard deviations of the training means are about s),
  and run back to t = 0 by DDIM (eta = 0, every timestep). This is SDEdit's projection (Meng et al., ICLR
  2022, Sec. 3): if the diffusion has learned where the codes of real molecules lie, it moves a code
  that noise pushed off them back on, and the denoised set decodes more realistically (and, for held-out
  codes, more often to its own molecule) than the noisy one.
Each row has validity, uniqueness, novelty and `genmbo.metrics.realism` against held-out B; the latent
statistics say what the diffusion model has to learn: active units (Burda et al., ICLR 2016, Sec. 5.2:
dimensions whose posterior mean varies across molecules by more than 0.01), the mean KL to N(0, I) per
molecule, and how far (standardized Euclidean distance) each latent set lies from its nearest training
latent, against held-out A's own posterior means. Where a set comes from held-out A, `exact_match` is the
share decoding back to its own molecule. `selfies_repaired` is the share of decoded token strings that
SELFIES had to repair to make a molecule: decoded again with every atom allowed 8 bonds, RDKit rejects
them (or gets another molecule), i.e. they asked for more bonds than an atom has; `sa_unrepaired` is the
mean SA score of the others. A SMILES model's invalid strings are its low-likelihood samples, and SELFIES
turns them into valid but unusual molecules instead (Skinnider, Nat. Mach. Intell. 2024, Figs. 2-4).

    python scripts/diagnose_moses_prior.py --prior checkpoints/moses --samples 5000 \
        --out docs/moses_prior_diagnosis.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import selfies
import torch
from diffusers import DDIMScheduler
from rdkit import Chem

from genmbo.data.moses_training import subset_split
from genmbo.metrics.realism import realism_metrics
from genmbo.metrics.samples import Novelty, Uniqueness, Validity
from genmbo.models.kl_schedule import gaussian_kl
from genmbo.models.prior import load_prior
from genmbo.spaces.molecules import smiles_from_tokens
from genmbo.tasks.molecular_oracles import sa_score

NEIGHBOR_REFERENCE = 50_000
NOISE_SCALES = (0.1, 0.2, 0.4)
MEMORIZING_SCALES = (0.2, 0.3)
# Bonds any atom may take when a decode is checked for SELFIES' valence repairs.
PERMISSIVE_VALENCE = 8


def nearest_distance(latents: torch.Tensor, reference: torch.Tensor, mean, std) -> float:
    """Mean standardized distance from each latent to its nearest `reference` latent."""
    scaled = (reference - mean) / std
    distances = [torch.cdist((chunk - mean) / std, scaled).min(1).values for chunk in latents.split(1000)]
    return float(torch.cat(distances).mean())


@torch.no_grad()
def denoised(diffusion, latents: torch.Tensor, scale: float) -> torch.Tensor:
    """`latents` (moved by noise of about `scale` standard deviations) denoised by `diffusion` from the
    timestep whose noise-to-signal ratio is nearest to `scale`, by DDIM (eta = 0) over every timestep."""
    scheduler = DDIMScheduler.from_config(diffusion.noise_scheduler.config)
    scheduler.set_timesteps(diffusion.num_train_timesteps)
    signal = scheduler.alphas_cumprod
    start = int(((1 - signal) / signal).sqrt().sub(scale).abs().argmin())
    noisy = diffusion.standardize(latents) * signal[start].sqrt()
    for timestep in scheduler.timesteps[scheduler.timesteps <= start]:
        noise = diffusion.predict_noise(noisy, timestep)
        noisy = scheduler.step(noise, timestep, noisy).prev_sample
    return diffusion.unstandardize(noisy)


def decode_with_repairs(vae, latents: torch.Tensor) -> tuple[list[str | None], list[bool]]:
    """Greedy decodes of `latents`, and for each whether SELFIES repaired its token string's valences."""
    tokens = torch.cat([vae.generate(chunk) for chunk in latents.split(1024)])
    designs = vae.space.decode(tokens)
    default_constraints = selfies.get_semantic_constraints()
    selfies.set_semantic_constraints({atom: PERMISSIVE_VALENCE for atom in default_constraints})
    try:
        relaxed = [smiles_from_tokens(row) for row in vae.space.vocabulary.decode(tokens)]
    finally:
        selfies.set_semantic_constraints(default_constraints)
    return designs, [loose is None or loose != design for loose, design in zip(relaxed, designs, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prior", type=Path, default=Path("checkpoints/moses"))
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the table as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    generator = torch.Generator().manual_seed(args.seed)

    prior = load_prior(args.prior)
    vae = prior.autoencoder.eval()
    training, held = subset_split()
    count = min(args.samples, len(held) // 2)
    held_a, reference = held[:count], held[count : 2 * count]

    with torch.no_grad():
        tokens = vae.space.encode(held_a)
        posterior_means, log_variances = map(
            torch.cat, zip(*(vae.encoder(chunk) for chunk in tokens.split(1024)), strict=True)
        )
        neighbor_rows = torch.randperm(len(training), generator=generator)[:NEIGHBOR_REFERENCE].tolist()
        training_means = vae.encode_designs([training[row] for row in neighbor_rows])
        mean, std = training_means.mean(0), training_means.std(0)
        latent_sets = {
            "reconstruction": posterior_means,
            "posterior draw": posterior_means
            + (0.5 * log_variances).exp() * torch.randn(posterior_means.shape, generator=generator),
            "N(0, I)": torch.randn(count, vae.latent_dim, generator=generator),
            "Gaussian fit": mean + std * torch.randn(count, vae.latent_dim, generator=generator),
            "diffusion": prior.sample_latents(count, generator),
        }
        for scale in NOISE_SCALES:
            noise = scale * std * torch.randn(posterior_means.shape, generator=generator)
            latent_sets[f"held-out + noise {scale}"] = posterior_means + noise
        # Their own generator, so that the rows above and the floor do not depend on these.
        memorizing = torch.Generator().manual_seed(args.seed + 1)
        for scale in MEMORIZING_SCALES:
            noise = scale * std * torch.randn(count, vae.latent_dim, generator=memorizing)
            latent_sets[f"training + noise {scale}"] = training_means[:count] + noise
        for name in [name for name in latent_sets if "+ noise" in name]:
            scale = float(name.rsplit(" ", 1)[1])
            latent_sets[f"{name}, denoised"] = denoised(prior.diffusion.eval(), latent_sets[name], scale)
    from_held_out = {
        name for name in latent_sets if name.startswith(("reconstruction", "posterior", "held-out"))
    }
    floor_rows = torch.randperm(len(training), generator=generator)[:count].tolist()
    rows = [
        {
            "set": "floor (training molecules)",
            **realism_metrics(vae.space, [training[r] for r in floor_rows], reference, training),
        }
    ]
    for name, latents in latent_sets.items():
        designs, repaired = decode_with_repairs(vae, latents)
        unrepaired = [design for design, fixed in zip(designs, repaired, strict=True) if design and not fixed]
        sa_unrepaired = [sa_score(Chem.MolFromSmiles(design)) for design in unrepaired]
        row = {
            "set": name,
            "validity": float(Validity()(designs)),
            "uniqueness": float(Uniqueness(vae.space)(designs)),
            "novelty": float(Novelty(training, vae.space)(designs)),
            "nearest_training_latent": nearest_distance(latents, training_means, mean, std),
            **realism_metrics(vae.space, designs, reference, training),
            "selfies_repaired": float(np.mean(repaired)),
            "sa_unrepaired": float(np.mean(sa_unrepaired)) if sa_unrepaired else float("nan"),
        }
        if name in from_held_out:
            row["exact_match"] = sum(a == b for a, b in zip(designs, held_a, strict=True)) / count
        rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    kl = gaussian_kl(posterior_means, log_variances)
    latent = {
        "active_units": int((posterior_means.var(0) > 0.01).sum()),
        "latent_dim": vae.latent_dim,
        "kl_per_molecule": float(kl.sum(1).mean()),
        "spread_of_posterior_means": float(posterior_means.std(0).mean()),
        "mean_posterior_std": float((0.5 * log_variances).exp().mean()),
    }
    print(json.dumps(latent), flush=True)
    report = {"prior": str(args.prior), "samples": count, "rows": rows, "latent": latent}
    report["seconds"] = round(time.time() - start, 1)
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"done in {report['seconds']} s")


if __name__ == "__main__":
    main()
