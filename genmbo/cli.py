"""The `genmbo` command line: parse arguments, call the library, print results.

Every problem the user can fix (bad option, missing file, unknown config key) ends with one line on
stderr and exit code 2; `--debug` shows the traceback instead. Heavy imports (torch, RDKit) happen inside
the subcommands so that `genmbo --help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from genmbo import __version__
from genmbo.errors import GenmboError
from genmbo.runtime.interrupts import Terminated, install_sigterm_handler, was_user_interrupted

EXIT_USAGE = 2
RESUME_HINT = "training checkpoints are saved: rerun the same command to resume"
DEFAULT_DESIGN_TASK = "moses-qed"
MIN_TRUST_ROWS = 4  # below this `better_than_chance` cannot be true (`genmbo.metrics.surrogate_trust`)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with a pointer to --help), never the whole usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="genmbo", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"genmbo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    tasks = commands.add_parser("tasks", help="list the benchmark tasks with their visible and full sizes")
    tasks.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    tasks.set_defaults(handler=run_tasks)

    evaluate = commands.add_parser("evaluate", help="score a candidate library with a task's oracle")
    evaluate.add_argument("--task", required=True, help="task name (see `genmbo tasks`)")
    evaluate.add_argument("--library", required=True, type=Path, help="CSV or Parquet with a 'design' column")
    evaluate.add_argument("--design-col", default="design", help="column holding the designs")
    evaluate.set_defaults(handler=run_evaluate)

    design = commands.add_parser(
        "design", help="run a design campaign: data in, a ranked, diverse candidate library and a report out"
    )
    add_input_options(design)
    design.add_argument("--method", help="search method (default: guided_diffusion, the flagship)")
    design.add_argument("--n-candidates", type=int, help="library size (default 128)")
    design.add_argument("--no-progress", action="store_true", help="no progress bars or stage lines")
    design.set_defaults(handler=run_design_command)

    benchmark = commands.add_parser(
        "benchmark", help="run methods on tasks over seeds (Design-Bench protocol); write results.csv and .md"
    )
    benchmark.add_argument("--tasks", nargs="+", help="task names (default: the standard suite)")
    benchmark.add_argument(
        "--methods", nargs="+", help="method names, 'coms', or LABEL=METHOD:{json} (default: all seven)"
    )
    benchmark.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds (default 0 1 2)")
    benchmark.add_argument("--budget", type=int, default=128, help="candidates per run (default 128)")
    benchmark.add_argument("--config", type=Path, help="YAML config for priors and surrogates")
    add_set_option(benchmark)
    benchmark.add_argument("--out", required=True, type=Path, help="output folder")
    benchmark.set_defaults(handler=run_benchmark_command)

    fit = commands.add_parser("fit", help="train the generative prior (autoencoder + latent diffusion)")
    add_input_options(fit)
    fit.add_argument("--samples", type=int, default=1000, help="prior samples to measure (default 1000)")
    fit.set_defaults(handler=run_fit)

    config = commands.add_parser("config", help="validate a YAML config and print it with defaults filled in")
    config.add_argument("file", type=Path, nargs="?", help="config file (default: the built-in defaults)")
    add_set_option(config)
    config.set_defaults(handler=run_config)
    return parser


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options naming what a run works on and where it writes; they override the config file."""
    parser.add_argument("--config", type=Path, help="YAML config (see configs/default.yaml)")
    parser.add_argument("--task", help="a built-in task (see `genmbo tasks`)")
    parser.add_argument("--data", help="your data: CSV, Parquet, or designs.npy,scores.npy")
    parser.add_argument(
        "--space", choices=("molecules", "sequence", "continuous"), help="design space of --data"
    )
    parser.add_argument("--design-col", help="design column; for vectors a comma-separated list or a prefix")
    parser.add_argument("--score-col", help="score column")
    parser.add_argument("--minimize", action="store_true", default=None, help="lower scores are better")
    parser.add_argument(
        "--objective",
        action="append",
        metavar="COLUMN:max|min",
        help="one objective of several (instead of --score-col), e.g. --objective ic50:min; repeatable",
    )
    parser.add_argument(
        "--constraint",
        action="append",
        metavar="COLUMN:LOW:HIGH",
        help="a range a measured column must lie in (with --objective; either bound may be empty), "
        "e.g. --constraint mw::500; repeatable",
    )
    parser.add_argument(
        "--unlabeled",
        help="unmeasured designs that train the prior beside --data's: CSV, Parquet, .npy or text",
    )
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--strategy", help="Lightning strategy for training, e.g. ddp (default auto)")
    parser.add_argument("--devices", help="devices per node for training: an integer or auto (default 1)")
    parser.add_argument("--num-nodes", type=int, help="nodes for training (default 1)")
    add_set_option(parser)


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="set any config key (dotted, the value read as YAML), e.g. --set search.scale=2; repeatable",
    )


