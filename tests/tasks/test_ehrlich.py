"""Tests for the Ehrlich functions of Stanton et al. (2024), arXiv:2407.00236."""

import itertools

import pytest
import torch

from genmbo.tasks.ehrlich import EhrlichFunction


def _products_of_levels(num_motifs: int, quantization: int) -> torch.Tensor:
    """Every value prod_i h_i can take when each h_i is in {0, 1/q, ..., 1}."""
    levels = [j / quantization for j in range(quantization + 1)]
    return torch.tensor(
        sorted(
            {
                float(torch.tensor(c, dtype=torch.float64).prod())
                for c in itertools.product(levels, repeat=num_motifs)
            }
        )
    )


def _zero_transition(f: EhrlichFunction) -> tuple[int, int]:
    """Some pair (a, b) with A[a, b] == 0."""
    a, b = (f.transition_matrix == 0).nonzero()[0].tolist()
    return a, b


@pytest.mark.parametrize(
    ("num_states", "dim", "num_motifs", "motif_length", "quantization", "epistasis_factor"),
    [
        (4, 8, 2, 2, None, 0.0),
        (5, 10, 2, 3, 1, 0.0),
        (6, 12, 2, 3, None, 0.0),
        (8, 12, 2, 4, 2, 0.0),
        (32, 32, 2, 4, 4, 0.0),
        (20, 256, 4, 8, 4, 1.5),
        (32, 64, 4, 4, None, -1.0),
        (4, 3, 3, 1, None, 0.0),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_optimum_is_feasible_and_scores_exactly_one(
    num_states, dim, num_motifs, motif_length, quantization, epistasis_factor, seed
):
    f = EhrlichFunction(num_states, dim, num_motifs, motif_length, quantization, seed, epistasis_factor)
    x_star = f.optimal_solution()
    assert x_star.shape == (dim,) and x_star.dtype == torch.long
    assert bool(f.is_feasible(x_star[None])[0])
    assert float(f(x_star[None])[0]) == 1.0
    assert torch.equal(f.motif_presence(x_star[None]), torch.ones(1, num_motifs, dtype=torch.float64))


def test_transition_matrix_is_sparse_banded_and_ergodic():
    f = EhrlichFunction(num_states=32, dim=32, num_motifs=2, motif_length=4, seed=3)
    a = f.transition_matrix
    assert a.shape == (32, 32)
    torch.testing.assert_close(a.sum(-1), torch.ones(32, dtype=a.dtype))
    assert bool((a.diagonal() > 0).all()), "repeats must always be feasible"
    # Band half-width int(0.4 * 32) = 12: each row allows its 25-wide band, plus maybe its own state.
    nonzeros = (a > 0).sum(-1)
    assert bool(((nonzeros == 25) | (nonzeros == 26)).all())
    # Ergodic: some power of the support is positive (Wielandt: (n - 1)^2 + 1 = 962 <= 1024).
    reach = (a > 0).double()
    for _ in range(10):
        reach = (reach @ reach).clamp(max=1.0)
    assert bool((reach > 0).all())
    pi = f.initial_distribution
    assert bool((pi > 0).all())
    torch.testing.assert_close(pi @ a, pi)


def test_samples_are_feasible_and_score_on_the_quantized_grid():
    f = EhrlichFunction(num_states=32, dim=32, num_motifs=2, motif_length=4, seed=0)
    x = f.sample(4000, torch.Generator().manual_seed(0))
    assert x.shape == (4000, 32) and x.dtype == torch.long
    assert bool(f.is_feasible(x).all())
    y = f(x)
    assert y.dtype == torch.get_default_dtype()
    assert bool(((y >= 0) & (y <= 1)).all())
    assert float((y < 1).float().mean()) > 0.99, "random DMP draws should rarely solve the task"
    grid = _products_of_levels(2, 4).to(y.dtype)
    assert bool(torch.isclose(y[:, None], grid[None, :]).any(-1).all())
    assert len(y.unique()) > 2, "the offline data should spread over several levels"


def test_sampling_is_reproducible_and_empty_draw_works():
    f = EhrlichFunction(num_states=20, dim=16, num_motifs=2, motif_length=4, seed=0)
    x1 = f.sample(64, torch.Generator().manual_seed(5))
    x2 = f.sample(64, torch.Generator().manual_seed(5))
    assert torch.equal(x1, x2)
    assert f.sample(0, torch.Generator()).shape == (0, 16)


def test_infeasible_sequence_scores_minus_infinity():
    # The paper (and holo's ``Ehrlich.evaluate_true``) sets f(x) = -inf outside the feasible set.
    f = EhrlichFunction(num_states=32, dim=32, num_motifs=2, motif_length=4, seed=0)
    a, b = _zero_transition(f)
    x = f.optimal_solution().clone()
    x[10], x[11] = a, b  # insert the zero-probability transition a -> b
    assert not bool(f.is_feasible(x[None])[0])
    assert float(f(x[None])[0]) == float("-inf")
    # Uniformly random sequences almost always contain a forbidden transition.
    u = torch.randint(0, 32, (256, 32), generator=torch.Generator().manual_seed(0))
    assert float(torch.isinf(f(u)).float().mean()) > 0.9
    assert bool((f(u)[f.is_feasible(u)] >= 0).all())


def test_same_seed_same_function_different_seed_different_function():
    kwargs = {"num_states": 32, "dim": 32, "num_motifs": 2, "motif_length": 4}
    f1, f2, g = (
        EhrlichFunction(**kwargs, seed=11),
        EhrlichFunction(**kwargs, seed=11),
        EhrlichFunction(**kwargs, seed=12),
    )
    for name in ("transition_matrix", "initial_distribution", "motifs", "spacings"):
        assert torch.equal(getattr(f1, name), getattr(f2, name)), name
    assert not torch.equal(f1.transition_matrix, g.transition_matrix)
    assert not (torch.equal(f1.motifs, g.motifs) and torch.equal(f1.spacings, g.spacings))
    x = f1.sample(256, torch.Generator().manual_seed(0))
    assert torch.equal(f1(x), f2(x))
    assert not torch.equal(f1(x), g(x))


def test_hand_checked_tiny_instance():
    f = EhrlichFunction(num_states=6, dim=10, num_motifs=2, motif_length=3, seed=3)
    # The instance drawn by seed 3 (pinned: a change means the random stream changed).
    assert f.motifs.tolist() == [[1, 0, 3], [3, 3, 4]]
    assert f.spacings.tolist() == [[0, 2, 3], [0, 1, 3]]
    forbidden = {tuple(p) for p in (f.transition_matrix == 0).nonzero().tolist()}
    assert forbidden == {(0, 4), (1, 5), (2, 0), (3, 1), (4, 3), (5, 2)}
    # Motif 1 wants x[l] = 1, x[l+2] = 0, x[l+3] = 3; motif 2 wants x[l] = 3, x[l+1] = 3, x[l+3] = 4.
    x = torch.tensor(
        [
            [2] * 10,  # no element of either motif anywhere: h = (0, 0)
            [3] * 10,  # motif 1: only its last element (3) matches: 1/3; motif 2: 3, 3 match: 2/3
            [1, 1, 0, 3, 3, 3, 3, 3, 3, 3],  # motif 1 at l=0: 1, 0, 3 -> 1; motif 2 best 3, 3, _: 2/3
            [1, 1, 0, 3, 3, 3, 3, 4, 4, 4],  # the optimum: motif 1 at l=0, motif 2 at l=4 -> (1, 1)
            [5, 5, 0, 5, 4, 4, 4, 4, 4, 4],  # motif 1: x[2] = 0 only: 1/3; motif 2: x[l+3] = 4 only: 1/3
            [1, 1, 0, 3, 3, 3, 3, 4, 3, 3],  # motifs complete but 4 -> 3 is forbidden: infeasible
        ]
    )
    h = torch.tensor(
        [[0, 0], [1 / 3, 2 / 3], [1, 2 / 3], [1, 1], [1 / 3, 1 / 3], [1, 1]], dtype=torch.float64
    )
    torch.testing.assert_close(f.motif_presence(x), h)
    assert f.is_feasible(x).tolist() == [True, True, True, True, True, False]
    expected = torch.tensor([0.0, 2 / 9, 2 / 3, 1.0, 1 / 9, float("-inf")])
    torch.testing.assert_close(f(x), expected.to(torch.get_default_dtype()))
    assert f.optimal_solution().tolist() == x[3].tolist()
    # q = 1: a motif counts only when complete, so partial matches score 0.
    f1 = EhrlichFunction(num_states=6, dim=10, num_motifs=2, motif_length=3, quantization=1, seed=3)
    assert torch.equal(f1.motifs, f.motifs) and torch.equal(f1.spacings, f.spacings)
    torch.testing.assert_close(f1(x), torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0, float("-inf")]))


