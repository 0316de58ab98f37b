import numpy as np
import pytest

from genmbo.data.splits import normalize_scores, percentile_cut, visible_mask


def test_cut_is_inclusive_like_design_bench():
    scores = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert percentile_cut(scores, 50) == 3.0
    np.testing.assert_array_equal(visible_mask(scores, 50), [True, True, True, False, False])


@pytest.mark.parametrize("percentile", [10, 50, 80, 100])
def test_no_visible_score_above_and_every_hidden_score_above_the_cut(percentile):
    scores = np.random.default_rng(0).normal(size=1001)
    mask = visible_mask(scores, percentile)
    cut = percentile_cut(scores, percentile)
    assert scores[mask].max() <= cut
    assert np.all(scores[~mask] > cut)
    assert abs(mask.mean() - percentile / 100) < 0.01


def test_bad_percentile():
    with pytest.raises(ValueError):
        percentile_cut(np.arange(3.0), 0)


def test_normalization_uses_given_full_min_and_max():
    np.testing.assert_allclose(normalize_scores(np.array([2.0, 4.0, 6.0]), 2.0, 6.0), [0.0, 0.5, 1.0])
