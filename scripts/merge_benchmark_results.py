"""Merge the `results.csv` of several `genmbo benchmark` runs (e.g. one per process or machine) into one
`results.csv` and `results.md`, with the same summary table `genmbo benchmark` writes.

    python scripts/merge_benchmark_results.py --out runs/suite runs/part-a/results.csv runs/part-b/results.csv

Methods are listed in the standard order, then any others in order of appearance. A (task, method,
seed) found in two files is an error (exit 2): the runs overlap and one would silently win.

A method rerun after a change (a new default, say) replaces its old rows with `--replace`:

    python scripts/merge_benchmark_results.py --out runs/suite runs/part-a/results.csv \
        --replace runs/rerun/results.csv

Every (task, method) that appears in a `--replace` file loses all its rows from the other files, every
seed, so a table never mixes seeds of the old and the new version. `--methods A B ...` keeps those
methods only (after replacing), in that order, e.g. to leave out the variants a rerun also measured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from genmbo.benchmark.suite import STANDARD_METHODS, write_results

KEY = ["task", "method", "seed"]


def merge(paths: list[Path], replacements: list[Path] = ()) -> pd.DataFrame:
    """The rows of every file, in order, with each (task, method) of `replacements` taken from them
    alone; `ValueError` if a file is unreadable or a key repeats."""
    results = _concatenated(paths)
    if replacements:
        new = _concatenated(replacements)
        replaced = results.set_index(["task", "method"]).index.isin(new.set_index(["task", "method"]).index)
        results = pd.concat([results[~replaced], new], ignore_index=True)
    return results


def _concatenated(paths: list[Path]) -> pd.DataFrame:
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
        "--replace",
        nargs="+",
        type=Path,
        default=[],
        help="results.csv files whose (task, method) rows replace those of the other files",
    )
    parser.add_argument(
        "--methods", nargs="+", default=None, help="keep only these methods, in this order (default: all)"
    )
    parser.add_argument(
        "--budget", type=int, default=128, help="candidates per run in the parts (default 128)"
    )
    args = parser.parse_args(argv)
    try:
        results = merge(args.results, args.replace)
    except ValueError as error:
        print(f"merge_benchmark_results: {error}", file=sys.stderr)
        return 2
    methods = list(dict.fromkeys(results["method"]))
    if args.methods is not None:
        missing = [m for m in args.methods if m not in methods]
        if missing:
            print(f"merge_benchmark_results: no rows of method {missing[0]!r}", file=sys.stderr)
            return 2
        results = results[results["method"].isin(args.methods)].reset_index(drop=True)
        labels = list(args.methods)
    else:
        labels = [m for m in STANDARD_METHODS if m in methods] + [
            m for m in methods if m not in STANDARD_METHODS
        ]
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(results, args.out, labels, args.budget)
    print((args.out / "results.md").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