# The command line's named options and the config keys they set (as `--set KEY=VALUE` would).
FLAG_KEYS = {
    "task": "task.name",
    "data": "data.path",
    "space": "data.space",
    "design_col": "data.design_col",
    "score_col": "data.score_col",
    "minimize": "data.minimize",
    "objective": "data.objectives",
    "constraint": "data.constraints",
    "unlabeled": "data.unlabeled",
    "out": "run.out",
    "seed": "run.seed",
    "method": "search.method",
    "n_candidates": "run.n_candidates",
    "strategy": "distributed.strategy",
    "devices": "distributed.devices",
    "num_nodes": "distributed.num_nodes",
}


def raw_config_from(args: argparse.Namespace) -> dict:
    """The config file (or nothing), the named options, then every `--set`, unchecked."""
    from genmbo.config import read_raw, with_overrides, with_values
    from genmbo.data.objectives import parse_constraint, parse_objective

    raw = read_raw(args.config) if getattr(args, "config", None) is not None else {}
    values = {key: getattr(args, flag, None) for flag, key in FLAG_KEYS.items()}
    if values["data.objectives"] is not None:
        values["data.objectives"] = [parse_objective(text) for text in values["data.objectives"]]
    if values["data.constraints"] is not None:
        values["data.constraints"] = [parse_constraint(text) for text in values["data.constraints"]]
    if values["distributed.devices"] is not None:
        values["distributed.devices"] = _devices(values["distributed.devices"])
    return with_overrides(with_values(raw, values), getattr(args, "set", None) or [])


def run_config_from(args: argparse.Namespace, default_task: str | None = None):
    """The config a run uses: `raw_config_from` checked as one, with `default_task` when the run names
    neither a task nor data."""
    from genmbo.config import GenmboConfig, from_mapping, with_values
    from genmbo.errors import ConfigError

    raw = raw_config_from(args)
    task, data = raw.get("task") or {}, raw.get("data") or {}
    if default_task is not None and isinstance(task, dict) and isinstance(data, dict):
        if not task.get("name") and not data.get("path"):
            raw = with_values(raw, {"task.name": default_task})
    config = from_mapping(GenmboConfig, raw, source="command line")
    if not config.run.out:
        raise ConfigError("name an output folder (--out DIR)")
    return config


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def quiet_lightning() -> None:
    """Lightning's banner lines (GPU available, tips) are noise in a command-line run."""
    import logging
    import warnings

    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")


