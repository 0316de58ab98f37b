"""Torch's thread count: the cores other work leaves free, a number when given, OMP_NUM_THREADS kept."""

import torch

from genmbo.runtime import threads


def machine(monkeypatch, cores, busy):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: cores)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: busy)


def test_auto_takes_the_free_cores_and_at_least_one(monkeypatch):
    machine(monkeypatch, 2, 0.0)
    assert threads.chosen_threads("auto") == 2
    machine(monkeypatch, 2, 1.0)  # one other CPU-bound job
    assert threads.chosen_threads("auto") == 1
    machine(monkeypatch, 2, 3.0)  # more work than cores
    assert threads.chosen_threads("auto") == 1
    machine(monkeypatch, 16, 4.4)
    assert threads.chosen_threads("auto") == 12


def test_a_number_is_kept_and_omp_num_threads_wins_over_auto(monkeypatch):
    machine(monkeypatch, 2, 1.0)
    assert threads.chosen_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads.chosen_threads("auto") == torch.get_num_threads()


def test_the_count_holds_inside_the_block_and_is_restored_after(monkeypatch):
    machine(monkeypatch, 2, 0.0)
    before = torch.get_num_threads()
    with threads.computing_threads(2) as count:
        assert count == 2 and torch.get_num_threads() == 2
    assert torch.get_num_threads() == before


def test_the_machine_is_read_without_error():
    assert threads.usable_cores() >= 1 and threads.busy_elsewhere() >= 0
