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

Work whose every item is slow and mostly torch, such as drawing and decoding prior samples, is better
split once: `shard_results(work, count)` gives each of the processes one contiguous share of the indices,
the first done in this process and the others in forked workers (one process each, forked before this
process goes on) at the same time, all with one torch thread, so no core's threads wait on another's (two
OpenMP threads beside a busy worker spin) and the networks run at one thread's better efficiency. `work`
reads its inputs by index from what the fork copied, so nothing but its results is pickled; an error in
any share, or Ctrl-C, kills the workers still running.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice, pairwise
from typing import Any, TypeVar

import torch

from genmbo.runtime.progress import silence_progress

Item = TypeVar("Item")
Result = TypeVar("Result")

# Items per chunk: enough that sending them costs little beside the work on them, few enough that a
# table of a few chunks is spread out.
CHUNK = 2048
# Work whose second chunk is done faster than this stays in the process.
ALONE_S = 0.25
# `shard_results` splits only counts that give every process at least this many items: below it a
# fork costs more than the second core gives back.
MIN_SHARD = 2048


def worker_processes() -> int:
    """Torch's thread count, which a campaign sets to the cores it may use (`genmbo.runtime.threads`), on
    Linux; one elsewhere."""
    return torch.get_num_threads() if sys.platform.startswith("linux") else 1


def chunk_results(work: Callable[[list[Item]], Result], items: Iterable[Item]) -> Iterator[Result]:
    """``work(chunk)`` for each chunk of `CHUNK` consecutive `items`, in order, in up to
    `worker_processes()` processes (see the module docstring)."""
    processes = worker_processes()
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


def shard_results(work: Callable[[range], Result], count: int, align: int = 1) -> list[Result]:
    """``work(indices)`` for contiguous shares of ``range(count)``, one per process, in order (see the
    module docstring); each share but the last starts and ends at a multiple of `align`. One share, done
    here with torch's threads as they are, when `worker_processes()` is 1 or the shares would be smaller
    than `MIN_SHARD`. An error in any share, or Ctrl-C, stops every worker."""
    processes = max(1, min(worker_processes(), count // MIN_SHARD))
    if processes == 1:
        return [work(range(count))]
    units = -(-count // align)
    bounds = [min(count, align * (units * share // processes)) for share in range(processes + 1)]
    shares = [range(start, stop) for start, stop in pairwise(bounds)]
    context = multiprocessing.get_context("fork")
    workers = []
    for share in shares[1:]:  # every worker forked before this process does anything else
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(target=_share_in_worker, args=(work, share, sender), daemon=True)
        worker.start()
        sender.close()
        workers.append((worker, receiver))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        first = work(shares[0])
        return [first, *(_share_result(worker, receiver) for worker, receiver in workers)]
    except BaseException:
        # SIGKILL: a worker forked a moment ago may still run a handler of this process's that only
        # notes a SIGTERM (Lightning's does), and the workers hold nothing that needs cleaning up.
        for worker, _ in workers:
            worker.kill()
        raise
    finally:
        torch.set_num_threads(threads)
        for worker, receiver in workers:
            worker.join()
            receiver.close()


def _share_in_worker(work: Callable[[range], Any], share: range, sender: Any) -> None:
    _start_worker(work)
    try:
        outcome = (True, work(share))
    except BaseException as error:
        outcome = (False, error)
    try:
        sender.send(outcome)
    except Exception as error:  # an outcome that does not pickle: what went wrong still reaches the parent
        sender.send((False, RuntimeError(f"{type(error).__name__}: {error}")))


def _share_result(worker: Any, receiver: Any) -> Any:
    try:
        succeeded, value = receiver.recv()
    except EOFError:
        raise RuntimeError(
            f"a worker process ended without its result (exit code {worker.exitcode})"
        ) from None
    if not succeeded:
        raise value
    return value


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


_work: Callable[[Any], Any] | None = None


def _start_worker(work: Callable[[Any], Any]) -> None:
    global _work
    _work = work
    silence_progress()
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _work_in_worker(chunk: Any) -> Any:
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
