import numpy as np
import pytest
import torch

from genmbo.errors import InvalidDesign
from genmbo.spaces.continuous import ContinuousSpace


def test_fit_standardizes_and_decode_inverts():
    data = [(0.0, 10.0), (2.0, 30.0)]
    space = ContinuousSpace(2).fit(data)
    encoded = space.encode(data)
    np.testing.assert_allclose(encoded.numpy(), [[-1, -1], [1, 1]], atol=1e-6)
    np.testing.assert_allclose(space.decode(encoded), data, atol=1e-5)


def test_decode_clips_to_the_bounds():
    space = ContinuousSpace(2, lower=[-1, 0], upper=[1, 2])
    assert space.decode(torch.tensor([[5.0, -5.0]])) == [(1.0, 0.0)]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ((1.0,), "wrong vector dimension"),
        ((np.nan, 0.0), "NaN or infinite"),
        ((3.0, 0.0), "outside the bounds"),
        (("a", 1), "not a numeric vector"),
    ],
)
def test_rejections(raw, reason):
    with pytest.raises(InvalidDesign, match=reason):
        ContinuousSpace(2, -2.0, 2.0).parse(raw)


def test_text_vectors_parse():
    assert ContinuousSpace(3).parse("1, 2.5 -3") == (1.0, 2.5, -3.0)


def test_constant_coordinate_keeps_unit_scale():
    space = ContinuousSpace(2).fit([(1.0, 5.0), (3.0, 5.0)])
    assert space.std[1] == 1.0