def run_fit(args: argparse.Namespace) -> int:
    import time

    import torch

    from genmbo.campaign.inputs import resolve_dataset
    from genmbo.config import to_mapping
    from genmbo.models.prior import fit_prior
    from genmbo.models.prior_evaluation import reconstruction_metrics, sample_metrics
    from genmbo.outputs.files import prepare_output_folder, write_json, write_yaml

    config = run_config_from(args)
    out = prepare_output_folder(config.run.out)
    quiet_lightning()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    dataset, task = resolve_dataset(config)
    timings["load"] = time.perf_counter() - started
    print(f"data: {len(dataset)} designs ({dataset.report.summary()})")
    write_yaml(out / "config.yaml", to_mapping(config))
    write_json(out / "cleaning.json", dataset.report.to_dict())

    started = time.perf_counter()
    from genmbo.models.training import configured_run

    with configured_run(config):
        prior = fit_prior(dataset, config.prior, out / "prior", seed=config.run.seed)
    timings["fit_prior"] = time.perf_counter() - started
    print(
        f"prior: {type(prior.autoencoder).__name__}, {prior.autoencoder.latent_dim}-d latents, "
        f"trained in {timings['fit_prior']:.0f} s"
    )

    started = time.perf_counter()
    generator = torch.Generator().manual_seed(config.run.seed)
    held = dataset.designs[: min(len(dataset), 2000)]
    oracle = task.oracle if task is not None else None
    metrics = reconstruction_metrics(prior, held) | sample_metrics(
        prior, dataset.designs, args.samples, generator, oracle
    )
    timings["evaluate"] = time.perf_counter() - started
    write_json(out / "prior_metrics.json", {**metrics, "timings": timings})
    for name, value in metrics.items():
        print(f"  {name}: {value:.4f}")
    print(f"prior saved in {out / 'prior'}; metrics in {out / 'prior_metrics.json'}")
    return 0


def run_design_command(args: argparse.Namespace) -> int:
    from genmbo.campaign.design import run_design
    from genmbo.outputs.files import prepare_output_folder
    from genmbo.runtime.progress import showing_progress

    # Naming neither a task nor data runs the embedded default campaign: the shipped MOSES prior on a
    # built-in molecular task.
    config = run_config_from(args, default_task=DEFAULT_DESIGN_TASK)
    out = prepare_output_folder(config.run.out)
    quiet_lightning()
    with showing_progress(not args.no_progress):
        outcome = run_design(config, out)
    if not outcome.metrics:  # a helper process of a distributed run: the main process reports
        return 0
    print(design_summary(outcome.metrics))
    print(f"library: {outcome.files['csv']}")
    print(f"report:  {outcome.files['report']}")
    return 0


def run_benchmark_command(args: argparse.Namespace) -> int:
    from genmbo.benchmark.suite import (
        STANDARD_METHODS,
        STANDARD_TASKS,
        check_base,
        parse_method,
        run_benchmark,
        summary_table,
    )
    from genmbo.config import load_config
    from genmbo.errors import ConfigError
    from genmbo.outputs.files import prepare_output_folder
    from genmbo.runtime.progress import showing_progress

    if args.budget < 1 or any(seed < 0 for seed in args.seeds):
        raise ConfigError("--budget must be at least 1 and --seeds non-negative")
    base = load_config(args.config, args.set or [])
    check_base(base)  # before the output folder is made
    out = prepare_output_folder(args.out)
    quiet_lightning()
    methods = args.methods or list(STANDARD_METHODS)
    with showing_progress():
        results = run_benchmark(
            args.tasks or list(STANDARD_TASKS), methods, args.seeds, out, base, args.budget
        )
    print(summary_table(results, [parse_method(spec).label for spec in methods]))
    print(f"results: {out / 'results.csv'} and {out / 'results.md'}")
    return 0