@pytest.mark.parametrize("quantization", [1, 2, 4])
def test_quantization_floors_the_matched_fraction(quantization):
    full = EhrlichFunction(num_states=8, dim=24, num_motifs=2, motif_length=4, seed=2)
    f = EhrlichFunction(num_states=8, dim=24, num_motifs=2, motif_length=4, quantization=quantization, seed=2)
    # The quantization does not enter the random draws, so both share motifs and spacings.
    assert torch.equal(f.motifs, full.motifs) and torch.equal(f.spacings, full.spacings)
    x = torch.cat(
        [
            f.sample(500, torch.Generator().manual_seed(0)),
            torch.randint(0, 8, (500, 24), generator=torch.Generator().manual_seed(1)),
        ]
    )
    # h_q = floor(q * count / k) / q, with h_k = count / k the unquantized fraction.
    expected = torch.floor(full.motif_presence(x) * quantization + 1e-9) / quantization
    torch.testing.assert_close(f.motif_presence(x), expected)
    y = f(x)
    feasible = f.is_feasible(x)
    grid = _products_of_levels(2, quantization).to(y.dtype)
    assert bool(torch.isclose(y[feasible, None], grid[None, :]).any(-1).all())
    assert bool(torch.isinf(y[~feasible]).all())


def test_quantization_levels_for_each_match_count():
    # k = 4, q = 2: 0 or 1 matched elements -> 0, 2 or 3 -> 1/2, 4 -> 1.
    f = EhrlichFunction(num_states=8, dim=8, num_motifs=1, motif_length=4, quantization=2, seed=0)
    m, s = f.motifs[0], f.spacings[0]
    other = next(v for v in range(8) if v not in m.tolist())
    rows = []
    for count in range(5):
        x = torch.full((8,), other)
        x[s[:count]] = m[:count]
        rows.append(x)
    h = f.motif_presence(torch.stack(rows))[:, 0]
    assert h.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]


