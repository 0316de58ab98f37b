"""Chunks of slow work go to forked workers and come back in order; fast work stays in the process."""

import os
import sys
import time

import pytest

from genmbo.runtime import workers
from genmbo.runtime.workers import chunk_results

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked on Linux only")


def squares_and_pids(chunk: list[int]) -> list[tuple[int, int]]:
    time.sleep(0.01)
    return [(item * item, os.getpid()) for item in chunk]


def test_slow_chunks_are_done_by_workers_in_order(monkeypatch) -> None:
    monkeypatch.setattr(workers, "CHUNK", 4)
    monkeypatch.setattr(workers, "ALONE_S", 0.005)  # the 10 ms sleep makes every chunk slow
    results = list(chunk_results(squares_and_pids, range(30), processes=2))
    assert [len(chunk) for chunk in results] == [4] * 7 + [2]
    flat = [pair for chunk in results for pair in chunk]
    assert [square for square, _ in flat] == [item * item for item in range(30)]
    pids = {pid for chunk in results[2:] for _, pid in chunk}
    assert {pid for chunk in results[:2] for _, pid in chunk} == {os.getpid()}  # timed here
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_fast_work_and_one_process_stay_here(monkeypatch) -> None:
    monkeypatch.setattr(workers, "CHUNK", 4)
    fast = list(chunk_results(lambda chunk: [os.getpid() for _ in chunk], range(30), processes=2))
    assert {pid for chunk in fast for pid in chunk} == {os.getpid()}
    monkeypatch.setattr(workers, "ALONE_S", 0.0)
    alone = list(chunk_results(squares_and_pids, range(10), processes=1))
    assert {pid for chunk in alone for _, pid in chunk} == {os.getpid()}
    assert list(chunk_results(squares_and_pids, [], processes=2)) == []


def test_an_error_in_a_worker_reaches_the_caller(monkeypatch) -> None:
    monkeypatch.setattr(workers, "CHUNK", 2)
    monkeypatch.setattr(workers, "ALONE_S", 0.0)

    def fails_on_seven(chunk: list[int]) -> list[int]:
        if 7 in chunk:
            raise ValueError("seven")
        return chunk

    with pytest.raises(ValueError, match="seven"):
        list(chunk_results(fails_on_seven, range(20), processes=2))
