"""The contract every search method keeps, run over each registered method, plus the registry's errors."""

from __future__ import annotations

import pytest
import torch

from genmbo.errors import ConfigError
from genmbo.models.identity_autoencoder import IdentityAutoencoder
from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.prior import Prior
from genmbo.models.surrogate_protocol import Surrogate
from genmbo.search.base import SearchMethod, SearchProblem
from genmbo.search.registry import SEARCH_METHODS, build_search_method
from genmbo.spaces import ContinuousSpace

# Small settings so every method runs in well under a second on a 2-D problem.
FAST_OPTIONS: dict[str, dict] = {
    "best_offline": {},
    "gradient_ascent": {"steps": 20},
    "genetic": {"population_size": 32, "generations": 5},
    "guided_diffusion": {"num_steps": 10, "pool_factor": 2, "policy": None},
    "ddom": {"num_steps": 10},
    "pgs": {
        "percentiles": (20.0,),
        "trajectories": 20,
        "updates": 20,
        "steps": 10,
        "hidden_dims": (16, 16),
        "batch_size": 32,
    },
}
STOCHASTIC = {"genetic", "guided_diffusion", "ddom", "pgs"}
BUDGET = 12


class QuadraticSurrogate:
    """mean = -||z - center||^2 and std = 0.1 ||z||: an analytic `Surrogate` for `n x 2` latents."""

    latent_dim = 2

    def __init__(self, center: tuple[float, float] = (3.0, -1.0)):
        self.center = torch.tensor(center)

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return -((latents - self.center) ** 2).sum(dim=1), 0.1 * latents.norm(dim=1)


@pytest.fixture(scope="module")
def problem() -> SearchProblem:
    generator = torch.Generator().manual_seed(0)
    latents = torch.tensor([1.0, -2.0]) + torch.tensor([2.0, 0.5]) * torch.randn(256, 2, generator=generator)
    torch.manual_seed(0)
    diffusion = LatentDiffusion(2, hidden_dim=32, num_blocks=1, embedding_dim=16, conditional=True)
    diffusion.fit_standardization(latents, latents[:, 0])
    optimizer = torch.optim.Adam(diffusion.parameters(), lr=3e-3)
    for _ in range(50):
        rows = torch.randint(0, 256, (128,), generator=generator)
        loss = diffusion.diffusion_loss(latents[rows], latents[rows, 0])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    surrogate = QuadraticSurrogate()
    # The contract does not need a good prior, only a real one; the flagship decodes through the identity.
    prior = Prior(autoencoder=IdentityAutoencoder(ContinuousSpace(2)), diffusion=diffusion.eval())
    return SearchProblem(latents, latents[:, 0], surrogate, prior)


def build(name: str) -> SearchMethod:
    return build_search_method(name, **FAST_OPTIONS[name])


def test_options_cover_every_method_and_surrogate_keeps_protocol() -> None:
    assert set(FAST_OPTIONS) == set(SEARCH_METHODS)
    assert isinstance(QuadraticSurrogate(), Surrogate)


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_candidates_are_finite_float32_budget_rows(name: str, problem: SearchProblem) -> None:
    method = build(name)
    assert method.name == name
    candidates = method(problem, BUDGET, torch.Generator().manual_seed(1))
    assert candidates.shape == (BUDGET, 2)
    assert candidates.dtype == torch.float32
    assert torch.isfinite(candidates).all()
    assert not candidates.requires_grad


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_deterministic_under_a_fixed_generator(name: str, problem: SearchProblem) -> None:
    first = build(name)(problem, BUDGET, torch.Generator().manual_seed(5))
    second = build(name)(problem, BUDGET, torch.Generator().manual_seed(5))
    assert torch.equal(first, second)


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_different_generators_give_different_candidates(name: str, problem: SearchProblem) -> None:
    first = build(name)(problem, BUDGET, torch.Generator().manual_seed(5))
    second = build(name)(problem, BUDGET, torch.Generator().manual_seed(6))
    assert not torch.allclose(first, second)


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_budget_beyond_the_offline_data(name: str, problem: SearchProblem) -> None:
    small = SearchProblem(problem.latents[:5], problem.scores[:5], problem.surrogate, problem.prior)
    candidates = build(name)(small, 9, torch.Generator().manual_seed(0))
    assert candidates.shape == (9, 2)
    assert torch.isfinite(candidates).all()


def test_best_offline_returns_the_top_offline_latents(problem: SearchProblem) -> None:
    candidates = build("best_offline")(problem, BUDGET, torch.Generator().manual_seed(0))
    best = torch.argsort(problem.scores, descending=True)[:BUDGET]
    assert torch.equal(candidates, problem.latents[best])


def test_unknown_method_suggests_the_nearest_name() -> None:
    with pytest.raises(ConfigError, match="did you mean 'genetic'") as caught:
        build_search_method("genetik")
    assert "\n" not in str(caught.value)


def test_unknown_option_suggests_the_nearest_option() -> None:
    with pytest.raises(ConfigError, match="no option 'kapa'; did you mean 'kappa'"):
        build_search_method("guided_diffusion", kapa=1.0)


def test_a_method_without_options_says_so() -> None:
    with pytest.raises(ConfigError, match="'best_offline' has no option 'kappa'; choose from \\(none\\)"):
        build_search_method("best_offline", kappa=1.0)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("guided_diffusion", {"scale": -1.0}),
        ("guided_diffusion", {"sampler": "euler"}),
        ("gradient_ascent", {"optimizer": "rmsprop"}),
        ("genetic", {"crossover_rate": 1.5}),
        ("genetic", {"population_size": "many"}),
        ("genetic", {"kappa": -0.5}),
    ],
)
def test_invalid_option_values_are_config_errors(name: str, options: dict) -> None:
    with pytest.raises(ConfigError, match=name):
        build_search_method(name, **options)
