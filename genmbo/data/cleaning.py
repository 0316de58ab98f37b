"""Turn a raw table into an `OfflineDataset`: row problems are skipped and counted, never fatal.

Rules: a row whose design the space rejects is skipped under the space's reason (unparseable SMILES,
tokens outside the alphabet, ...); a NaN or infinite score is skipped; exact duplicate designs (same
canonical form) are merged into one row with their mean score. With several objectives, a row must have a
finite value for every one: a row missing any is skipped and counted under the first objective it lacks
(a surrogate per objective could use it, but the Pareto metrics and the scalar ranking need all of them).
Whole-file problems (every score NaN, nothing left, vectors of different lengths) raise `DataError`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from genmbo.data.objectives import Constraint, Objective, ObjectiveTable
from genmbo.data.offline import CleaningReport, OfflineDataset
from genmbo.data.reading import RawTable
from genmbo.errors import DataError, InvalidDesign
from genmbo.runtime.progress import track
from genmbo.runtime.workers import chunk_results
from genmbo.spaces.base import DesignSpace

ProgressCallback = Callable[[int], None]


def clean(
    table: RawTable,
    space: DesignSpace,
    minimize: bool | tuple[bool, ...] = False,
    progress: ProgressCallback | None = None,
    objectives: Sequence[Objective] | None = None,
    constraints: Sequence[Constraint] = (),
) -> OfflineDataset:
    """Validate every row of `table` in `space`, drop bad rows, merge duplicates, orient scores.

    For a table of several columns (`table.score_names`: the objectives', then the constraints'),
    `objectives` give each objective's direction, weight and desirability (default: `minimize` per
    column, equal weights), and the dataset's `objectives` hold them with the `constraints`."""
    report = CleaningReport(rows_read=len(table.designs))
    values = table.scores.reshape(len(table.scores), -1)
    finite = np.isfinite(values)
    names = table.score_names or ("score",)
    count = len(names) - len(constraints)  # the objectives' columns come first, then the constraints'

    def role(column: int) -> str:
        return "objective" if column < count else "constraint"

    for column, name in enumerate(names):
        if len(values) and not finite[:, column].any():
            what = "every score is" if not table.score_names else f"every value of {role(column)} {name!r} is"
            raise DataError(f"{table.source}: {what} missing, NaN or infinite")
    sums: dict[Any, np.ndarray] = {}
    counts: dict[Any, int] = {}
    canonical: dict[Any, Any] = {}

    def scored_rows() -> Iterator[tuple[int, Any]]:
        for index, raw in enumerate(track(table.designs, "cleaning rows", total=len(table.designs))):
            if progress is not None and index % 10_000 == 0:
                progress(index)
            if finite[index].all():
                yield index, raw
            elif not table.score_names:
                report.skip("NaN or infinite score")
            else:
                missing = int(np.argmin(finite[index]))
                report.skip(f"no value for {role(missing)} {names[missing]!r}")

    for index, design, key in parsed_rows(scored_rows(), space, report):
        if key in sums:
            sums[key] = sums[key] + values[index]
            counts[key] += 1
            report.duplicates_merged += 1
        else:
            sums[key], counts[key], canonical[key] = values[index].copy(), 1, design
    if progress is not None:
        progress(len(table.designs))
    if not sums:
        reasons = report.skip_reasons() or "no rows"
        raise DataError(f"{table.source}: no usable row left after cleaning ({reasons})")
    means = np.stack([sums[key] / counts[key] for key in sums]).astype(np.float64)
    report.rows_kept = len(means)
    designs = [canonical[key] for key in sums]
    if not table.score_names:
        scores = means[:, 0]
        return OfflineDataset(space, designs, -scores if minimize else scores, bool(minimize), report)
    if objectives is None:
        directions = minimize if isinstance(minimize, tuple) else (bool(minimize),) * count
        objectives = [Objective(name, down) for name, down in zip(names[:count], directions, strict=True)]
    table_of = ObjectiveTable.from_objectives(objectives, means[:, :count], constraints, means[:, count:])
    feasible = table_of.measured_feasible()
    if feasible is not None and not feasible.any():
        ranges = ", ".join(f"{item.name} in [{item.low}, {item.high}]" for item in constraints)
        raise DataError(f"{table.source}: no measured row meets every constraint ({ranges})")
    return OfflineDataset(space, designs, table_of.scalarized(), False, report, objectives=table_of)


def parsed_rows(
    rows: Iterable[tuple[int, Any]], space: DesignSpace, report: CleaningReport
) -> Iterator[tuple[int, Any, Hashable]]:
    """``(index, design, key)`` for each ``(index, raw)`` of `rows` that `space` parses: the canonical
    design and its `space.key`; a row it rejects is counted in `report` under the space's reason.

    Rows whose parsing is slow enough (molecules; not sequences or vectors) are parsed by worker processes,
    one per torch thread (`genmbo.runtime.workers`); they come back in order, so the designs, keys and
    report are those of parsing one row after another."""
    for chunk in chunk_results(partial(_parse_chunk, space), rows):
        for index, design, key, reason in chunk:
            if reason is not None:
                report.skip(reason)
            else:
                yield index, design, key


def _parse_chunk(
    space: DesignSpace, chunk: list[tuple[int, Any]]
) -> list[tuple[int, Any, Hashable, str | None]]:
    """``(index, design, key, None)`` for a row `space` parses, ``(index, None, None, reason)`` otherwise."""
    parsed: list[tuple[int, Any, Hashable, str | None]] = []
    for index, raw in chunk:
        try:
            design = space.parse(raw)
        except InvalidDesign as problem:
            parsed.append((index, None, None, problem.reason))
            continue
        parsed.append((index, design, space.key(design), None))
    return parsed


def check_vector_dimensions(table: RawTable) -> int:
    """The common dimension of numeric design rows; vectors of different lengths are a whole-file error."""
    lengths: dict[int, int] = {}
    for raw in table.designs:
        if isinstance(raw, str):
            length = len(raw.replace(",", " ").split())
        elif isinstance(raw, list | tuple | np.ndarray):
            length = len(raw)
        else:
            length = 1
        lengths[length] = lengths.get(length, 0) + 1
    if len(lengths) > 1:
        seen = ", ".join(f"{count} rows of dimension {length}" for length, count in sorted(lengths.items()))
        raise DataError(f"{table.source}: vectors of inconsistent dimension ({seen})")
    return next(iter(lengths))
