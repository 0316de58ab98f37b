"""How the surrogate's ranking and calibration change with the number of labeled rows, per configuration.

For each task, labeled-row count `n`, seed and surrogate configuration, it draws `n` labeled rows from the
task's visible rows (as `<task>@n<N>` does, by the seed), trains the deep ensemble on their design
features (fixed-length sequences: the design surrogate's one-hot tokens and k-mer counts; vectors: the
vectors themselves), and measures it on `--evaluate` other visible rows it never saw: the Spearman
correlation of its mean with the oracle's score, the shares of scores inside mean ± std and ± 2 std, the
conformal widening `std_scale` those rows call for, the same figures the run's own held-out rows gave
(`held_out_*`, what `genmbo design` reports), and the training time. This is the evidence behind
`genmbo.models.surrogates.sizing`, so it runs on tuning seeds (10-12), never the suite's.

    python scripts/surrogate_by_data_size.py --tasks tfbind8 ehrlich-s20-d32-m2-l4-q4 ackley-32 \
        --sizes 100 500 2000 --seeds 10 11 --out runs/surrogate-sizing \
        --variant 'fixed={"hidden_dims":[256,256],"max_steps":2000}'

Configurations: `sized` is `SurrogateConfig()`, whose "auto" fields follow the rule, and
`--variant NAME='{json}'` adds others (overrides of the surrogate section), e.g. the fixed width and length
the rule replaced: `--variant 'fixed={"hidden_dims":[256,256],"max_steps":2000}'`. It prints one Markdown
table of means over seeds and writes every row to `OUT/rows.csv`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from genmbo.config import SurrogateConfig
from genmbo.metrics.surrogate_trust import conformal_std_scale
from genmbo.models.surrogates.design import has_design_features, spectrum_k, surrogate_features
from genmbo.models.surrogates.ensemble import fit_surrogate
from genmbo.tasks.registry import get_task


def features_of(space, designs, reference) -> torch.Tensor:
    """What the surrogate sees: design features of fixed-length sequences, else the vectors."""
    if has_design_features(space):
        return surrogate_features(space, designs, spectrum_k(space, reference))
    return torch.as_tensor(np.asarray(designs), dtype=torch.float32)


def measure(config: SurrogateConfig, train_x, train_y, test_x, test_y, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        model = fit_surrogate(train_x, train_y, config, Path(folder), seed).eval()
        seconds = time.perf_counter() - start
        steps = model.trainer.global_step
    with torch.no_grad():
        mean, std = model.predict(test_x)
    error = (mean - test_y).abs()
    return {
        "spearman": float(spearmanr(mean.numpy(), test_y.numpy()).statistic),
        "within_1_std": float((error <= std).float().mean()),
        "within_2_std": float((error <= 2 * std).float().mean()),
        "std_scale": conformal_std_scale(error, std),
        "held_out_spearman": model.trust["spearman"],
        "held_out_std_scale": model.trust["std_scale"],
        "seconds": seconds,
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["tfbind8"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11])
    parser.add_argument("--evaluate", type=int, default=2000, help="unseen visible rows measured on")
    parser.add_argument("--variant", action="append", default=[], help="NAME='{json overrides}'")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    variants: dict[str, dict] = {"sized": {}}
    for text in args.variant:
        name, _, overrides = text.partition("=")
        variants[name] = json.loads(overrides)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for task_name in args.tasks:
        visible = get_task(task_name).offline_dataset()
        scores = np.asarray(visible.scores, dtype=np.float32)
        for n in args.sizes:
            for seed in args.seeds:
                order = np.random.default_rng(seed).permutation(len(visible))
                train, test = order[:n], order[n : n + args.evaluate]
                train_designs = [visible.designs[row] for row in train]
                test_designs = [visible.designs[row] for row in test]
                train_x = features_of(visible.space, train_designs, train_designs)
                test_x = features_of(visible.space, test_designs, train_designs)
                train_y, test_y = torch.as_tensor(scores[train]), torch.as_tensor(scores[test])
                for name, overrides in variants.items():
                    config = SurrogateConfig.model_validate({**SurrogateConfig().model_dump(), **overrides})
                    figures = measure(config, train_x, train_y, test_x, test_y, seed)
                    rows.append({"task": task_name, "n": n, "seed": seed, "config": name, **figures})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                    pd.DataFrame(rows).to_csv(args.out / "rows.csv", index=False)
    table = pd.DataFrame(rows).groupby(["task", "n", "config"], sort=False).mean(numeric_only=True)
    table = table.drop(columns="seed").round(3).reset_index()
    print("| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns))
    for values in table.itertuples(index=False):
        print("| " + " | ".join(str(value) for value in values) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