def design_summary(metrics: dict) -> str:
    """The few lines a user reads first: what was made, how good, how new, how long."""
    lines = [f"{metrics['n_candidates']} candidates by {metrics['method']} (seed {metrics['seed']})"]
    if "task" in metrics:
        lines.append(
            f"  oracle ({metrics['task']}): normalized 100th {metrics.get('score_100th', float('nan')):.3f}, "
            f"50th {metrics.get('score_50th', float('nan')):.3f}; best offline "
            f"{metrics['best_offline_normalized']:.3f}"
        )
    pool = metrics["pool"]
    rounds = pool.get("rounds", 1)
    searched = f" ({rounds} rounds of search)" if rounds > 1 else ""
    lines.append(
        f"  pool of {pool['size']}{searched}: validity {metrics['validity']:.3f}, "
        f"uniqueness {metrics['uniqueness']:.3f}, novelty {metrics['novelty']:.3f}"
    )
    if metrics["n_candidates"] < metrics.get("n_requested", 0):
        lines.append(shortfall_line(metrics))
    nearest = next((key for key in metrics if key.startswith("nearest_offline_")), None)
    detail = f", {nearest.replace('_', ' ')} {metrics[nearest]:.3f}" if nearest else ""
    lines.append(f"  library: diversity {metrics['diversity']:.3f}{detail}")
    if "realism" in metrics:
        lines.append(realism_line(metrics["realism"]))
    if "pareto_oracle" in metrics:
        oracle = metrics["pareto_oracle"]
        lines.append(
            f"  oracle hypervolume: {oracle['hypervolume_normalized']:.3f} of the full data's (visible data "
            f"{oracle['offline_hypervolume_normalized']:.3f}); {oracle['undominated_share']:.0%} of the "
            "library undominated by visible designs"
        )
    if "pareto" in metrics:
        lines += pareto_lines(metrics["pareto"], metrics["objectives"])
    if "surrogate_trust" in metrics:
        lines += trust_lines(metrics["surrogate_trust"])
    for name, trust in metrics.get("objective_trust", {}).items():
        lines += trust_lines(trust, f"predicted_{name}")
    timings = metrics["timings"]
    stages = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in timings.items())
    on = f" on {metrics['threads']} threads" if "threads" in metrics else ""
    lines.append(f"  time: {sum(timings.values()):.0f} s{on} ({stages})")
    return "\n".join(lines)


def shortfall_line(metrics: dict) -> str:
    """Why the library holds fewer designs than asked for: the filters' largest drops from the pool, and
    the alert caps that are full (`genmbo.selection.alert_quota`)."""
    pool = metrics["pool"]
    dropped = sorted(pool.get("dropped", {}).items(), key=lambda item: -item[1])
    reasons = "; ".join(f"{count} {reason}" for reason, count in dropped[:3])
    detail = f" ({reasons})" if dropped else ""
    full = [
        f"{name} ({cap['carriers']}, the offline share {cap['offline_share']:.1%})"
        for name, cap in pool.get("alert_caps", {}).items()
        if cap["full"] and cap["carriers"]
    ]
    caps = f"; the library holds as many alert carriers as the cap allows: {', '.join(full)}" if full else ""
    return (
        f"  warning: {metrics['n_candidates']} of the {metrics['n_requested']} candidates asked for; the "
        f"filters dropped {sum(count for _, count in dropped)} of the pool of {pool['size']}{detail}{caps}; "
        "a larger selection.pool_factor or pool_rounds gives the selection more to choose from"
    )


def pareto_lines(pareto: dict, objectives: list[dict]) -> list[str]:
    """The library's hypervolume against the offline data's, its undominated share, and each objective's
    best and median."""
    ratio = pareto["hypervolume_ratio"]
    against = f"{ratio:.2f} x" if ratio is not None else "against"
    parts = ", ".join(
        f"{item['column']} ({item['direction']}) {pareto['objectives'][item['column']]['100th']:.4g} / "
        f"{pareto['objectives'][item['column']]['50th']:.4g}"
        for item in objectives
    )
    return [
        f"  pareto (library predicted, offline measured): hypervolume {pareto['hypervolume']:.4g}, "
        f"{against} the offline data's {pareto['offline_hypervolume']:.4g}; "
        f"{pareto['undominated_share']:.0%} of the library undominated by offline designs",
        f"  objectives (library best / median): {parts}",
    ] + (
        [
            f"  constraints: {pareto['feasible_share']:.0%} of the library predicted feasible "
            f"({pareto['offline_feasible_share']:.0%} of the offline designs measured feasible)"
        ]
        if pareto.get("feasible_share") is not None
        else []
    )


