"""Work done in a forked process on one of the run's cores, lent by the foreground until the work ends.

A molecular campaign's first run computes measures of its offline designs (fingerprints of every one, realism
figures of samples) that need only the data, with RDKit on one core, while torch sits on the others; training
the surrogate, meanwhile, gains little from its second core (its small matrix products run 1.4 times faster on
two threads than on one). `lending_a_core(work)` runs `work` in a forked child with one torch thread, beside
the block, and takes one thread from the foreground for as long as the child runs: every trainer
(`genmbo.models.training`) between steps and every campaign stage (`genmbo.campaign.pipeline.Stopwatch`) at
its start call `reclaim_lent_core`, which gives the thread back once the child has ended, and leaving the
block waits for the child. The child's only channel is the content-addressed cache (`genmbo.runtime.cache`):
it files what it computed, and the foreground reads it later as it would read a second run's entries, so a
child that fails or is killed costs time, never a result. With one thread, without the cache, or off Linux
(elsewhere a fork after torch's threads have started is not safe, and a spawned process would import
everything again), the block runs alone and the work is left to whoever needs its results.

A fork copies only the forking thread; a lock another thread held at that moment (in an allocator, a
thread pool, a library's registry) stays held in the child, which then waits on it forever. Such a child
uses no CPU at all, where a working one uses a whole core, so the foreground treats a child whose CPU time
has not moved for `STALL_SECONDS` as deadlocked: it kills it, takes its thread back and, since the child's
work only ever filled the cache, computes what it would have filed itself, as after any failed child.

OpenMP takes the thread count of the thread that opens a parallel region, so the count is changed only
from the foreground's own thread (between training steps), never from a watcher thread. The child sets
its own count to one before any torch call, as PyTorch's data-loader workers do after a fork.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genmbo.runtime.cache import cache_folder
from genmbo.runtime.progress import showing_progress

log = logging.getLogger(__name__)


# A child whose CPU time has not moved for this long is deadlocked (module docstring); a working child is
# CPU-bound, and even on a machine loaded three processes to a core it gets a time slice every second.
STALL_SECONDS = 30.0
RESUME_GAP_SECONDS = 5.0


@dataclass
class _Lent:
    process: Any
    threads: int
    # Set by the first look, which the long gap since `checked_at` makes a fresh start.
    cpu_ticks: int | None = None
    moved_at: float = 0.0
    checked_at: float = 0.0

    def stalled(self) -> bool:
        """Whether the child's CPU time has not moved for `STALL_SECONDS` (read at most once a second)."""
        now = time.monotonic()
        if now - self.checked_at < 1.0:
            return False
        # A long gap between looks means nobody looked (the whole job stopped, as by Ctrl-Z or a scheduler's
        # suspend, or a long step): the child's idle time is counted from now, not from before the gap.
        resumed = now - self.checked_at > RESUME_GAP_SECONDS
        self.checked_at = now
        ticks = _cpu_ticks(self.process.pid)
        if resumed or ticks is None or ticks != self.cpu_ticks:
            self.cpu_ticks, self.moved_at = ticks, now
            return False
        return now - self.moved_at > STALL_SECONDS

    def stop_if_stalled(self) -> None:
        if self.process.is_alive() and self.stalled():
            log.warning(
                "background work used no CPU for %.0f s (deadlocked after the fork); it was stopped and is "
                "computed in the foreground",
                STALL_SECONDS,
            )
            self.process.kill()
            self.process.join()


_lent: _Lent | None = None


def can_lend(threads: int) -> bool:
    """Whether `lending_a_core` would start a child for a foreground of `threads` torch threads."""
    return threads >= 2 and cache_folder() is not None and sys.platform.startswith("linux")


@contextlib.contextmanager
def lending_a_core(work: Callable[[], Any], enabled: bool = True) -> Iterator[bool]:
    """Run the block beside `work` (module docstring) unless not `enabled`; yields whether a child was
    started."""
    global _lent
    threads = torch.get_num_threads()
    if not enabled or _lent is not None or not can_lend(threads):
        yield False
        return
    process = multiprocessing.get_context("fork").Process(target=_child, args=(work,), daemon=True)
    process.start()
    _lent = lent = _Lent(process, threads)
    torch.set_num_threads(threads - 1)
    try:
        yield True
    except BaseException:
        process.terminate()
        raise
    finally:
        while process.is_alive():
            process.join(timeout=1.0)
            lent.stop_if_stalled()
        if process.exitcode:
            log.debug("background work ended with exit code %s; it is computed again", process.exitcode)
        _lent = None
        torch.set_num_threads(threads)


def reclaim_lent_core() -> None:
    """Give the foreground its thread back if the child of `lending_a_core` has ended or is stopped as
    deadlocked (else nothing)."""
    if _lent is None or torch.get_num_threads() >= _lent.threads:
        return
    _lent.stop_if_stalled()
    if not _lent.process.is_alive():
        torch.set_num_threads(_lent.threads)


def _cpu_ticks(pid: int) -> int | None:
    """User plus system CPU time of a process in clock ticks (Linux's /proc), None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of proc(5)


def _child(work: Callable[[], Any]) -> None:
    torch.set_num_threads(1)
    try:
        with showing_progress(False):
            work()
    except BaseException:  # noqa: BLE001 - the foreground computes it again; no traceback on its stderr
        os._exit(1)
