import numpy as np

from genmbo.tasks import get_task


def test_sizes_and_visible_split_follow_design_bench():
    task = get_task("tfbind8")
    visible = task.offline_dataset()
    assert len(task.full_dataset) == 65_792 and len(visible) == 32_898
    # The cut is the median (0.43930); D(best), the best visible score, is the published 0.439.
    assert abs(visible.scores.max() - 0.4393) < 1e-4
    assert visible.scores.max() <= task.visibility_cut
    hidden = task.full_dataset.scores[task.full_dataset.scores > task.visibility_cut]
    assert len(hidden) == 65_792 - 32_898


def test_oracle_is_an_exact_lookup():
    task = get_task("tfbind8")
    designs, scores = task.full_dataset.designs[:500:7], task.full_dataset.scores[:500:7]
    np.testing.assert_array_equal(task.oracle(designs), scores)


def test_oracle_of_invalid_designs_is_nan_and_best_design_scores_one():
    task = get_task("tfbind8")
    best = task.full_dataset.designs[int(np.argmax(task.full_dataset.scores))]
    scores = task.oracle([best, "ACGN", "ACG", None, best.lower()])
    assert scores[0] == 1.0 and scores[4] == 1.0
    assert np.isnan(scores[1:4]).all()


def test_normalization_by_full_min_and_max():
    task = get_task("tfbind8")
    np.testing.assert_allclose(task.normalize(np.array([0.0, 0.5, 1.0])), [0.0, 0.5, 1.0])
