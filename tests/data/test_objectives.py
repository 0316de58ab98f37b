"""Several objectives: parsing, the Chebyshev scalarization on known values, orientation and cleaning."""

import numpy as np
import pandas as pd
import pytest
import torch

from genmbo.data import load_offline_dataset
from genmbo.data.objectives import ObjectiveTable, chebyshev, parse_objective
from genmbo.errors import ConfigError


def test_parse_objective():
    assert parse_objective("ic50:min") == {"column": "ic50", "direction": "min"}
    assert parse_objective("a:b:max") == {"column": "a:b", "direction": "max"}  # the last colon splits
    for bad in ("ic50", "ic50:up", ":max", "ic50:"):
        with pytest.raises(ConfigError, match="COLUMN:max or COLUMN:min"):
            parse_objective(bad)


def test_chebyshev_on_known_values():
    utilities = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.2, 1.0]])
    weights = torch.tensor([0.5, 0.5])
    # min_j w_j u_j + 0.05 sum_j w_j u_j
    expected = torch.tensor([0.0 + 0.05 * 0.5, 0.25 + 0.05 * 0.5, 0.1 + 0.05 * 0.6])
    torch.testing.assert_close(chebyshev(utilities, weights), expected)
    # one weight vector per row
    per_row = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    expected_rows = torch.tensor([0.0 + 0.05 * 1.0, 0.25 + 0.05 * 0.5, 0.0 + 0.05 * 1.0])
    torch.testing.assert_close(chebyshev(utilities, per_row), expected_rows)
    # a dominated design never scores above its dominator, whatever the positive weights
    dominated, dominator = torch.tensor([[0.4, 0.4]]), torch.tensor([[0.4, 0.6]])
    for w in torch.rand(20, 2) + 0.01:
        assert chebyshev(dominator, w) > chebyshev(dominated, w)


def test_objective_table_orients_scales_and_reports():
    measured = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    table = ObjectiveTable.from_measurements(["a", "b"], [False, True], [1.0, 3.0], measured)
    np.testing.assert_allclose(table.values, [[1, -10], [3, -30], [2, -20]])
    np.testing.assert_allclose(table.weights, [0.25, 0.75])
    np.testing.assert_allclose(table.low, [1, -30]) and np.testing.assert_allclose(table.high, [3, -10])
    # utilities: a (1, 3, 2) -> (0, 1, 0.5); b minimized, (10, 30, 20) -> (1, 0, 0.5)
    utilities = table.utilities(torch.as_tensor(table.values))
    np.testing.assert_allclose(utilities.numpy(), [[0, 1], [1, 0], [0.5, 0.5]])
    expected = [0 + 0.05 * 0.75, 0 + 0.05 * 0.25, 0.125 + 0.05 * 0.5]
    np.testing.assert_allclose(table.scalarized(), expected)
    np.testing.assert_allclose(table.reported(table.values), measured)
    sub = table.rows(np.array([2]))  # a subset keeps the scaling of the whole table
    np.testing.assert_allclose(sub.scalarized(), expected[2:])
    assert table.describe()[1] == {"column": "b", "direction": "min", "weight": 0.75}


def test_cleaning_several_objectives(tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame(
        {
            "smiles": ["CCO", "OCC", "CCN", "C1CC", "CCCC", "c1ccccc1"],
            "potency": [1.0, 3.0, np.nan, 2.0, 4.0, 5.0],
            "toxicity": [0.2, 0.4, 0.1, 0.3, np.nan, 0.9],
        }
    ).to_csv(path, index=False)
    dataset = load_offline_dataset(
        path, "molecules", "smiles", ["potency", "toxicity"], minimize=(False, True), weights=(1.0, 1.0)
    )
    assert dataset.designs == ["CCO", "c1ccccc1"]
    table = dataset.objectives
    assert table is not None and table.names == ("potency", "toxicity")
    np.testing.assert_allclose(table.values, [[2.0, -0.3], [5.0, -0.9]])  # CCO/OCC merged: the means
    report = dataset.report.to_dict()
    assert report["skipped"] == {
        "no value for objective 'potency'": 1,
        "no value for objective 'toxicity'": 1,
        "unparseable SMILES": 1,
    }
    assert report["duplicates_merged"] == 1 and report["rows_kept"] == 2
    np.testing.assert_allclose(dataset.scores, table.scalarized())
    assert dataset.minimize is False
    subset = dataset.subset(np.array([False, True]))
    np.testing.assert_allclose(subset.objectives.values, [[5.0, -0.9]])
