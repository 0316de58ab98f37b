"""Turn a raw table into an `OfflineDataset`: row problems are skipped and counted, never fatal.

Rules: a row whose design the space rejects is skipped under the space's reason (unparseable SMILES,
tokens outside the alphabet, ...); a NaN or infinite score is skipped; exact duplicate designs (same
canonical form) are merged into one row with their mean score. With several objectives, a row must have a
finite value for every one: a row missing any is skipped and counted under the first objective it lacks
(a surrogate per objective could use it, but the Pareto metrics and the scalar ranking need all of them).
Whole-file problems (every score NaN, nothing left, vectors of different lengths) raise `DataError`.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice
from typing import Any

import numpy as np
import torch

from genmbo.data.objectives import Constraint, Objective, ObjectiveTable
from genmbo.data.offline import CleaningReport, OfflineDataset
from genmbo.data.reading import RawTable
from genmbo.errors import DataError, InvalidDesign
from genmbo.runtime.progress import track
from genmbo.spaces.base import DesignSpace

ProgressCallback = Callable[[int], None]
# Rows a worker parses at a time: large enough that sending them costs little beside parsing them (a
# molecule takes about half a millisecond), small enough that a table of a few chunks is spread out.
PARSE_CHUNK = 2048
# A chunk parsed faster than this is not worth sending to workers (sequences and vectors: a few hundredths
# of a second; pickling the rows both ways would cost more than parsing them).
PARSE_ALONE_S = 0.25


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
    rows: Iterable[tuple[int, Any]], space: DesignSpace, report: CleaningReport, processes: int | None = None
) -> Iterator[tuple[int, Any, Hashable]]:
    """``(index, design, key)`` for each ``(index, raw)`` of `rows` that `space` parses: the canonical
    design and its `space.key`; a row it rejects is counted in `report` under the space's reason.

    Rows are parsed in chunks of `PARSE_CHUNK`. The first is parsed here; when it took longer than
    `PARSE_ALONE_S`, as molecules do (RDKit and a SELFIES round trip, about half a millisecond a row), the
    rest are parsed by `processes` forked worker processes (default `parsing_processes()`). Results come
    back in row order, so the designs, keys and report are those of parsing one row after another."""
    processes = parsing_processes() if processes is None else processes
    chunks = _chunks(rows, PARSE_CHUNK)
    started = time.perf_counter()
    first = _parse_chunk(space, next(chunks, []))
    slow = time.perf_counter() - started > PARSE_ALONE_S
    if processes > 1 and slow:
        rest = _parsed_in_processes(space, chunks, processes)
    else:
        rest = (_parse_chunk(space, chunk) for chunk in chunks)
    for chunk in chain([first], rest):
        for index, design, key, reason in chunk:
            if reason is not None:
                report.skip(reason)
            else:
                yield index, design, key


def parsing_processes() -> int:
    """Worker processes for parsing: torch's thread count, which a campaign sets to the cores it may use
    (`genmbo.runtime.threads`), on Linux; one elsewhere, where forking a process that has started
    threads is not safe (`genmbo.runtime.background` forks on the same terms)."""
    return torch.get_num_threads() if sys.platform.startswith("linux") else 1


def _chunks(rows: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


ParsedRow = tuple[int, Any, Hashable, str | None]


def _parse_chunk(space: DesignSpace, chunk: list[tuple[int, Any]]) -> list[ParsedRow]:
    """``(index, design, key, None)`` for a row `space` parses, ``(index, None, None, reason)`` otherwise."""
    parsed: list[ParsedRow] = []
    for index, raw in chunk:
        try:
            design = space.parse(raw)
        except InvalidDesign as problem:
            parsed.append((index, None, None, problem.reason))
            continue
        parsed.append((index, design, space.key(design), None))
    return parsed


_worker_space: DesignSpace | None = None


def _start_worker(space: DesignSpace) -> None:
    global _worker_space
    _worker_space = space
    torch.set_num_threads(1)  # as PyTorch's data-loader workers do after a fork
    # Ctrl-C and SIGTERM are the parent's to handle (it stops the pool); a worker leaves without a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _parse_in_worker(chunk: list[tuple[int, Any]]) -> list[ParsedRow]:
    assert _worker_space is not None
    return _parse_chunk(_worker_space, chunk)


def _parsed_in_processes(
    space: DesignSpace, chunks: Iterable[list[tuple[int, Any]]], processes: int
) -> Iterator[list[ParsedRow]]:
    """Each chunk's `_parse_chunk`, in order, from `processes` forked workers; at most two chunks per
    worker are in flight, so the rows are read (and a progress bar advances) as they are parsed."""
    context = multiprocessing.get_context("fork")
    workers = ProcessPoolExecutor(processes, context, initializer=_start_worker, initargs=(space,))
    with workers as pool:
        pending: deque[Future[list[ParsedRow]]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(_parse_in_worker, chunk))
                if len(pending) >= 2 * processes:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


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
