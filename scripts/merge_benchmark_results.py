"""Merge the `results.csv` of several `genmbo benchmark` runs (e.g. one per process or machine) into one
`results.csv` and `results.md`, with the same summary table `genmbo benchmark` writes.

    python scripts/merge_benchmark_results.py --out runs/suite runs/part-a/results.csv runs/part-b/results.csv

Methods are listed in the standard order, then any others in order of appearance. A (task, method,
seed) found in two files is an error (exit 2): the runs overlap and one would silently win.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from genmbo.benchmark import STANDARD_METHODS, write_results

KEY = ["task", "method", "seed"]


def merge(paths: list[Path]) -> pd.DataFrame:
    """The rows of every file, in order; `ValueError` if a file is unreadable or a key repeats."""
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise ValueError(f"{path}: cannot read ({error})") from None
        missing = [column for column in [*KEY, "score_100th", "score_50th"] if column not in frame]
        if missing:
            raise ValueError(f"{path}: not a benchmark results.csv (no column {', '.join(missing)})")
        frames.append(frame)
    results = pd.concat(frames, ignore_index=True)
    repeated = results[results.duplicated(KEY, keep=False)]
    if not repeated.empty:
        task, method, seed = repeated.iloc[0][KEY]
        raise ValueError(f"({task}, {method}, seed {seed}) appears in more than one row")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="results.csv files of benchmark runs")
    parser.add_argument("--out", type=Path, required=True, help="folder for the merged results")
    parser.add_argument(
        "--budget", type=int, default=128, help="candidates per run in the parts (default 128)"
    )
    args = parser.parse_args(argv)
    try:
        results = merge(args.results)
    except ValueError as error:
        print(f"merge_benchmark_results: {error}", file=sys.stderr)
        return 2
    methods = list(dict.fromkeys(results["method"]))
    labels = [m for m in STANDARD_METHODS if m in methods] + [m for m in methods if m not in STANDARD_METHODS]
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(results, args.out, labels, args.budget)
    print((args.out / "results.md").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
