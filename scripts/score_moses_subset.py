"""Score the shipped MOSES subset with every molecular oracle, once, for the molecular tasks' full data.

    python scripts/score_moses_subset.py --workers 2

Writes `genmbo/resources/moses_subset_scores.npz`: one float32 array per oracle, row for row with
`moses_subset.csv.gz`. Candidates are always scored live in float64; the shipped float32 values only set
each task's percentile cut and normalization range.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from genmbo.resources import moses_subset_smiles, resource_path
from genmbo.tasks.molecular_oracles import score_smiles
from genmbo.tasks.registry import MOLECULAR_ORACLE_NAMES


def score_chunk(job: tuple[str, list[str]]) -> np.ndarray:
    name, smiles = job
    return score_smiles(name, smiles)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=5_000)
    args = parser.parse_args()
    smiles = list(moses_subset_smiles())
    chunks = [smiles[start : start + args.chunk] for start in range(0, len(smiles), args.chunk)]
    results = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for name in MOLECULAR_ORACLE_NAMES:
            started = time.perf_counter()
            scores = np.concatenate(list(pool.map(score_chunk, [(name, chunk) for chunk in chunks])))
            if np.isnan(scores).any():
                raise SystemExit(
                    f"{name}: {int(np.isnan(scores).sum())} molecules of the subset did not score"
                )
            results[name] = scores.astype(np.float32)
            elapsed = time.perf_counter() - started
            print(
                f"{name}: {len(scores)} molecules in {elapsed:.0f} s; "
                f"min {scores.min():.4f} max {scores.max():.4f}"
            )
    np.savez_compressed(resource_path("moses_subset_scores.npz"), **results)


if __name__ == "__main__":
    main()
