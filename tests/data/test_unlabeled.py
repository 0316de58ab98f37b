"""Unlabeled designs: read from tables and text, parsed in the labeled data's space, bad rows counted."""

import numpy as np
import pandas as pd
import pytest

from genmbo.campaign.inputs import resolve_dataset
from genmbo.config import GenmboConfig, from_mapping
from genmbo.data.offline import OfflineDataset
from genmbo.data.unlabeled import add_unlabeled, read_unlabeled
from genmbo.errors import DataError
from genmbo.spaces import MoleculeSpace, SequenceSpace


def test_text_fasta_and_table_formats(tmp_path):
    (tmp_path / "a.smi").write_text("CCO ethanol\n# a comment\n\nc1ccccc1\n")
    assert read_unlabeled(tmp_path / "a.smi", None) == ["CCO", "c1ccccc1"]
    (tmp_path / "b.fasta").write_text(">one\nACG\nTA\n>two\nGGGG\n")
    assert read_unlabeled(tmp_path / "b.fasta", None) == ["ACGTA", "GGGG"]
    pd.DataFrame({"seq": ["AC", "GT"], "other": [1, 2]}).to_csv(tmp_path / "c.csv", index=False)
    assert read_unlabeled(tmp_path / "c.csv", "seq") == ["AC", "GT"]
    pd.DataFrame({"x0": [1.0, 2.0], "x1": [3.0, 4.0]}).to_parquet(tmp_path / "d.parquet")
    assert read_unlabeled(tmp_path / "d.parquet", "x") == [[1.0, 3.0], [2.0, 4.0]]
    with pytest.raises(DataError, match="name the design column"):
        read_unlabeled(tmp_path / "c.csv", None)
    with pytest.raises(DataError, match="no such file"):
        read_unlabeled(tmp_path / "missing.smi", None)


def test_bad_rows_repeats_and_labeled_designs_are_counted_not_kept():
    space = MoleculeSpace()
    dataset = OfflineDataset(space, [space.parse("CCO")], np.array([1.0]))
    report = add_unlabeled(dataset, ["OCC", "c1ccccc1", "C1=CC=CC=C1", "not a molecule"], "u.smi")
    assert [space.format(design) for design in dataset.unlabeled] == ["c1ccccc1"]
    assert report.rows_read == 4 and report.rows_kept == 1 and report.duplicates_merged == 2
    assert report.rows_skipped == 1
    assert dataset.report.to_dict()["unlabeled"]["rows_kept"] == 1


def test_a_file_with_no_usable_design_is_one_error():
    space = SequenceSpace("ACGT", length=4)
    dataset = OfflineDataset(space, [space.parse("ACGT")], np.array([1.0]))
    with pytest.raises(DataError, match="no usable design"):
        add_unlabeled(dataset, ["XXXX", "AC"], "u.txt")


def test_the_prior_trains_on_labeled_and_unlabeled_rows():
    space = SequenceSpace("ACGT", length=4)
    dataset = OfflineDataset(space, [space.parse("ACGT")], np.array([2.0]), unlabeled=[space.parse("GGGG")])
    rows = dataset.with_unlabeled_rows()
    assert rows.designs == dataset.designs + dataset.unlabeled
    assert rows.scores[0] == 2.0 and np.isnan(rows.scores[1])
    assert dataset.subset(np.array([True])).unlabeled == dataset.unlabeled


def test_unlabeled_letters_join_the_inferred_alphabet_and_labeled_rows_fix_the_length(tmp_path):
    pd.DataFrame({"seq": ["AACG", "CCGA", "GACA"], "y": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "l.csv", index=False
    )
    (tmp_path / "u.txt").write_text("TTAC\nGATT\nACG\n")  # T only here; ACG is too short
    config = from_mapping(
        GenmboConfig,
        {
            "data": {
                "path": str(tmp_path / "l.csv"),
                "space": "sequence",
                "design_col": "seq",
                "score_col": "y",
                "unlabeled": str(tmp_path / "u.txt"),
            }
        },
    )
    dataset, _ = resolve_dataset(config)
    assert dataset.space.alphabet == ["A", "C", "G", "T"] and dataset.space.length == 4
    assert sorted(dataset.unlabeled) == ["GATT", "TTAC"]
    assert dataset.report.unlabeled.rows_skipped == 1
