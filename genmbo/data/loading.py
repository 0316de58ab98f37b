"""Load a user's offline dataset in one call: read the file, build its design space, clean the rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genmbo.data.cleaning import ProgressCallback, check_vector_dimensions, clean
from genmbo.data.objectives import Constraint, Objective
from genmbo.data.offline import OfflineDataset
from genmbo.data.reading import read_table
from genmbo.errors import DataError
from genmbo.spaces import SPACE_KINDS, ContinuousSpace, DesignSpace, MoleculeSpace, SequenceSpace


def load_offline_dataset(
    data: str | Path,
    space: str | DesignSpace,
    design_columns: Sequence[str] | str | None = None,
    score_column: str | Sequence[str] | None = None,
    minimize: bool | tuple[bool, ...] = False,
    score_path: str | Path | None = None,
    alphabet: str | Sequence[str] | None = None,
    bounds: tuple[float, float] | None = None,
    progress: ProgressCallback | None = None,
    unlabeled: Sequence[Any] = (),
    objectives: Sequence[Objective] | None = None,
    constraints: Sequence[Constraint] = (),
) -> OfflineDataset:
    """Read `data` and return its cleaned designs and scores (higher is better).

    Args:
        space: a space kind ("molecules", "sequence", "continuous") to build from the data, or a ready
            `DesignSpace` (for example a pretrained prior's, so its vocabulary is respected).
        alphabet: for sequences, a named ("dna", "protein") or explicit alphabet; inferred if omitted.
        bounds: for vectors, a box ``(lower, upper)`` applied to every coordinate.
        unlabeled: raw unmeasured designs (`genmbo.data.unlabeled`) that shape an inferred sequence
            space beside the labeled ones: the alphabet is inferred from both, and so is the longest
            length of variable-length sequences. Whether sequences have one fixed length is the labeled
            rows' call, so an unlabeled one of another length is later skipped, not made a new space.
        score_column, minimize: one score column and whether it is minimized; or, for several objectives,
            their columns and a direction per column; and then the columns of any `constraints`.
        objectives, constraints: each objective's direction, weight and desirability, and the ranges the
            constraint columns must lie in (`genmbo.data.objectives`); `objectives` replaces `minimize`.
    """
    table = read_table(data, design_columns, score_column, score_path)
    if isinstance(space, DesignSpace):
        return clean(table, space, minimize, progress, objectives, constraints)
    if space not in SPACE_KINDS:
        raise DataError(f"unknown design space {space!r}; choose one of {', '.join(SPACE_KINDS)}")
    if space == "molecules":
        return clean(table, MoleculeSpace(), minimize, progress, objectives, constraints)
    if space == "sequence":
        lengths = {len(raw) for raw in table.designs if isinstance(raw, str | list | tuple)}
        fixed_length = lengths.pop() if len(lengths) == 1 else None
        every_design = [*table.designs, *unlabeled]
        if alphabet is None:
            sequence_space = SequenceSpace.from_data(every_design, length=fixed_length)
        else:
            longest = max((len(raw) for raw in every_design if isinstance(raw, str)), default=1)
            sequence_space = SequenceSpace(alphabet, length=fixed_length, max_length=longest)
        return clean(table, sequence_space, minimize, progress, objectives, constraints)
    dim = check_vector_dimensions(table)
    lower, upper = bounds if bounds is not None else (None, None)
    dataset = clean(table, ContinuousSpace(dim, lower, upper), minimize, progress, objectives, constraints)
    dataset.space = dataset.space.fit(dataset.designs)
    return dataset
