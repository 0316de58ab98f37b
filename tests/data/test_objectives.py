"""Several objectives: parsing, the Chebyshev scalarization on known values, orientation and cleaning."""

import numpy as np
import pandas as pd
import pytest
import torch

from genmbo.data import load_offline_dataset
from genmbo.data.desirability import Desirability
from genmbo.data.objectives import (
    Constraint,
    ConstraintTable,
    Objective,
    ObjectiveTable,
    chebyshev,
    parse_constraint,
    parse_objective,
)
from genmbo.errors import ConfigError, DataError


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
        path, "molecules", "smiles", ["potency", "toxicity"], minimize=(False, True)
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


def test_parse_constraint():
    assert parse_constraint("mw::500") == {"column": "mw", "high": 500.0}
    assert parse_constraint("logp:1:3") == {"column": "logp", "low": 1.0, "high": 3.0}
    assert parse_constraint("a:b:-1:") == {"column": "a:b", "low": -1.0}
    for bad in ("mw", "mw:500", "mw::", "::5", "mw:x:5"):
        with pytest.raises(ConfigError, match="COLUMN:LOW:HIGH"):
            parse_constraint(bad)


def test_constraints_penalize_and_judge_feasibility_on_known_values():
    measured = np.array([[100.0], [300.0], [600.0]])  # span 500
    constraints = ConstraintTable.from_measurements([Constraint("mw", low=200.0, high=500.0)], measured)
    values = torch.as_tensor(measured)
    torch.testing.assert_close(
        constraints.violation(values), torch.tensor([0.2, 0.0, 0.2], dtype=torch.float64)
    )
    torch.testing.assert_close(
        constraints.penalty(values), torch.tensor([1.25, 0.0, 1.25], dtype=torch.float64)
    )
    np.testing.assert_array_equal(constraints.measured_feasible(), [False, True, False])
    # feasible only when mean -+ kappa * std stays inside [200, 500]
    mean, std = torch.tensor([[300.0], [300.0], [450.0]]), torch.tensor([[10.0], [150.0], [40.0]])
    assert constraints.feasible(mean, std, kappa=1.0).tolist() == [True, False, True]
    assert constraints.feasible(mean, std, kappa=2.0).tolist() == [True, False, False]


def test_infeasible_rows_score_below_every_feasible_one():
    measured = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.9], [0.1, 0.1]])
    mass = np.array([[1.0], [1.0], [5.0], [1.0]])  # the best design breaks mass <= 2
    table = ObjectiveTable.from_objectives(
        [Objective("a"), Objective("b")], measured, [Constraint("mass", high=2.0)], mass
    )
    plain = ObjectiveTable.from_measurements(["a", "b"], [False, False], [1.0, 1.0], measured).scalarized()
    scores = table.scalarized()
    np.testing.assert_allclose(scores[[0, 1, 3]], plain[[0, 1, 3]])
    assert scores[2] == pytest.approx(plain[2] - (1.05 + 3.0 / 4.0))  # 1 + rho + distance 3 over span 4
    assert scores[2] < scores[[0, 1, 3]].min()
    masked = table.feasible_values(torch.as_tensor(table.values), table.measured_feasible())
    assert torch.isinf(masked[2]).all() and torch.isfinite(masked[[0, 1, 3]]).all()
    sub = table.rows(np.array([2, 3]))  # a subset keeps its constraint values and spans
    np.testing.assert_allclose(sub.scalarized(), scores[[2, 3]])
    assert table.describe_constraints() == [{"column": "mass", "low": None, "high": 2.0}]


def test_a_desirability_objective_is_its_transform_of_the_measured_column():
    measured = np.array([[1.0, 2.0], [2.0, 0.0], [3.0, 6.0]])
    window = Desirability("sigmoid", low=0.0, high=4.0)
    table = ObjectiveTable.from_objectives([Objective("a"), Objective("logp", desirability=window)], measured)
    expected = window(torch.as_tensor(measured[:, 1])).numpy()
    np.testing.assert_allclose(table.values[:, 1], expected)
    np.testing.assert_allclose(table.surrogate_targets[:, 1], measured[:, 1])  # surrogates learn logp itself
    # a desirability is scaled by its own range [0, 1], not the data's
    np.testing.assert_allclose(table.low, [1.0, 0.0])
    np.testing.assert_allclose(table.high, [3.0, 1.0])
    np.testing.assert_allclose(table.maximized(measured), table.values)
    assert table.describe()[1]["desirability"] == {"kind": "sigmoid", "low": 0.0, "high": 4.0, "k": 0.5}
    np.testing.assert_allclose(table.rows(np.array([2])).surrogate_targets, measured[[2]])


def test_cleaning_with_a_constraint_counts_rows_missing_it(tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame(
        {
            "smiles": ["CCO", "CCN", "CCCC", "c1ccccc1"],
            "a": [1.0, 2.0, 3.0, 4.0],
            "mw": [46.0, np.nan, 58.0, 600.0],
        }
    ).to_csv(path, index=False)
    dataset = load_offline_dataset(
        path,
        "molecules",
        "smiles",
        ["a", "mw"],
        objectives=[Objective("a")],
        constraints=[Constraint("mw", high=500.0)],
    )
    assert dataset.report.to_dict()["skipped"] == {"no value for constraint 'mw'": 1}
    table = dataset.objectives
    assert table.names == ("a",) and table.constraints.names == ("mw",)
    np.testing.assert_array_equal(table.measured_feasible(), [True, True, False])
    assert dataset.scores[2] < dataset.scores[:2].min()  # the best measured a, but too heavy
    with pytest.raises(DataError, match="no measured row meets every constraint"):
        load_offline_dataset(
            path,
            "molecules",
            "smiles",
            ["a", "mw"],
            objectives=[Objective("a")],
            constraints=[Constraint("mw", high=1.0)],
        )


def test_with_one_objective_a_slightly_infeasible_best_still_scores_below_every_feasible_design():
    measured = np.array([[0.0], [1.0], [0.5]])  # the best breaks c <= 1 by a hundredth of the span
    table = ObjectiveTable.from_objectives(
        [Objective("a")], measured, [Constraint("c", high=1.0)], np.array([[0.0], [1.01], [10.0]])
    )
    scores = table.scalarized()
    assert scores[1] < scores[0] == 0.0 and scores[2] < scores[1]


def test_a_step_the_data_never_reach_keeps_its_own_scale():
    step = Desirability("step", low=10.0)
    table = ObjectiveTable.from_objectives(
        [Objective("a"), Objective("b", desirability=step)], np.array([[1.0, 1.0], [2.0, 3.0]])
    )
    np.testing.assert_allclose(table.values[:, 1], [0.0, 0.0])
    inside = table.utilities(table.objective_values(torch.tensor([[1.5, 12.0]], dtype=torch.float64)))
    torch.testing.assert_close(inside, torch.tensor([[0.5, 1.0]], dtype=torch.float64))  # not 1 / 1e-12