def trust_lines(trust: dict, column: str = "predicted_score") -> list[str]:
    """The valuing surrogate's held-out Spearman and calibration, and a warning when it ranks no better
    than chance; `column` names the library column its std widening applies to."""
    std_column = "predicted_std" if column == "predicted_score" else f"{column}_std"
    if trust["rows"] < MIN_TRUST_ROWS:
        return [
            f"  surrogate trust ({trust['model']}): {trust['rows']} held-out designs, too few to judge how "
            "well it ranks: treat the ranking with care"
        ]
    lines = [
        f"  surrogate trust ({trust['model']}, {trust['rows']} held-out designs): Spearman "
        f"{trust['spearman']:.2f}, within 1 std {trust['within_1_std']:.0%}, "
        f"within 2 std {trust['within_2_std']:.0%}"
    ]
    if trust.get("std_scale") is not None:
        lines.append(
            f"  a 68% interval of {column} is mean ± {trust['std_scale']:.2g} x {std_column} "
            "(conformal, on the held-out designs)"
        )
    if not trust["better_than_chance"]:
        lines.append(
            "  warning: the surrogate ranks held-out designs no better than chance, so this library is a "
            "guess; measure more designs or treat the ranking with care"
        )
    return lines


def realism_line(realism: dict) -> str:
    """Library against offline data and its top decile: SA, large rings and alerts, on one line."""

    def values(key: str, form: str) -> str:
        return " / ".join(
            format(realism[part][key], form) for part in ("library", "offline", "offline_top_decile")
        )

    line = (
        "  realism (library / offline / offline top 10%): "
        f"SA {values('sa_mean', '.2f')}, rings > 7 atoms {values('large_ring_share', '.1%')}, "
        f"PAINS {values('pains_share', '.1%')}, BRENK {values('brenk_share', '.1%')}, "
        f"NIH {values('nih_share', '.1%')}"
    )
    if "filter" not in realism:
        return line
    from genmbo.selection.constraints import describe_realism_bounds

    return f"{line}; kept {describe_realism_bounds(realism['filter'])}"


def run_tasks(args: argparse.Namespace) -> int:
    from genmbo.tasks import get_task, task_names

    rows = [get_task(name).summary() for name in task_names()]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="genmbo tasks (Design-Bench protocol: models see only the visible rows)")
    numeric = ("visible", "full", "cut", "best visible", "best full")
    for column in ("name", "space", *numeric, "description"):
        justify = "right" if column in numeric else "left"
        table.add_column(column, justify=justify, no_wrap=column != "description")
    for row in rows:
        table.add_row(
            row["name"],
            row["space"],
            f"{row['visible']:,}",
            f"{row['full']:,}",
            f"≤ p{row['percentile']:g}",
            f"{row['best_visible']:.4g}",
            f"{row['best_full']:.4g}",
            row["description"],
        )
    Console(width=max(150, Console().width)).print(table)
    print(
        "Other sizes: ackley-<dim>, levy-<dim>, rosenbrock-<dim>, "
        "ehrlich-s<states>-d<len>-m<motifs>-l<k>-q<q>"
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from genmbo.benchmark.evaluation import evaluate_library

    print(json.dumps(evaluate_library(args.task, args.library, args.design_col), indent=2))
    return 0


def run_config(args: argparse.Namespace) -> int:
    import yaml

    from genmbo.config import load_config, to_mapping

    config = load_config(args.file, args.set or [])
    print(yaml.safe_dump(to_mapping(config), sort_keys=False), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    install_sigterm_handler()
    try:
        return args.handler(args)
    except GenmboError as error:
        if args.debug:
            raise
        print(f"genmbo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"genmbo: interrupted; {RESUME_HINT}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"genmbo: terminated; {RESUME_HINT}", file=sys.stderr)
        return 143
    except SystemExit as stop:
        # Lightning ends a run stopped by SIGTERM or the first Ctrl-C (after saving last.ckpt) with a
        # SIGTERMException, and one cut by a second Ctrl-C with sys.exit(1).
        if type(stop).__name__ == "SIGTERMException":
            print(f"genmbo: stopped; {RESUME_HINT}", file=sys.stderr)
            return 143
        if was_user_interrupted():
            print(f"genmbo: interrupted; {RESUME_HINT} (from the last periodic checkpoint)", file=sys.stderr)
            return 130
        raise


if __name__ == "__main__":
    raise SystemExit(main())
