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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from genmbo.runtime.cache import cache_folder
from genmbo.runtime.progress import showing_progress

log = logging.getLogger(__name__)


@dataclass
class _Lent:
    process: Any
    threads: int


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
    _lent = _Lent(process, threads)
    torch.set_num_threads(threads - 1)
    try:
        yield True
    except BaseException:
        process.terminate()
        raise
    finally:
        process.join()
        if process.exitcode:
            log.debug("background work ended with exit code %s; it is computed again", process.exitcode)
        _lent = None
        torch.set_num_threads(threads)


def reclaim_lent_core() -> None:
    """Give the foreground its thread back if the child of `lending_a_core` has ended (else nothing)."""
    if _lent is not None and not _lent.process.is_alive() and torch.get_num_threads() < _lent.threads:
        torch.set_num_threads(_lent.threads)


def _child(work: Callable[[], Any]) -> None:
    torch.set_num_threads(1)
    try:
        with showing_progress(False):
            work()
    except BaseException:  # noqa: BLE001 - the foreground computes it again; no traceback on its stderr
        os._exit(1)
