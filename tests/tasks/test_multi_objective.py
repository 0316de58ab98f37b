"""Multi-objective tasks: the Pareto-aware split, the oracle's objectives and the hypervolume figures."""

import numpy as np
import pytest
import torch
from botorch.test_functions.multi_objective import BraninCurrin

from genmbo.benchmark.evaluation import oracle_metrics
from genmbo.metrics.pareto import pareto_front
from genmbo.tasks import get_task
from genmbo.tasks.multi_objective import hidden_fronts_mask


def test_hidden_fronts_take_whole_fronts_until_the_share():
    values = np.array(
        [[3, 1], [1, 3], [2, 2], [1, 1], [2, 0.5], [0.5, 0.5], [0, 0], [-1, -1], [-2, -2], [-3, -3]]
    )
    # fronts: {0,1,2}, {3,4}, {5}, {6}, {7}, {8}, {9}
    assert hidden_fronts_mask(values, 0.3).tolist() == [True] * 3 + [False] * 7
    assert hidden_fronts_mask(values, 0.4).tolist() == [True] * 5 + [False] * 5  # the 2nd front whole
    assert hidden_fronts_mask(values, 0.1).sum() == 3


def test_branin_currin_split_and_oracle():
    task = get_task("branin-currin")
    full = task.full_objectives
    visible = task.offline_dataset(0)
    assert 0.4 <= 1 - len(visible) / len(full.values) < 0.45
    # No visible design is on the full front, and every full-front design is hidden.
    front = pareto_front(torch.as_tensor(full.values))
    visible_values = torch.as_tensor(visible.objectives.values)
    assert not (visible_values.unsqueeze(1) == front.unsqueeze(0)).all(-1).any()
    # The visible data are scaled by their own range; their scalar scores are their scalarization.
    np.testing.assert_allclose(visible.objectives.low, visible.objectives.values.min(0))
    np.testing.assert_allclose(visible.scores, visible.objectives.scalarized())
    assert visible.objectives.minimize == (True, True)
    # The oracle: BoTorch's exact values, maximized (both objectives negated), NaN for a non-design.
    point = (0.2, 0.7)
    expected = BraninCurrin().evaluate_true(torch.tensor([point], dtype=torch.float64)).numpy()
    values = task.objective_oracle([point, None])
    np.testing.assert_allclose(values[0], -expected[0]) and np.isnan(values[1]).all()


def test_the_full_front_has_normalized_hypervolume_one():
    task = get_task("branin-currin")
    full = task.full_dataset
    front_rows = np.flatnonzero(hidden_fronts_mask(task.full_objectives.values, 0.0))
    metrics = oracle_metrics("branin-currin", [full.designs[row] for row in front_rows])["pareto_oracle"]
    assert metrics["hypervolume_normalized"] == pytest.approx(1.0)
    assert metrics["undominated_share"] == 1.0
    assert 0 < metrics["offline_hypervolume_normalized"] < 1
    visible_rows = np.flatnonzero(task.visible)[:200]
    some = oracle_metrics("branin-currin", [full.designs[row] for row in visible_rows])["pareto_oracle"]
    assert some["hypervolume_normalized"] <= metrics["offline_hypervolume_normalized"] + 1e-12


def test_qed_sa_task_measures_both_objectives_exactly(monkeypatch):
    from rdkit import Chem

    from genmbo.tasks.molecular_oracles import qed, sa_score
    from genmbo.tasks.multi_objective import MoleculeQedSaTask

    monkeypatch.setattr(MoleculeQedSaTask, "FULL_ROWS", 300)  # a small full set keeps the test quick
    task = MoleculeQedSaTask()
    full = task.full_objectives
    assert full.values.shape == (300, 2) and full.minimize == (False, True)
    smiles = task.full_dataset.designs[:3]
    molecules = [Chem.MolFromSmiles(text) for text in smiles]
    np.testing.assert_allclose(full.values[:3, 1], [-sa_score(mol) for mol in molecules])  # SA negated
    np.testing.assert_allclose(full.values[:3, 0], [qed(mol) for mol in molecules], atol=1e-6)  # float32
    values = task.objective_oracle(["OCC", "not a molecule", None])
    ethanol = Chem.MolFromSmiles("CCO")
    np.testing.assert_allclose(values[0], [qed(ethanol), -sa_score(ethanol)])
    assert np.isnan(values[1:]).all() and np.isnan(task.oracle(["not a molecule"])).all()
    assert len(task.offline_dataset(0)) < 300 * 0.6 + 1


def test_ehrlich_pair_splits_one_function_into_two_objectives():
    from genmbo.tasks.multi_objective import EhrlichPairTask

    task = EhrlichPairTask(
        num_states=8, dim=16, motifs_each=1, motif_length=4, quantization=4, num_points=400
    )
    assert task.function.num_motifs == 2
    best = task.space.from_indices(task.function.optimal_solution()[None])
    np.testing.assert_allclose(task.objective_oracle(best), [[1.0, 1.0]])  # one sequence tops both
    designs = task.full_dataset.designs[:20]
    presence = task.function.motif_presence(task.space.to_indices(designs)).numpy()
    np.testing.assert_allclose(task.full_objectives.values[:20], presence)  # one motif per objective
    allowed = task.function.transition_matrix > 0
    bad = next((a, b) for a in range(8) for b in range(8) if not allowed[a, b])
    infeasible = task.space.from_indices(torch.tensor([[bad[0], bad[1]] * 8]))
    assert np.isneginf(task.objective_oracle(infeasible)).all()
    assert get_task("ehrlich-pair-s8-d16-m1-l4-q4").name == "ehrlich-pair-s8-d16-m1-l4-q4"


def test_a_small_data_variant_keeps_its_labeled_rows_objectives():
    task = get_task("branin-currin@n50")
    dataset = task.offline_dataset(3)
    assert len(dataset) == 50 and dataset.objectives is not None
    np.testing.assert_allclose(dataset.objectives.low, dataset.objectives.values.min(0))  # own range
    np.testing.assert_allclose(dataset.scores, dataset.objectives.scalarized())
    base = get_task("branin-currin")
    measured = base.objective_oracle(dataset.designs)
    np.testing.assert_allclose(dataset.objectives.values, measured)
    assert (
        "hypervolume_normalized" in oracle_metrics("branin-currin@n50", dataset.designs[:5])["pareto_oracle"]
    )
