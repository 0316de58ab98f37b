"""Print the markdown table of priors' realism from `genmbo fit` output folders.

Each folder's `prior_metrics.json` holds the samples' realism metrics (``realism_NAME``) and the same
metrics for as many real designs (``realism_NAME_floor``); a cell reads ``samples (floor)``.

    for t in tfbind8 ehrlich-s20-d32-m2-l4-q4 ehrlich-s32-d64-m4-l4-q4 ackley-32 levy-32; do
        genmbo fit --task $t --out runs/priors/$t --samples 1000; done
    python scripts/prior_realism_table.py runs/priors/*/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PREFIX, FLOOR = "realism_", "_floor"


def realism_names(metrics: dict) -> list[str]:
    return [
        key[len(PREFIX) :]
        for key in metrics
        if key.startswith(PREFIX) and not key.endswith(FLOOR) and f"{key}{FLOOR}" in metrics
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    tables: dict[tuple[str, ...], list[str]] = {}
    for folder in args.folders:
        metrics = json.loads((folder / "prior_metrics.json").read_text())
        names = tuple(realism_names(metrics))
        cells = [
            folder.name,
            *(f"{metrics[key]:.3f}" for key in ("sample_validity", "sample_uniqueness", "sample_novelty")),
            *(f"{metrics[PREFIX + name]:.4f} ({metrics[PREFIX + name + FLOOR]:.4f})" for name in names),
        ]
        tables.setdefault(names, []).append("| " + " | ".join(cells) + " |")
    for names, rows in tables.items():
        header = ["prior", "validity", "uniqueness", "novelty", *names]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        print("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
