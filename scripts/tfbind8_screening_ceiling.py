"""What any search could reach on TFBind8 with a benchmark run's surrogate: screen the whole design space.

TFBind8's space is every DNA 8-mer (65,536 designs), so the surrogate a search steers by can be applied
to all of them. The 128 new designs (not in the visible data) with the highest pessimistic prediction
``mean - kappa * std`` at their encodings are the best library that surrogate can choose; their oracle
scores are a ceiling for every method searching with it, and the gap between that ceiling and a method's
score is the search's loss, the gap above it the surrogate's.

    python scripts/tfbind8_screening_ceiling.py runs/suite --seeds 0 1 2 3 4

reads `DIR/tfbind8/seed-S/{prior,surrogate-default}`, the models `genmbo benchmark` trained (`--surrogate`
names another surrogate folder, e.g. a ListNet method's); nothing is trained: a missing folder is an
error, exit 2. It prints the normalized 100th and 50th percentiles per seed and their mean, as Markdown.

`--features onehot` asks instead what a surrogate of the same kind (the configuration's `surrogate`
section, `--config FILE` or the defaults) reaches when it sees the designs themselves, one-hot encoded
(8 x 4 = 32 inputs), rather than the VAE's latents: it is trained on the visible rows with the seed, saved
in `DIR/tfbind8/seed-S/surrogate-onehot` (a rerun loads it), and screens the space the same way.
`--features design` does the same with the design surrogate's features (`surrogate_features`: one-hot and
3-mer counts), in `DIR/tfbind8/seed-S/surrogate-design-features-screen`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch

from genmbo.config import GenmboConfig, load_config
from genmbo.data.offline import OfflineDataset
from genmbo.errors import GenmboError
from genmbo.models.prior import load_prior
from genmbo.models.surrogates.design import fit_design_surrogate, one_hot_features, surrogate_features
from genmbo.models.surrogates.ensemble import fit_surrogate, load_surrogate
from genmbo.search.objectives import PessimisticObjective
from genmbo.tasks.registry import get_task

BUDGET = 128
NUCLEOTIDES = "ACGT"


def all_8mers() -> list[str]:
    return ["".join(letters) for letters in itertools.product(NUCLEOTIDES, repeat=8)]


def screen(surrogate, features: torch.Tensor, new: list[str], dataset: OfflineDataset, kappa: float):
    """Normalized 100th and 50th percentiles of the `BUDGET` designs of `new` (with `features`) that
    `surrogate` ranks highest by ``mean - kappa * std``."""
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    with torch.no_grad():
        # Scaled like the searches' objective; the scale does not change the order.
        values = PessimisticObjective(surrogate, kappa, float(scores.std()))(features)
    chosen = [new[row] for row in torch.argsort(values, descending=True, stable=True)[:BUDGET].tolist()]
    task = get_task("tfbind8")
    normalized = task.normalize(task.oracle(chosen))
    return float(np.max(normalized)), float(np.percentile(normalized, 50))


def new_designs(dataset: OfflineDataset) -> list[str]:
    offline = set(dataset.designs)
    return [design for design in all_8mers() if design not in offline]


def screening_ceiling(
    folder: Path, dataset: OfflineDataset, kappa: float = 1.0, surrogate_folder: str = "surrogate-default"
) -> tuple[float, float]:
    """Normalized 100th and 50th percentiles of the best `BUDGET` new 8-mers by the latent surrogate in
    `folder / surrogate_folder`, at the designs' encodings by the prior in `folder / "prior"`."""
    prior = load_prior(folder / "prior")
    surrogate = load_surrogate(folder / surrogate_folder / "surrogate.ckpt").eval()
    new = new_designs(dataset)
    with torch.no_grad():
        features = prior.autoencoder.encode_designs(new).float()
    return screen(surrogate, features, new, dataset, kappa)


def feature_ceiling(
    folder: Path,
    dataset: OfflineDataset,
    config: GenmboConfig,
    seed: int,
    kappa: float = 1.0,
    kind: str = "onehot",
) -> tuple[float, float]:
    """`screening_ceiling` for a surrogate trained (or loaded) in a folder of its own in `folder` on the
    visible designs: on their `one_hot_features` ("onehot"), or the design surrogate itself ("design",
    `fit_design_surrogate`: one-hot tokens and k-mer counts)."""
    new = new_designs(dataset)
    if kind == "design":
        fitted = fit_design_surrogate(
            dataset, config.surrogate, folder / "surrogate-design-features-screen", seed
        )
        assert fitted is not None  # TFBind8's space is fixed-length sequences
        features = surrogate_features(dataset.space, new, fitted.kmer_length)
        return screen(fitted.surrogate, features, new, dataset, kappa)
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    training = one_hot_features(dataset.space, dataset.designs)
    surrogate = fit_surrogate(training, scores, config.surrogate, folder / "surrogate-onehot", seed).eval()
    return screen(surrogate, one_hot_features(dataset.space, new), new, dataset, kappa)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a `genmbo benchmark --out` folder that ran tfbind8")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--kappa", type=float, default=1.0, help="weight of the std (the flagship's: 1)")
    parser.add_argument(
        "--features",
        choices=("latent", "onehot", "design"),
        default="latent",
        help="screen with the benchmark's latent surrogate, or train one on one-hot designs (or on the "
        "design surrogate's features: one-hot and k-mer counts)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="a genmbo config whose `surrogate` section --features onehot or design uses",
    )
    parser.add_argument(
        "--surrogate",
        default="surrogate-default",
        help="the surrogate's folder in each seed's (e.g. surrogate-loss-listnet for a ListNet method's)",
    )
    args = parser.parse_args(argv)
    dataset = get_task("tfbind8").offline_dataset()
    try:
        config = load_config(args.config)
    except GenmboError as error:
        print(f"tfbind8_screening_ceiling: {error}", file=sys.stderr)
        return 2
    rows = []
    for seed in args.seeds:
        folder = args.out / "tfbind8" / f"seed-{seed}"
        if args.features != "latent":
            rows.append((seed, *feature_ceiling(folder, dataset, config, seed, args.kappa, args.features)))
            continue
        if not (folder / "prior").is_dir() or not (folder / args.surrogate / "surrogate.ckpt").is_file():
            print(
                f"tfbind8_screening_ceiling: {folder} has no prior/ and {args.surrogate}/surrogate.ckpt "
                "(run genmbo benchmark on tfbind8 with that seed first)",
                file=sys.stderr,
            )
            return 2
        rows.append((seed, *screening_ceiling(folder, dataset, args.kappa, args.surrogate)))
    print("| seed | 100th | 50th |\n|---|---|---|")
    for seed, best, median in rows:
        print(f"| {seed} | {best:.3f} | {median:.3f} |")
    print(f"| mean | {np.mean([row[1] for row in rows]):.3f} | {np.mean([row[2] for row in rows]):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
