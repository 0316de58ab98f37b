"""Parsing rows in worker processes gives exactly what parsing them one after another gives."""

import sys

import numpy as np
import pytest

from genmbo.data.cleaning import clean, parsed_rows
from genmbo.data.offline import CleaningReport
from genmbo.data.reading import RawTable
from genmbo.runtime import workers
from genmbo.spaces.molecules import MoleculeSpace

# Valid, invalid and duplicate molecules (duplicates in other chunks of 3 rows), and a NaN score.
SMILES = ["CCO", "C1CC", "c1ccccc1", "OCC", "CC(=O)O", "", "CCN", "N#N", "c1ccccc1", "CCCl", "xyz", "CCO"]
SCORES = np.array([1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_workers_parse_in_row_order_with_the_same_report(monkeypatch) -> None:
    monkeypatch.setattr(workers, "CHUNK", 3)
    monkeypatch.setattr(workers, "ALONE_S", 0.0)  # every first chunk counts as slow
    pools = []
    in_workers = workers._in_workers

    def spy(work, chunks, processes):
        pools.append(processes)
        yield from in_workers(work, chunks, processes)

    monkeypatch.setattr(workers, "_in_workers", spy)
    space = MoleculeSpace()
    reports = {processes: CleaningReport() for processes in (1, 2)}
    rows = {}
    for processes in (1, 2):
        monkeypatch.setattr(workers, "worker_processes", lambda processes=processes: processes)
        rows[processes] = list(parsed_rows(enumerate(SMILES), space, reports[processes]))
    assert pools == [2]  # only the two-process run used workers
    assert rows[2] == rows[1]
    assert [index for index, _, _ in rows[1]] == [0, 2, 3, 4, 6, 7, 8, 9, 11]
    assert reports[2].skipped == reports[1].skipped == {"unparseable SMILES": 3}

    datasets = {}
    for processes in (1, 2):
        monkeypatch.setattr(workers, "worker_processes", lambda processes=processes: processes)
        datasets[processes] = clean(RawTable(SMILES, SCORES, "table"), space)
    assert pools == [2, 2]
    assert datasets[2].designs == datasets[1].designs == ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "N#N", "CCCl"]
    np.testing.assert_array_equal(datasets[2].scores, datasets[1].scores)
    np.testing.assert_array_equal(datasets[1].scores, [6.5, 6.0, 5.0, 7.0, 8.0, 10.0])
    assert datasets[2].report.to_dict() == datasets[1].report.to_dict()
    assert datasets[1].report.to_dict()["skipped"] == {"NaN or infinite score": 1, "unparseable SMILES": 3}
