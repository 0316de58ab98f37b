"""Every bad input of the foundation issue, section 3: whole-file problems stop, row problems are counted."""

import numpy as np
import pandas as pd
import pytest

from genmbo.data import load_offline_dataset
from genmbo.errors import DataError


def write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def write_csv(path, rows, columns=("smiles", "score")):
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_molecule_csv_rows_are_skipped_and_counted(tmp_path):
    path = write_csv(
        tmp_path / "mols.csv",
        [
            ("CCO", 1.0),
            ("OCC", 3.0),  # same molecule as CCO: merged, mean score 2.0
            ("C1CC", 5.0),  # unparseable SMILES
            ("c1ccccc1", float("nan")),  # NaN score
            ("CCN", float("inf")),  # infinite score
            ("CC(=O)O", 0.5),
        ],
    )
    dataset = load_offline_dataset(path, "molecules", "smiles", "score")
    assert dict(zip(dataset.designs, dataset.scores, strict=True)) == {"CCO": 2.0, "CC(=O)O": 0.5}
    report = dataset.report.to_dict()
    assert report["rows_read"] == 6 and report["rows_kept"] == 2 and report["duplicates_merged"] == 1
    assert report["skipped"] == {"NaN or infinite score": 2, "unparseable SMILES": 1}


def test_minimize_negates_scores_and_reports_them_back(tmp_path):
    path = write_csv(tmp_path / "mols.csv", [("CCO", 1.0), ("CCC", 4.0)])
    dataset = load_offline_dataset(path, "molecules", "smiles", "score", minimize=True)
    assert dataset.best()[0] == ["CCO"]
    np.testing.assert_array_equal(dataset.reported_scores(), [1.0, 4.0])


def test_sequences_outside_the_alphabet_are_counted(tmp_path):
    path = write_csv(tmp_path / "dna.csv", [("ACGT", 1.0), ("ACGN", 2.0), ("TTTT", 0.5)], ("seq", "y"))
    dataset = load_offline_dataset(path, "sequence", "seq", "y", alphabet="dna")
    assert dataset.designs == ["ACGT", "TTTT"]
    assert dataset.report.skipped == {"tokens outside the alphabet": 1}
    assert dataset.space.length == 4


def test_continuous_columns_by_prefix_parquet(tmp_path):
    frame = pd.DataFrame(
        {"x0": [0.0, 1.0, np.nan], "x1": [2.0, 3.0, 1.0], "x10": [1.0, 1.0, 1.0], "f": [1, 2, 3]}
    )
    frame.to_parquet(tmp_path / "v.parquet")
    dataset = load_offline_dataset(tmp_path / "v.parquet", "continuous", "x", "f")
    assert dataset.space.dim == 3 and len(dataset) == 2
    assert dataset.report.skipped == {"NaN or infinite coordinate": 1}
    # x10 comes after x1, not between x1 and x2: numeric order of the suffix.
    assert dataset.designs[0] == (0.0, 2.0, 1.0)


def test_npy_pair(tmp_path):
    np.save(tmp_path / "x.npy", np.array([[0, 1, 2], [3, 3, 3], [0, 1, 2]]))
    np.save(tmp_path / "y.npy", np.array([[1.0], [2.0], [3.0]]))
    dataset = load_offline_dataset(f"{tmp_path / 'x.npy'},{tmp_path / 'y.npy'}", "continuous")
    assert len(dataset) == 2 and dataset.report.duplicates_merged == 1
    assert dict(zip(dataset.designs, dataset.scores, strict=True))[(0.0, 1.0, 2.0)] == 2.0


@pytest.mark.parametrize(
    ("make", "space", "columns", "message"),
    [
        (lambda d: d / "missing.csv", "molecules", ("smiles", "score"), "missing.csv: no such file"),
        (lambda d: write(d / "a.xlsx", "x"), "molecules", ("smiles", "score"), "unknown data format '.xlsx'"),
        (
            lambda d: write_csv(d / "m.csv", [("CCO", 1.0)]),
            "molecules",
            ("smile", "score"),
            "no column 'smile' (did you mean 'smiles'?); columns are: smiles, score",
        ),
        (lambda d: write_csv(d / "m.csv", [("CCO", 1.0)]), "molecules", ("smiles", "y"), "no column 'y'"),
        (
            lambda d: write_csv(d / "m.csv", [("C1CC", 1.0), ("xx", 2.0)]),
            "molecules",
            ("smiles", "score"),
            "no usable row left after cleaning (2 unparseable SMILES)",
        ),
        (
            lambda d: write_csv(d / "m.csv", [("CCO", None), ("CC", None)]),
            "molecules",
            ("smiles", "score"),
            "every score is missing, NaN or infinite",
        ),
        (lambda d: write(d / "e.csv", ""), "molecules", ("smiles", "score"), "the file is empty"),
        (lambda d: write(d / "h.csv", "smiles,score\n"), "molecules", ("smiles", "score"), "no data rows"),
        (lambda d: write(d / "g.csv", bytes(range(256)) * 8), "molecules", ("smiles", "score"), "g.csv: "),
        (
            lambda d: write_csv(d / "v.csv", [("1 2", 1.0), ("1 2 3", 2.0)], ("v", "y")),
            "continuous",
            ("v", "y"),
            "vectors of inconsistent dimension (1 rows of dimension 2, 1 rows of dimension 3)",
        ),
        (
            lambda d: write(d / "p.parquet", b"PAR1garbage"),
            "molecules",
            ("smiles", "score"),
            "cannot read as PARQUET",
        ),
        (
            lambda d: write_csv(d / "m.csv", [("CCO", 1.0)]),
            "proteins",
            ("smiles", "score"),
            "unknown design space 'proteins'",
        ),
    ],
)
def test_whole_file_problems_raise_one_line(tmp_path, make, space, columns, message):
    path = make(tmp_path)
    with pytest.raises(DataError) as caught:
        load_offline_dataset(path, space, *columns)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_npy_without_its_scores_file(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    with pytest.raises(DataError, match="needs its scores file"):
        load_offline_dataset(tmp_path / "x.npy", "continuous")
    np.save(tmp_path / "y.npy", np.zeros(2))
    with pytest.raises(DataError, match="3 designs but y.npy has 2 scores"):
        load_offline_dataset(f"{tmp_path / 'x.npy'},{tmp_path / 'y.npy'}", "continuous")


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.zeros(1))
    with pytest.raises(DataError, match="cannot read as .npy"):
        load_offline_dataset(f"{tmp_path / 'x.npy'},{tmp_path / 'y.npy'}", "continuous")