def test_epistasis_response():
    kwargs = {"num_states": 20, "dim": 32, "num_motifs": 2, "motif_length": 4, "seed": 4}
    plain, f = EhrlichFunction(**kwargs), EhrlichFunction(**kwargs, epistasis_factor=2.0)
    x = plain.sample(1000, torch.Generator().manual_seed(0))
    h = plain.motif_presence(x)
    response = h * (1 + 2.0 * h * (h - 1))  # holo's cubic response, r(0) = 0 and r(1) = 1
    torch.testing.assert_close(f(x), response.prod(-1).to(torch.get_default_dtype()))
    torch.testing.assert_close(plain(x), h.prod(-1).to(torch.get_default_dtype()))
    assert bool((f(x) <= plain(x)).all()), "a positive factor penalises partly present motifs"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_states": 32, "dim": 7, "num_motifs": 2, "motif_length": 4},  # 8 motif elements > 7 positions
        {"num_states": 32, "dim": 16, "num_motifs": 4, "motif_length": 8},
        {
            "num_states": 32,
            "dim": 16,
            "num_motifs": 2,
            "motif_length": 4,
            "quantization": 3,
        },  # 3 does not divide 4
        {"num_states": 32, "dim": 16, "num_motifs": 2, "motif_length": 4, "quantization": 8},
        {"num_states": 32, "dim": 16, "num_motifs": 2, "motif_length": 4, "quantization": 0},
        {"num_states": 3, "dim": 16, "num_motifs": 2, "motif_length": 4},  # too few states for a sparse band
        {"num_states": 32, "dim": 0, "num_motifs": 1, "motif_length": 1},
        {"num_states": 32, "dim": 16, "num_motifs": 0, "motif_length": 4},
        {"num_states": 32, "dim": 16, "num_motifs": 2, "motif_length": 0},
        {"num_states": 32.0, "dim": 16, "num_motifs": 2, "motif_length": 4},
        {"num_states": 32, "dim": 16, "num_motifs": 2, "motif_length": 4, "epistasis_factor": 3.5},
        {"num_states": 32, "dim": 16, "num_motifs": 2, "motif_length": 4, "epistasis_factor": -2.0},
        {"num_states": 32, "dim": 16, "num_motifs": 2, "motif_length": 4, "seed": -1},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ValueError):
        EhrlichFunction(**kwargs)


def test_bad_inputs_raise():
    f = EhrlichFunction(num_states=8, dim=12, num_motifs=2, motif_length=4)
    for bad in (
        torch.zeros(12, dtype=torch.long),  # not `n x dim`
        torch.zeros(3, 11, dtype=torch.long),
        torch.zeros(3, 12),  # float states
        torch.full((3, 12), 8),  # state out of range
        torch.full((3, 12), -1),
    ):
        with pytest.raises(ValueError):
            f(bad)
        with pytest.raises(ValueError):
            f.is_feasible(bad)
