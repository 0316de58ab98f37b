"""How many threads torch computes with: the cores this process may use that other work leaves free.

Torch starts with one thread per core. Two campaigns on a 2-core machine then run four busy threads on two
cores, and their spin-waiting makes each several times slower than sharing the cores would (on the 2-core
development machine a main job beside two others used 1,538 s of CPU over 27 minutes; alone it takes
under 3 minutes). `run.threads: auto` (the default) therefore
takes the cores of the process's CPU affinity minus those busy elsewhere at the start of the run, at least
one; a number sets it outright. When ``OMP_NUM_THREADS`` is set, torch's own count (which follows it) is
kept: the user or the scheduler has decided.

Busy elsewhere: on Linux, the runnable threads of the whole machine (``/proc/loadavg``'s fourth field) less
this process's own runnable ones (``/proc/self/task``), the median of five looks 50 ms apart; elsewhere the
1-minute load average. It is a
snapshot: work that starts later is not seen.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import torch

LOOKS = 5
LOOK_INTERVAL_S = 0.05


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def busy_elsewhere() -> float:
    """About how many cores other work keeps busy now (see the module docstring)."""
    loadavg = Path("/proc/loadavg")
    if not loadavg.is_file():
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    counts = []
    for look in range(LOOKS):
        if look:
            time.sleep(LOOK_INTERVAL_S)
        running = int(loadavg.read_text().split()[3].split("/")[0])
        counts.append(running - _own_running_threads())
    return max(0.0, statistics.median(counts))


def _own_running_threads() -> int:
    """This process's threads that are runnable now (the one reading among them), at least 1."""
    running = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            # The state follows the parenthesized command name, which may itself hold spaces.
            running += stat.read_text().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):
            continue
    return max(1, running)


def chosen_threads(setting: int | Literal["auto"]) -> int:
    """The thread count for `setting`: the number itself, or for "auto" the free cores (at least 1), or
    torch's own count when ``OMP_NUM_THREADS`` is set."""
    if setting != "auto":
        return int(setting)
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    return max(1, usable_cores() - round(busy_elsewhere()))


@contextlib.contextmanager
def computing_threads(setting: int | Literal["auto"]) -> Iterator[int]:
    """Run the block with `chosen_threads(setting)` torch threads, restoring the previous count after."""
    previous = torch.get_num_threads()
    count = chosen_threads(setting)
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(previous)
