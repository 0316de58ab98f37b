"""Work on a lent core: a forked child fills the cache while the foreground computes on one thread fewer,
and gets its thread back when the child has ended."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from genmbo.runtime import background
from genmbo.runtime.background import can_lend, lending_a_core, reclaim_lent_core
from genmbo.runtime.cache import cached_array, content_key

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lending is for Linux")


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def fill_entry(value: float, seconds: float = 0.0) -> None:
    time.sleep(seconds)
    cached_array("toy", content_key("lent", value), lambda: np.full(3, value))


def test_the_child_fills_the_cache_while_the_foreground_has_one_thread_fewer(two_threads):
    with lending_a_core(lambda: fill_entry(7.0, seconds=0.5)) as lent:
        assert lent and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2  # leaving waits for the child and gives the thread back
    # The child filed the entry: the foreground reads it without computing.
    read = cached_array("toy", content_key("lent", 7.0), lambda: pytest.fail("computed again"))
    assert read.tolist() == [7.0, 7.0, 7.0]


def test_the_thread_comes_back_between_steps_once_the_child_has_ended(two_threads):
    with lending_a_core(lambda: None):
        deadline = time.monotonic() + 30
        while torch.get_num_threads() == 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            reclaim_lent_core()  # what trainers and campaign stages call
        assert torch.get_num_threads() == 2


def test_a_failing_child_costs_nothing_but_its_work(two_threads, capfd):
    def fail() -> None:
        raise RuntimeError("boom")

    with lending_a_core(fail) as lent:
        assert lent
    assert torch.get_num_threads() == 2
    assert "Traceback" not in capfd.readouterr().err  # the foreground's stderr stays clean


def deadlock() -> None:
    """What a lock held by another thread at fork time does to the child: wait forever, using no CPU."""
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()


def test_a_deadlocked_child_is_stopped_and_its_thread_comes_back(two_threads, monkeypatch):
    monkeypatch.setattr(background, "STALL_SECONDS", 1.5)
    started = time.monotonic()
    with lending_a_core(deadlock) as lent:
        assert lent
        child = background._lent.process
        deadline = time.monotonic() + 30
        while torch.get_num_threads() == 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            reclaim_lent_core()
        assert torch.get_num_threads() == 2 and not child.is_alive()
    assert time.monotonic() - started < 30


def test_leaving_the_block_stops_a_deadlocked_child(two_threads, monkeypatch):
    monkeypatch.setattr(background, "STALL_SECONDS", 1.5)
    started = time.monotonic()
    with lending_a_core(deadlock):
        child = background._lent.process
    assert not child.is_alive() and torch.get_num_threads() == 2
    assert time.monotonic() - started < 30


def test_a_working_child_is_not_stopped(two_threads, monkeypatch):
    monkeypatch.setattr(background, "STALL_SECONDS", 1.5)

    def busy_then_fill() -> None:
        ends = time.monotonic() + 4  # longer than the stall limit, but never idle
        while time.monotonic() < ends:
            pass
        fill_entry(11.0)

    with lending_a_core(busy_then_fill):
        child = background._lent.process
    assert child.exitcode == 0
    cached_array("toy", content_key("lent", 11.0), lambda: pytest.fail("the child was stopped"))


def test_no_child_on_one_thread_without_a_cache_or_when_disabled(two_threads, monkeypatch):
    pid = os.getpid()

    def must_not_run() -> None:
        if os.getpid() == pid:
            pytest.fail("ran in the foreground")
        os._exit(3)

    with lending_a_core(must_not_run, enabled=False) as lent:
        assert not lent and torch.get_num_threads() == 2
    torch.set_num_threads(1)
    assert not can_lend(1)
    with lending_a_core(must_not_run) as lent:
        assert not lent and torch.get_num_threads() == 1
    monkeypatch.setenv("GENMBO_CACHE_DIR", "off")  # the child's results would have no way back
    assert not can_lend(2)
    assert background._lent is None


def test_idle_time_counts_only_while_the_foreground_looks():
    sleeper = subprocess.Popen(["sleep", "30"])  # a child that uses no CPU
    try:
        lent = background._Lent(sleeper, threads=2)
        assert not lent.stalled()  # the first look only reads the CPU time
        lent.checked_at -= 100  # no look for 100 s (the job was stopped): idle from now on
        lent.moved_at -= 100
        assert not lent.stalled()
        lent.checked_at -= 1.5  # looked 1.5 s ago, idle since long before
        lent.moved_at -= background.STALL_SECONDS + 1
        assert lent.stalled()
    finally:
        sleeper.kill()
        sleeper.wait()
