"""The contract every search method keeps, run over each registered method as production runs it (`fit`,
then `candidates`, then the pipeline's design stages on a token space), plus the registry's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genmbo.campaign.pipeline import LibraryPlan, Models, Stopwatch, make_library
from genmbo.config import GenmboConfig, from_mapping
from genmbo.data.offline import OfflineDataset
from genmbo.errors import ConfigError
from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.prior import Prior
from genmbo.models.surrogates.protocol import Surrogate
from genmbo.search.base import Candidates, SearchMethod, SearchProblem
from genmbo.search.registry import SEARCH_METHODS, build_search_method
from genmbo.selection.constraints import DesignFilter
from genmbo.spaces import SequenceSpace

# Small settings so every method runs in well under a second.
FAST_OPTIONS: dict[str, dict] = {
    "best_offline": {},
    "gradient_ascent": {"steps": 20},
    "genetic": {"population_size": 32, "generations": 5},
    "guided_diffusion": {"num_steps": 10, "policy": None},
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
SPACE = SequenceSpace(list("ACGT"), length=4)
DIM = 4 * 4


class OneHotAutoencoder:
    """Four-letter sequences <-> flattened one-hot latents (`n x 16`); decoding takes each position's
    largest coordinate, so many latents decode to one design, as with a trained VAE."""

    latent_dim = DIM

    def encode_designs(self, designs) -> torch.Tensor:
        indices = SPACE.to_indices(list(designs))
        return torch.nn.functional.one_hot(indices, 4).float().reshape(len(designs), DIM)

    def decode_latents(self, latents: torch.Tensor) -> list[str]:
        letters = latents.detach().reshape(-1, 4, 4).argmax(dim=2)
        return ["".join(SPACE.alphabet[index] for index in row) for row in letters.tolist()]


class GCount:
    """mean = the latent weight on G at every position (a design's number of Gs) and std = 0.1 ||z||:
    an analytic `Surrogate` of the one-hot latents."""

    latent_dim = DIM

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return latents.reshape(-1, 4, 4)[:, :, 2].sum(dim=1), 0.1 * latents.norm(dim=1)


@pytest.fixture(scope="module")
def dataset() -> OfflineDataset:
    rng = np.random.default_rng(0)
    designs = sorted({"".join(rng.choice(list("ACT"), 4)) for _ in range(300)})  # no G anywhere
    designs += ["GAAA", "AGCA"]  # two designs hold one G
    return OfflineDataset(SPACE, designs, np.array([design.count("G") for design in designs], dtype=float))


@pytest.fixture(scope="module")
def problem(dataset: OfflineDataset) -> SearchProblem:
    autoencoder = OneHotAutoencoder()
    latents = autoencoder.encode_designs(dataset.designs)
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    diffusion = LatentDiffusion(DIM, hidden_dim=32, num_blocks=1, embedding_dim=16, conditional=True)
    diffusion.fit_standardization(latents, scores)
    optimizer = torch.optim.Adam(diffusion.parameters(), lr=3e-3)
    for _ in range(50):
        rows = torch.randint(0, len(latents), (128,), generator=generator)
        loss = diffusion.diffusion_loss(latents[rows], scores[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    prior = Prior(autoencoder=autoencoder, diffusion=diffusion.eval())  # type: ignore[arg-type]
    return SearchProblem(latents, scores, GCount(), prior, dataset.designs, SPACE)


def build(name: str) -> SearchMethod:
    return build_search_method(name, **FAST_OPTIONS[name])


def run(name: str, problem: SearchProblem, budget: int, seed: int, run_dir=None) -> Candidates:
    """As the pipeline calls a method: its fit stage, then its candidates, from one generator."""
    method, generator = build(name), torch.Generator().manual_seed(seed)
    method.fit(problem, budget, generator, run_dir)
    return method.candidates(problem, budget, generator)


def test_options_cover_every_method_and_surrogate_keeps_protocol() -> None:
    assert set(FAST_OPTIONS) == set(SEARCH_METHODS)
    assert isinstance(GCount(), Surrogate)


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_candidates_are_finite_float32_budget_rows(name: str, problem: SearchProblem, tmp_path) -> None:
    assert build(name).name == name
    found = run(name, problem, BUDGET, 1, tmp_path)
    assert found.latents.shape == (BUDGET, DIM)
    assert found.latents.dtype == torch.float32
    assert torch.isfinite(found.latents).all()
    assert not found.latents.requires_grad
    designs = found.designs_from(problem.prior.autoencoder)
    assert len(designs) == BUDGET and all(SPACE.parse(design) == design for design in designs)


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_deterministic_under_a_fixed_generator(name: str, problem: SearchProblem) -> None:
    first, second = run(name, problem, BUDGET, 5), run(name, problem, BUDGET, 5)
    assert torch.equal(first.latents, second.latents) and first.designs == second.designs


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_different_generators_give_different_candidates(name: str, problem: SearchProblem) -> None:
    assert not torch.allclose(run(name, problem, BUDGET, 5).latents, run(name, problem, BUDGET, 6).latents)


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_budget_beyond_the_offline_data(name: str, problem: SearchProblem) -> None:
    small = SearchProblem(
        problem.latents[:5], problem.scores[:5], problem.surrogate, problem.prior, problem.designs[:5], SPACE
    )
    found = run(name, small, 9, 0)
    assert found.latents.shape == (9, DIM) and torch.isfinite(found.latents).all()


@pytest.mark.parametrize("name", sorted(SEARCH_METHODS))
def test_every_method_goes_through_the_design_stages(
    name: str, dataset: OfflineDataset, problem: SearchProblem, tmp_path
) -> None:
    """Portfolio and polishing on for every method: a library of new (offline for D(best)), valid,
    distinct designs, the new ones better than the offline data (one G at most), ranked best first."""
    config = from_mapping(
        GenmboConfig,
        {
            "run": {"n_candidates": 6},
            "selection": {"pool_factor": 2},
            "stages": {"portfolio": 0.5, "polish_rounds": 2},
        },
    )
    models = Models(problem.prior, problem.latents, problem.surrogate)  # type: ignore[arg-type]
    constraints = DesignFilter(SPACE, config.constraints)
    method = build(name)
    library = make_library(
        LibraryPlan.of(config, method), dataset, models, method, constraints, tmp_path, Stopwatch()
    )
    assert 0 < len(library.designs) <= 6 and len(set(library.designs)) == len(library.designs)
    if name != "best_offline":
        assert not set(library.designs) & set(dataset.designs)
    assert all(SPACE.parse(design) == design for design in library.designs)
    # Valued at the designs' encodings by the one model, which fills the predictions.
    mean, std = GCount().predict(OneHotAutoencoder().encode_designs(library.designs))
    measured = {design: score for design, score in zip(dataset.designs, dataset.scores, strict=True)}
    expected = torch.tensor(
        [measured.get(design, float(value)) for design, value in zip(library.designs, mean, strict=True)],
        dtype=torch.float32,
    )
    torch.testing.assert_close(library.mean, expected)
    assert float(library.acquisition[0]) == pytest.approx(float(library.acquisition.max()))
    if name != "best_offline":  # polishing climbs to more Gs than any offline design has
        assert max(design.count("G") for design in library.designs) >= 3


def test_best_offline_returns_the_top_offline_designs(problem: SearchProblem) -> None:
    found = run("best_offline", problem, BUDGET, 0)
    best = torch.argsort(problem.scores, descending=True, stable=True)[:BUDGET]
    assert torch.equal(found.latents, problem.latents[best])
    assert found.designs == [problem.designs[row] for row in best.tolist()]


def test_unknown_method_suggests_the_nearest_name() -> None:
    with pytest.raises(ConfigError, match="did you mean 'genetic'") as caught:
        build_search_method("genetik")
    assert "\n" not in str(caught.value)


def test_unknown_option_suggests_the_nearest_option() -> None:
    with pytest.raises(ConfigError, match="unknown config key 'search.kapa' \\(did you mean 'search.kappa'"):
        build_search_method("genetic", kapa=1.0)


def test_a_method_without_options_says_so() -> None:
    with pytest.raises(ConfigError, match="'search.kappa'; valid keys here: 'search.method'$"):
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


def test_genetic_individuals_are_new_acceptable_distinct_designs(problem: SearchProblem) -> None:
    """On a token space the genetic algorithm's individuals are decoded designs: its candidates decode to
    distinct designs outside the offline data, all of them accepted by the campaign's test."""
    without_t = SearchProblem(
        problem.latents,
        problem.scores,
        problem.surrogate,
        problem.prior,
        problem.designs,
        SPACE,
        acceptable=lambda design: "T" not in design,
    )
    method = build_search_method("genetic", population_size=32, generations=20)
    found = method.candidates(without_t, BUDGET, torch.Generator().manual_seed(0))
    designs = found.designs_from(problem.prior.autoencoder)
    assert len(set(designs)) == BUDGET
    assert not set(designs) & set(problem.designs)
    assert all("T" not in design for design in designs)
