"""genmbo from Python: one call runs a design campaign, as `genmbo design` does on the command line.

    import pandas as pd
    import genmbo

    measured = pd.read_csv("my_molecules.csv")              # a column of SMILES, a column of scores
    outcome = genmbo.design(measured, space="molecules", design_col="smiles", score_col="pic50",
                            out="runs/first", overrides=["run.n_candidates=64", "search.scale=2"])
    outcome.library.head()                                     # the ranked library, as written to library.csv

A DataFrame is saved as ``OUT/input.parquet`` and the run reads it from there, so a campaign from Python and
one from the command line go through the same loading, cleaning and pipeline, and the output folder holds
what the run was made from; calling again with the same folder resumes interrupted training.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from genmbo.campaign.design import DesignOutcome, run_design
from genmbo.config import GenmboConfig, from_mapping, read_raw, with_overrides, with_values
from genmbo.data.objectives import parse_constraint, parse_objective
from genmbo.errors import ConfigError
from genmbo.outputs.files import prepare_output_folder, write_atomic
from genmbo.runtime.progress import showing_progress

INPUT_FILE = "input.parquet"


def design(
    data: pd.DataFrame | str | Path | None = None,
    *,
    out: str | Path,
    task: str | None = None,
    space: str | None = None,
    design_col: str | Sequence[str] | None = None,
    score_col: str | None = None,
    minimize: bool = False,
    objectives: Sequence[str] | None = None,
    constraints: Sequence[str] | None = None,
    unlabeled: str | Path | None = None,
    config: str | Path | None = None,
    overrides: Iterable[str] = (),
    progress: bool = False,
) -> DesignOutcome:
    """Run a design campaign into `out` and return its library, metrics and file paths.

    Args:
        data: the measured designs: a DataFrame, or a CSV/Parquet/``"x.npy,y.npy"`` path; None with `task`.
        task: a built-in task instead of data (see `genmbo tasks`).
        space: "molecules", "sequence" or "continuous" (with `data`).
        design_col: the design column; for vectors a list of columns or a prefix such as "x".
        score_col: the measured score column; `minimize` when lower is better.
        objectives: several objectives instead, as ``"COLUMN:max"`` or ``"COLUMN:min"`` (`--objective`).
        constraints: ranges measured columns must lie in, as ``"COLUMN:LOW:HIGH"`` with either bound
            empty (`--constraint`), beside `objectives` (one or more).
        unlabeled: a file of unmeasured designs that train the prior beside `data`'s (see `--unlabeled`).
        config: a YAML config file (see `configs/default.yaml`); `overrides`: ``KEY=VALUE`` pairs over it,
            as `--set` on the command line.
    """
    folder = Path(out)
    raw = read_raw(config) if config is not None else {}
    frame = data.rename(columns=str) if isinstance(data, pd.DataFrame) else None
    if frame is not None:
        data = folder / INPUT_FILE
    if isinstance(design_col, list | tuple):
        design_col = ",".join(map(str, design_col))
    given = {
        "task.name": task,
        "data.path": None if data is None else str(data),
        "data.space": space,
        "data.design_col": design_col,
        "data.score_col": score_col,
        "data.minimize": minimize or None,
        "data.objectives": [parse_objective(text) for text in objectives] if objectives else None,
        "data.constraints": [parse_constraint(text) for text in constraints] if constraints else None,
        "data.unlabeled": None if unlabeled is None else str(unlabeled),
        "run.out": str(folder),
    }
    checked = from_mapping(
        GenmboConfig, with_overrides(with_values(raw, given), overrides), source="genmbo.design"
    )
    if checked.task.name is None and checked.data.path is None:
        raise ConfigError("genmbo.design: give data (a DataFrame or a file) or a task")
    if checked.run.out != str(folder):
        raise ConfigError("genmbo.design: name the output folder with out=, not with run.out")
    # Only a checked config writes anything: the folder, then the DataFrame the run will read.
    prepare_output_folder(folder)
    if frame is not None:
        write_atomic(folder / INPUT_FILE, lambda path: frame.to_parquet(path, index=False))
    with showing_progress(progress):
        return run_design(checked, folder)
