"""DDOM on a 2-D toy whose score is the first coordinate: conditioning on the best score moves samples up."""

from __future__ import annotations

import pytest
import torch

from genmbo.data.score_weighting import ddom_weights
from genmbo.errors import ConfigError
from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.prior import Prior
from genmbo.search.base import SearchProblem
from genmbo.search.ddom import ConditionalDiffusion
from genmbo.search.registry import build_search_method

FAST = {"num_steps": 100}


class FirstCoordinate:
    """A `Surrogate` that DDOM never calls: mean = z_0, std = 0."""

    latent_dim = 2

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return latents[:, 0], torch.zeros(latents.shape[0])


def train_diffusion(latents: torch.Tensor, scores: torch.Tensor | None, steps: int) -> LatentDiffusion:
    """A small diffusion prior trained `steps` Adam steps, seeded; rows drawn by DDOM's weights."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    conditional = scores is not None
    diffusion = LatentDiffusion(2, hidden_dim=64, num_blocks=2, embedding_dim=32, conditional=conditional)
    diffusion.fit_standardization(latents, scores)
    weights = ddom_weights(scores) if conditional else torch.ones(latents.shape[0])
    optimizer = torch.optim.Adam(diffusion.parameters(), lr=3e-3)
    for _ in range(steps):
        rows = torch.multinomial(weights, 256, replacement=True, generator=generator)
        loss = diffusion.diffusion_loss(latents[rows], None if scores is None else scores[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return diffusion.eval()


@pytest.fixture(scope="module")
def latents() -> torch.Tensor:
    return torch.randn(1024, 2, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def problem(latents: torch.Tensor) -> SearchProblem:
    diffusion = train_diffusion(latents, latents[:, 0], steps=300)
    prior = Prior(autoencoder=None, diffusion=diffusion)  # type: ignore[arg-type]
    return SearchProblem(latents, latents[:, 0], FirstCoordinate(), prior)


def test_conditioning_on_the_best_score_raises_the_first_coordinate(problem: SearchProblem) -> None:
    assert problem.prior is not None
    generator_seed = 3
    candidates = ConditionalDiffusion(**FAST)(problem, 256, torch.Generator().manual_seed(generator_seed))
    unconditional = problem.prior.diffusion.sample(
        256, torch.Generator().manual_seed(generator_seed), sampler="ddpm", **FAST
    )
    assert candidates.shape == (256, 2) and candidates.dtype == torch.float32
    assert torch.isfinite(candidates).all()
    # Not a marginal gain: at least one data standard deviation higher on average.
    assert candidates[:, 0].mean() > unconditional[:, 0].mean() + 1.0


def test_guidance_weight_and_ddim_also_move_samples_up(problem: SearchProblem) -> None:
    plain = ConditionalDiffusion(guidance_weight=0.0, **FAST)(problem, 128, torch.Generator().manual_seed(4))
    guided = ConditionalDiffusion(guidance_weight=2.0, **FAST)(problem, 128, torch.Generator().manual_seed(4))
    ddim = ConditionalDiffusion(sampler="ddim", num_steps=20)(problem, 128, torch.Generator().manual_seed(4))
    assert guided[:, 0].mean() > plain[:, 0].mean() > problem.latents[:, 0].mean()
    assert ddim[:, 0].mean() > problem.latents[:, 0].mean() + 1.0


def test_deterministic_under_a_fixed_generator(problem: SearchProblem) -> None:
    method = build_search_method("ddom", **FAST)
    first = method(problem, 16, torch.Generator().manual_seed(5))
    assert torch.equal(first, method(problem, 16, torch.Generator().manual_seed(5)))
    assert not torch.allclose(first, method(problem, 16, torch.Generator().manual_seed(6)))


def test_an_unconditional_prior_is_a_one_line_config_error(latents: torch.Tensor) -> None:
    prior = Prior(autoencoder=None, diffusion=train_diffusion(latents, None, steps=1))  # type: ignore[arg-type]
    problem = SearchProblem(latents, latents[:, 0], FirstCoordinate(), prior)
    with pytest.raises(ConfigError, match="unconditional") as caught:
        ConditionalDiffusion()(problem, 4, torch.Generator().manual_seed(0))
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="has none"):
        ConditionalDiffusion()(SearchProblem(latents, latents[:, 0], FirstCoordinate()), 4, torch.Generator())


@pytest.mark.parametrize("options", [{"guidance_weight": -1.0}, {"sampler": "euler"}, {"num_steps": 0}])
def test_invalid_options_are_config_errors(options: dict) -> None:
    with pytest.raises(ConfigError, match="ddom"):
        build_search_method("ddom", **options)
