"""The objectives' surrogates: their scalarization is taken per member, ParEGO weights cycle over rows."""

import numpy as np
import pytest
import torch

from genmbo.config import SurrogateConfig
from genmbo.data.desirability import Desirability
from genmbo.data.objectives import Constraint, Objective, ObjectiveTable, chebyshev
from genmbo.errors import ConfigError
from genmbo.models.surrogates.ensemble import EnsembleSurrogate
from genmbo.models.surrogates.objectives import ObjectiveSurrogates, fit_objective_surrogates
from genmbo.models.surrogates.protocol import Surrogate


def toy_objectives(rows=200, seed=0):
    latents = torch.randn(rows, 2, generator=torch.Generator().manual_seed(seed))
    measured = np.column_stack([latents[:, 0].numpy(), (latents[:, 1] ** 2).numpy()])  # a max, b min
    return latents, ObjectiveTable.from_measurements(["a", "b"], [False, True], [1.0, 1.0], measured)


def untrained(latents, scores, seed):
    torch.manual_seed(seed)
    model = EnsembleSurrogate(2, members=3, hidden_dims=(8,))
    model.fit_standardization(latents, scores)
    return model.eval()


def test_scalarization_is_applied_to_each_member_then_averaged():
    latents, table = toy_objectives()
    surrogates = ObjectiveSurrogates(
        [untrained(latents, torch.as_tensor(table.values[:, j]).float(), j) for j in range(2)], table
    )
    assert isinstance(surrogates, Surrogate)
    points = latents[:7].clone().requires_grad_(True)
    mean, std = surrogates.predict(points)
    members = torch.stack([s.predict_members(points) for s in surrogates.surrogates], -1)  # K x n x m
    scalarized = chebyshev(table.utilities(members), torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(mean, scalarized.mean(0))
    torch.testing.assert_close(std, scalarized.std(0, correction=0))
    mean.sum().backward()
    assert points.grad is not None and torch.isfinite(points.grad).all()  # gradient search can climb it
    objective_mean, objective_std = surrogates.predict_objectives(latents[:7])
    torch.testing.assert_close(objective_mean, members.mean(0).detach())
    assert objective_std.shape == (7, 2) and (objective_std >= 0).all()


def test_spread_cycles_simplex_weights_over_rows():
    latents, table = toy_objectives()
    base = ObjectiveSurrogates(
        [untrained(latents, torch.as_tensor(table.values[:, j]).float(), j) for j in range(2)], table
    )
    spread = base.spread(4, seed=0)
    assert spread.weights.shape == (4, 2)
    torch.testing.assert_close(spread.weights.sum(1), torch.ones(4, dtype=torch.float64))
    assert len({tuple(row.tolist()) for row in spread.weights}) == 4  # four different directions
    members = base.member_predictions(latents[:6])
    rows = torch.tensor([0, 1, 2, 3, 0, 1])  # row i uses weight vector i mod 4
    expected = chebyshev(table.utilities(members), spread.weights[rows]).mean(0)
    torch.testing.assert_close(spread.predict(latents[:6])[0], expected)


def test_fit_gives_each_objective_its_own_trusted_ensemble(tmp_path):
    latents, table = toy_objectives(rows=120)
    config = SurrogateConfig(members=2, hidden_dims=[16], max_steps=60, batch_size=16)
    surrogates = fit_objective_surrogates(latents, table, config, tmp_path, seed=0)
    assert (tmp_path / "objective_0" / "surrogate.ckpt").is_file()
    assert (tmp_path / "objective_1" / "surrogate.ckpt").is_file()
    trust = surrogates.trust
    assert set(trust) == {"a", "b"} and trust["a"]["rows"] == trust["b"]["rows"] == 24
    assert trust["a"]["spearman"] > 0.5  # a linear objective is learned in 60 steps
    with pytest.raises(ConfigError, match="trains one each"):
        fit_objective_surrogates(latents, table, config.model_copy(update={"checkpoint": "x.ckpt"}), tmp_path)


def test_the_search_climbs_spread_weights_unless_one_scalarization_is_asked():
    from genmbo.campaign.pipeline import search_surrogate
    from genmbo.config import SelectionConfig

    latents, table = toy_objectives()
    base = ObjectiveSurrogates(
        [untrained(latents, torch.as_tensor(table.values[:, j]).float(), j) for j in range(2)], table
    )
    spread = search_surrogate(base, SelectionConfig(), pool_size=512, seed=0)
    assert spread.weights.shape == (64, 2)
    assert search_surrogate(base, SelectionConfig(), pool_size=16, seed=0).weights.shape == (16, 2)
    alone = search_surrogate(base, SelectionConfig(scalarizations=1), pool_size=512, seed=0)
    assert alone is base and alone.weights.tolist() == [[0.5, 0.5]]  # the objectives' own weights
    single = untrained(latents, torch.as_tensor(table.values[:, 0]).float(), 0)
    assert search_surrogate(single, SelectionConfig(), 512, 0) is single  # one objective: unchanged


def test_desirability_and_constraint_enter_each_member():
    latents = torch.randn(100, 2, generator=torch.Generator().manual_seed(1))
    measured = np.column_stack([latents[:, 0].numpy(), latents[:, 1].numpy()])
    mass = (latents[:, 0] * 10).numpy()[:, None]
    window = Desirability("double_sigmoid", low=-0.5, high=0.5, coef_div=1.0, coef_si=3.0, coef_se=3.0)
    table = ObjectiveTable.from_objectives(
        [Objective("a"), Objective("b", desirability=window)], measured, [Constraint("mass", high=5.0)], mass
    )
    targets = table.surrogate_targets
    surrogates = ObjectiveSurrogates(
        [untrained(latents, torch.as_tensor(targets[:, j]).float(), j) for j in range(2)],
        table,
        constraint_surrogates=[untrained(latents, torch.as_tensor(mass[:, 0]).float(), 7)],
    )
    points = latents[:9]
    raw = torch.stack([s.predict_members(points) for s in surrogates.surrogates], -1)
    objectives = torch.stack([raw[..., 0], window(raw[..., 1])], -1)  # the window on each member's b
    torch.testing.assert_close(surrogates.member_predictions(points), objectives)
    heavy = surrogates.constraint_surrogates[0].predict_members(points).unsqueeze(-1)
    scalarized = chebyshev(table.utilities(objectives), torch.tensor([0.5, 0.5]))
    penalized = scalarized - table.constraints.penalty(heavy)
    torch.testing.assert_close(surrogates.predict(points)[0], penalized.mean(0))
    torch.testing.assert_close(surrogates.predict_targets(points)[0], raw.mean(0))
    torch.testing.assert_close(surrogates.predict_constraints(points)[0], heavy.mean(0))
    assert surrogates.spread(4, seed=0).constraint_surrogates == surrogates.constraint_surrogates
