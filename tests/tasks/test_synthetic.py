import math

import numpy as np
import pytest
import torch

from genmbo.tasks import get_task
from genmbo.tasks.synthetic import SyntheticTask


def test_known_values_of_the_negated_functions():
    # Ackley at the optimum is 0; Rosenbrock(0,...,0) = sum_{i<d} (1 - 0)^2 = d - 1; Levy(1,...,1) = 0.
    assert abs(get_task("ackley-4").oracle([(0.0,) * 4])[0]) < 1e-12
    assert get_task("rosenbrock-4").oracle([(0.0,) * 4])[0] == pytest.approx(-3.0)
    assert abs(get_task("levy-5").oracle([(1.0,) * 5])[0]) < 1e-12
    # Ackley(1, 1): 20 + e - 20 exp(-0.2) - e^{cos 2 pi} = 20 + e - 20 exp(-0.2) - e.
    ackley_at_ones = 20 - 20 * math.exp(-0.2 * 1.0)
    assert get_task("ackley-2").oracle([(1.0, 1.0)])[0] == pytest.approx(-ackley_at_ones)


def test_data_is_uniform_in_the_box_seeded_and_scored_exactly():
    task = SyntheticTask("levy", 3, num_points=500, seed=1)
    designs = np.array(task.full_dataset.designs)
    assert designs.shape == (500, 3) and designs.min() >= -10 and designs.max() <= 10
    np.testing.assert_allclose(task.oracle(task.full_dataset.designs[:20]), task.full_dataset.scores[:20])
    again = SyntheticTask("levy", 3, num_points=500, seed=1)
    assert again.full_dataset.designs == task.full_dataset.designs
    assert np.all(task.full_dataset.scores <= 0)


def test_out_of_box_designs_score_nan():
    task = get_task("ackley-2")
    assert np.isnan(task.oracle([(40.0, 0.0)])[0])
    assert len(task.offline_dataset()) == 5_000


def test_visible_data_is_standardized_by_its_own_statistics():
    task = get_task("levy-4")
    visible = task.offline_dataset()
    encoded = visible.encoded()
    assert torch.allclose(encoded.mean(0), torch.zeros(4), atol=1e-4)
    assert torch.allclose(encoded.std(0), torch.ones(4), atol=1e-3)
    assert task.space.parse(visible.designs[0]) == visible.designs[0]
