"""Chunks of slow work go to forked workers and come back in order; fast work stays in the process;
shares of a count are done side by side, one here and the others in workers, each with one torch thread."""

import os
import signal
import sys
import time

import pytest
import torch

from genmbo.runtime import workers
from genmbo.runtime.workers import chunk_results, shard_results

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked on Linux only")


def use_processes(monkeypatch, count: int) -> None:
    monkeypatch.setattr(workers, "worker_processes", lambda: count)


def squares_and_pids(chunk: list[int]) -> list[tuple[int, int]]:
    time.sleep(0.01)
    return [(item * item, os.getpid()) for item in chunk]


def test_slow_chunks_are_done_by_workers_in_order(monkeypatch) -> None:
    monkeypatch.setattr(workers, "CHUNK", 4)
    monkeypatch.setattr(workers, "ALONE_S", 0.005)  # the 10 ms sleep makes every chunk slow
    use_processes(monkeypatch, 2)
    results = list(chunk_results(squares_and_pids, range(30)))
    assert [len(chunk) for chunk in results] == [4] * 7 + [2]
    flat = [pair for chunk in results for pair in chunk]
    assert [square for square, _ in flat] == [item * item for item in range(30)]
    pids = {pid for chunk in results[2:] for _, pid in chunk}
    assert {pid for chunk in results[:2] for _, pid in chunk} == {os.getpid()}  # timed here
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_fast_work_and_one_process_stay_here(monkeypatch) -> None:
    monkeypatch.setattr(workers, "CHUNK", 4)
    use_processes(monkeypatch, 2)
    fast = list(chunk_results(lambda chunk: [os.getpid() for _ in chunk], range(30)))
    assert {pid for chunk in fast for pid in chunk} == {os.getpid()}
    monkeypatch.setattr(workers, "ALONE_S", 0.0)
    use_processes(monkeypatch, 1)
    alone = list(chunk_results(squares_and_pids, range(10)))
    assert {pid for chunk in alone for _, pid in chunk} == {os.getpid()}
    use_processes(monkeypatch, 2)
    assert list(chunk_results(squares_and_pids, [])) == []


def test_an_error_in_a_worker_reaches_the_caller(monkeypatch) -> None:
    monkeypatch.setattr(workers, "CHUNK", 2)
    monkeypatch.setattr(workers, "ALONE_S", 0.0)

    def fails_on_seven(chunk: list[int]) -> list[int]:
        if 7 in chunk:
            raise ValueError("seven")
        return chunk

    use_processes(monkeypatch, 2)
    with pytest.raises(ValueError, match="seven"):
        list(chunk_results(fails_on_seven, range(20)))


def share_report(indices: range) -> tuple[list[int], int, int]:
    return [index * index for index in indices], os.getpid(), torch.get_num_threads()


def test_shares_are_done_side_by_side_in_order_with_one_thread_each(monkeypatch) -> None:
    monkeypatch.setattr(workers, "MIN_SHARD", 4)
    threads = torch.get_num_threads()
    use_processes(monkeypatch, 3)
    results = shard_results(share_report, 14)
    assert [squares for squares, _, _ in results] == [
        [index * index for index in range(0, 4)],
        [index * index for index in range(4, 9)],
        [index * index for index in range(9, 14)],
    ]
    pids = [pid for _, pid, _ in results]
    assert pids[0] == os.getpid() and len(set(pids)) == 3
    assert {used for _, _, used in results} == {1}
    assert torch.get_num_threads() == threads  # restored


def test_small_counts_and_one_process_stay_here(monkeypatch) -> None:
    monkeypatch.setattr(workers, "MIN_SHARD", 4)
    threads = torch.get_num_threads()
    for count, processes in [(7, 2), (40, 1), (0, 2)]:
        use_processes(monkeypatch, processes)
        (only,) = shard_results(share_report, count)
        assert only == ([index * index for index in range(count)], os.getpid(), threads)
    # Three shares of at least 4 items in 14: never more processes than that.
    use_processes(monkeypatch, 8)
    assert len(shard_results(share_report, 14)) == 3


def test_an_error_in_a_share_reaches_the_caller(monkeypatch) -> None:
    monkeypatch.setattr(workers, "MIN_SHARD", 2)

    def fails_in_the_last_share(indices: range) -> list[int]:
        if 9 in indices:
            raise ValueError("nine")
        return list(indices)

    threads = torch.get_num_threads()
    use_processes(monkeypatch, 2)
    with pytest.raises(ValueError, match="nine"):
        shard_results(fails_in_the_last_share, 10)
    assert torch.get_num_threads() == threads


def test_an_error_here_stops_the_workers_at_once(monkeypatch) -> None:
    import multiprocessing

    monkeypatch.setattr(workers, "MIN_SHARD", 2)

    def fails_here_while_workers_sleep(indices: range) -> list[int]:
        if 0 in indices:
            raise KeyboardInterrupt
        time.sleep(30)
        return list(indices)

    # A handler that only notes SIGTERM (Lightning's does) is what a worker forked a moment ago still runs.
    use_processes(monkeypatch, 3)
    previous = signal.signal(signal.SIGTERM, lambda *args: None)
    started = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            shard_results(fails_here_while_workers_sleep, 6)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert time.perf_counter() - started < 10 and not multiprocessing.active_children()


def test_shares_align_to_batches(monkeypatch) -> None:
    monkeypatch.setattr(workers, "MIN_SHARD", 4)
    use_processes(monkeypatch, 3)
    shares = shard_results(lambda indices: indices, 23, align=5)
    assert shares == [range(0, 5), range(5, 15), range(15, 23)]
