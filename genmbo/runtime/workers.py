"""Per-item Python work on a long list, in chunks, spread over forked worker processes when it is slow.

Parsing a molecule (RDKit canonicalization and an exact SELFIES round trip) takes about half a millisecond
and turning one into SELFIES tokens a fifth of that, all in Python and RDKit, one molecule at a time; a
million molecules keep one core busy for minutes while torch's other threads wait. `chunk_results(work,
items)` calls ``work(chunk)`` on consecutive chunks of `CHUNK` items and yields the results in order. It
does the first two chunks itself (the first may pay for one-time set-up, such as loading a table) and,
when the second took longer than `ALONE_S` and there are more, hands the rest to forked worker processes,
at most two chunks each in flight, so the items are read (and a progress bar advances) as they are done.
Cheap work (parsing sequences or vectors, looking up precomputed tokens) stays in the process: sending
its items to a worker and back would cost more than doing it.

The workers are forked with `work` (nothing of it is pickled), set torch to one thread as PyTorch's
data-loader workers do after a fork, and leave Ctrl-C and SIGTERM to the parent, which stops them; they
return their results by pickling, so `work` returns plain Python or NumPy values. On Linux only: elsewhere
a fork after torch's threads have started is not safe (`genmbo.runtime.background` forks on the same
terms), and the chunks are done one after another here.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")

# Items per chunk: enough that sending them costs little beside the work on them, few enough that a
# table of a few chunks is spread out.
CHUNK = 2048
# Work whose second chunk is done faster than this stays in the process.
ALONE_S = 0.25


def worker_processes() -> int:
    """Torch's thread count, which a campaign sets to the cores it may use (`genmbo.runtime.threads`), on
    Linux; one elsewhere."""
    return torch.get_num_threads() if sys.platform.startswith("linux") else 1


def chunk_results(
    work: Callable[[list[Item]], Result], items: Iterable[Item], processes: int | None = None
) -> Iterator[Result]:
    """``work(chunk)`` for each chunk of `CHUNK` consecutive `items`, in order (see the module docstring);
    `processes` defaults to `worker_processes()`."""
    processes = worker_processes() if processes is None else processes
    chunks = _chunks(items, CHUNK)
    slow = False
    for chunk in islice(chunks, 2):
        started = time.perf_counter()
        result = work(chunk)
        slow = time.perf_counter() - started > ALONE_S
        yield result
    if processes > 1 and slow:
        yield from _in_workers(work, chunks, processes)
    else:
        yield from (work(chunk) for chunk in chunks)


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


_work: Callable[[list[Any]], Any] | None = None


def _start_worker(work: Callable[[list[Any]], Any]) -> None:
    global _work
    _work = work
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _work_in_worker(chunk: list[Any]) -> Any:
    assert _work is not None
    return _work(chunk)


def _in_workers(
    work: Callable[[list[Item]], Result], chunks: Iterable[list[Item]], processes: int
) -> Iterator[Result]:
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(processes, context, initializer=_start_worker, initargs=(work,))
    with pool:
        pending: deque[Future[Result]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(_work_in_worker, chunk))
                if len(pending) >= 2 * processes:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
