"""Desirability transforms on hand-computed values (REINVENT4's forms)."""

import math

import pytest
import torch

from genmbo.data.desirability import Desirability


def test_sigmoid_and_reverse_sigmoid_known_values():
    sigmoid = Desirability("sigmoid", low=2.0, high=6.0, k=0.5)
    values = torch.tensor([2.0, 4.0, 6.0, 5.0], dtype=torch.float64)
    # 1 / (1 + 10^(-10 k (x - 4) / 4)): at low 10^2.5, at the middle 1, at high 10^-2.5
    expected = [1 / (1 + 10**2.5), 0.5, 1 / (1 + 10**-2.5), 1 / (1 + 10**-1.25)]
    torch.testing.assert_close(sigmoid(values), torch.tensor(expected, dtype=torch.float64))
    reverse = Desirability("reverse_sigmoid", low=2.0, high=6.0, k=0.5)
    torch.testing.assert_close(reverse(values), 1 - sigmoid(values))


def test_double_sigmoid_is_a_window():
    window = Desirability("double_sigmoid", low=1.0, high=3.0, coef_div=3.0, coef_si=10.0, coef_se=10.0)
    x = torch.tensor([2.0, -5.0, 9.0, 1.0], dtype=torch.float64)
    values = window(x)
    # a / (a + 10^(se low / div)) - c / (c + 10^(si high / div)), a = 10^(se x / div), c = 10^(si x / div)
    a, c = 10 ** (10 * 1.0 / 3), 10 ** (10 * 1.0 / 3)
    at_low = a / (a + 10 ** (10 * 1.0 / 3)) - c / (c + 10 ** (10 * 3.0 / 3))
    assert values[0] > 0.99 and values[1] < 1e-6 and values[2] < 1e-6
    assert values[3].item() == pytest.approx(at_low)
    assert ((values >= 0) & (values <= 1)).all()


def test_step_is_one_inside_the_closed_range():
    step = Desirability("step", low=1.0, high=2.0)
    torch.testing.assert_close(step(torch.tensor([0.5, 1.0, 1.5, 2.0, 2.5])), torch.tensor([0.0, 1, 1, 1, 0]))
    below = Desirability("step", high=0.0)
    torch.testing.assert_close(below(torch.tensor([-1.0, 1.0])), torch.tensor([1.0, 0.0]))


def test_sigmoid_is_differentiable():
    sigmoid = Desirability("sigmoid", low=0.0, high=1.0)
    x = torch.tensor([0.5], requires_grad=True)
    sigmoid(x).sum().backward()
    # d/dx sigmoid(ln10 * 10 k (x - 0.5)) at the middle: ln10 * 5 / 4
    assert x.grad.item() == pytest.approx(math.log(10) * 5 / 4)


@pytest.mark.parametrize(
    "kind, low, high",
    [
        ("sigmoid", 3.0, 1.0),
        ("sigmoid", None, 1.0),
        ("double_sigmoid", 1.0, 1.0),
        ("step", None, None),
        ("step", 2, 1),
    ],
)
def test_bad_parameters_are_refused(kind, low, high):
    with pytest.raises(ValueError):
        Desirability(kind, low=low, high=high)
