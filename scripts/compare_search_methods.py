"""Compare search methods on tasks, one seed: `genmbo benchmark` (the one pipeline) for a quick look.

A one-seed `genmbo benchmark` (the same pipeline as `genmbo design`): for each task the default prior and
surrogate are fitted once (saved under OUT/TASK, so a rerun resumes), every method makes a library of
128 candidates, scored with the task's hidden oracle. Prints a Markdown table of the normalized 100th
percentile (50th in brackets) and writes OUT/results.csv.

    python scripts/compare_search_methods.py --tasks tfbind8 ackley-32 --out runs/compare

A method may carry options and a label of its own, e.g. the flagship with its step-size policy trained on
vectors too: `'flagship_pgs=guided_diffusion:{"policy": {"spaces": ["sequence", "continuous"]}}'`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

import torch

from genmbo.benchmark.suite import parse_method, run_benchmark
from genmbo.errors import GenmboError

DEFAULT_METHODS = ["best_offline", "gradient_ascent", "genetic", "guided_diffusion"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["tfbind8"])
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS)
    parser.add_argument("--budget", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/compare"))
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        results = run_benchmark(args.tasks, args.methods, [args.seed], args.out, budget=args.budget)
    except GenmboError as error:
        print(f"compare_search_methods: {error}", file=sys.stderr)
        return 2
    cells = results.apply(lambda row: f"{row['score_100th']:.3f} ({row['score_50th']:.3f})", axis=1)
    table = results.assign(cell=cells).pivot(index="method", columns="task", values="cell")
    table = table.reindex([parse_method(spec).label for spec in args.methods])
    print("| method | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for method, row in table.iterrows():
        print(f"| {method} | " + " | ".join(str(cell) for cell in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
