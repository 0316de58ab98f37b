"""Compare search methods on tasks, one seed: the short table of docs/BENCHMARKS.md (search issue).

For each task: fit the default prior and surrogate once (saved under OUT/TASK, so a rerun resumes),
then run every method with a budget of 128 candidates and score them with the task's hidden oracle.
Prints a Markdown table of the normalized 100th percentile (50th in brackets) and writes OUT/results.csv.

    python scripts/compare_search_methods.py --tasks tfbind8 ackley-32 --out runs/compare

A method may carry options and a label of its own: `'flagship_pgs=guided_diffusion:{"policy": {}}'`.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

import pandas as pd
import torch

from genmbo.campaign import needs_condition, prepare, propose
from genmbo.config import GenmboConfig, from_mapping, to_mapping
from genmbo.evaluation import oracle_metrics

DEFAULT_METHODS = ["best_offline", "gradient_ascent", "genetic", "guided_diffusion"]


def parse_method(spec: str) -> tuple[str, str, dict]:
    """`label=method:{json options}` (label and options optional) -> (label, method, options)."""
    label, _, rest = spec.rpartition("=") if "=" in spec.split(":", 1)[0] else ("", "", spec)
    method, _, options = rest.partition(":")
    return label or method, method, json.loads(options) if options else {}


def main() -> None:
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

    rows = []
    for task_name in args.tasks:
        raw = to_mapping(GenmboConfig())
        raw["task"]["name"] = task_name
        raw["run"]["seed"] = args.seed
        config = from_mapping(GenmboConfig, raw)
        names = [parse_method(spec)[1] for spec in args.methods]
        run = prepare(config, args.out / task_name, needs_condition(names))
        print(f"{task_name}: prepared in {sum(run.timings.values()):.0f} s {run.timings}", flush=True)
        for spec in args.methods:
            method, name, options = parse_method(spec)
            proposal = propose(run, name, options, args.budget, args.seed)
            metrics = oracle_metrics(task_name, proposal.designs)
            rows.append(
                {"task": task_name, "method": method, "seconds": round(proposal.seconds, 1), **metrics}
            )
            print(
                f"  {method}: 100th {metrics.get('score_100th', float('nan')):.3f} "
                f"50th {metrics.get('score_50th', float('nan')):.3f} in {proposal.seconds:.1f} s",
                flush=True,
            )
    results = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out / "results.csv", index=False)
    cells = results.apply(lambda row: f"{row['score_100th']:.3f} ({row['score_50th']:.3f})", axis=1)
    table = results.assign(cell=cells).pivot(index="method", columns="task", values="cell")
    table = table.reindex([parse_method(spec)[0] for spec in args.methods])
    print("| method | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for method, cells in table.iterrows():
        print(f"| {method} | " + " | ".join(str(cell) for cell in cells) + " |")


if __name__ == "__main__":
    main()
