"""The ensemble surrogate: batched members, each loss on a toy function, uncertainty, COMs, checkpoints."""

from __future__ import annotations

import math

import pytest
import pytorch_lightning as pl
import torch
from pydantic import ValidationError
from torchmetrics.functional import spearman_corrcoef

from genmbo.config import GenmboConfig, from_mapping
from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.errors import ConfigError
from genmbo.models.networks.ensemble_mlp import CPU_BLOCK_ROWS, EnsembleMLP
from genmbo.models.surrogates.ensemble import (
    EnsembleSurrogate,
    SurrogateConfig,
    fit_surrogate,
    load_surrogate,
    split_members,
    validation_fraction,
)
from genmbo.models.surrogates.losses import coms_penalty, gradient_ascent, listnet_loss
from genmbo.models.surrogates.protocol import Surrogate

INSIDE = (0.5, -0.5)  # the toy's maximum, inside the data
OUTSIDE = (5.0, -0.5)  # a maximum beyond the data, so gradient ascent leaves it
TINY = {"hidden_dims": (64, 64), "list_length": 64}


def toy(count: int, seed: int, optimum: tuple[float, float] = INSIDE) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` standard normal 2-d points and their scores ``-||z - optimum||^2``."""
    latents = torch.randn(count, 2, generator=torch.Generator().manual_seed(seed))
    return latents, -((latents - torch.tensor(optimum)) ** 2).sum(1)


def train_on_toy(loss: str, optimum: tuple[float, float] = INSIDE, steps: int = 300, seed: int = 0):
    pl.seed_everything(seed, verbose=False)
    latents, scores = toy(500, 0, optimum)
    model = EnsembleSurrogate(2, loss=loss, **TINY)
    data = LatentDataModule(latents, scores, batch_size=5 * 64, val_fraction=0.0, seed=seed)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        deterministic=True,
    )
    trainer.fit(model, datamodule=data)
    return model.eval()


@pytest.fixture(scope="module")
def toy_models() -> dict[str, EnsembleSurrogate]:
    return {loss: train_on_toy(loss) for loss in ("mse", "listnet", "coms")}


def tiny_config(**overrides) -> SurrogateConfig:
    settings = {"members": 3, "hidden_dims": [16], "max_steps": 20, "batch_size": 32, "list_length": 16}
    return SurrogateConfig(**{**settings, **overrides})


def test_ensemble_members_are_independent_networks_in_one_batch() -> None:
    torch.manual_seed(0)
    network = EnsembleMLP(3, 4, [8, 8])
    shared = torch.randn(6, 4)
    assert network(shared).shape == (3, 6, 1)
    # Member k sees only block k of a per-member batch: changing block 2 leaves members 0 and 1 alone.
    blocks = torch.randn(3, 6, 4)
    blocks[1] = shared
    changed = blocks.clone()
    changed[2] += 1.0
    assert torch.allclose(network(blocks)[1], network(shared)[1], atol=1e-6)
    assert torch.equal(network(blocks)[:2], network(changed)[:2])
    assert not torch.allclose(network(blocks)[2], network(changed)[2])
    # Members start from different weights, and blocked CPU evaluation equals one pass.
    assert not torch.allclose(network(shared)[0], network(shared)[1])
    many = torch.randn(CPU_BLOCK_ROWS + 5, 4)
    one_pass = torch.cat([network.layers(many[:CPU_BLOCK_ROWS]), network.layers(many[CPU_BLOCK_ROWS:])], 1)
    assert torch.allclose(network(many), one_pass)
    assert torch.allclose(network(many)[:, :10], network.layers(many[:10]), atol=1e-6)


def test_split_members_gives_every_member_a_full_block() -> None:
    rows = torch.arange(7)
    blocks = split_members(rows, 3)
    assert blocks.tolist() == [[0, 1, 2], [3, 4, 5], [6, 0, 1]]
    assert split_members(torch.arange(2), 3).shape == (3, 1)


def test_surrogate_shapes_and_protocol() -> None:
    model = EnsembleSurrogate(3, members=4, hidden_dims=(8,))
    assert isinstance(model, Surrogate)
    assert model.latent_dim == 3
    mean, std = model.predict(torch.randn(7, 3))
    assert mean.shape == std.shape == (7,)
    assert model.predict_members(torch.randn(7, 3)).shape == (4, 7)
    with pytest.raises(ValueError, match="unknown surrogate loss"):
        EnsembleSurrogate(3, loss="mae")


@pytest.mark.parametrize("loss", ["mse", "listnet", "coms"])
def test_each_loss_ranks_held_out_points(toy_models, loss) -> None:
    latents, scores = toy(1000, seed=1)
    with torch.no_grad():
        mean, _ = toy_models[loss].predict(latents)
    assert spearman_corrcoef(mean, scores) > 0.8


@pytest.mark.parametrize("loss", ["mse", "listnet", "coms"])
def test_std_is_positive_and_grows_away_from_the_data(toy_models, loss) -> None:
    on_data, _ = toy(1000, seed=1)
    angles = torch.linspace(0, 2 * math.pi, 200)
    far = 6.0 * torch.stack([angles.cos(), angles.sin()], 1)  # the data is N(0, I): radius 6 is far out
    with torch.no_grad():
        _, std_on_data = toy_models[loss].predict(on_data)
        _, std_far = toy_models[loss].predict(far)
    assert (std_on_data > 0).all() and (std_far > 0).all()
    assert std_far.mean() > 5 * std_on_data.mean()


def test_listnet_predictions_are_calibrated_to_score_units(toy_models) -> None:
    model = toy_models["listnet"]
    latents, scores = toy(500, 0)  # the training rows, which calibration fits
    held_out, held_out_scores = toy(1000, seed=1)
    with torch.no_grad():
        assert model.predict(latents)[0].mean() == pytest.approx(scores.mean().item(), abs=1e-3)
        rmse = (model.predict(held_out)[0] - held_out_scores).pow(2).mean().sqrt()
    # An uncalibrated ranking output has an arbitrary scale; calibrated, its error is a fraction of the
    # scores' spread.
    assert rmse < 0.25 * held_out_scores.std()
    assert not torch.allclose(model.output_scale, torch.ones_like(model.output_scale))


def test_coms_lowers_predictions_beyond_the_data() -> None:
    mse, coms = (train_on_toy(loss, optimum=OUTSIDE) for loss in ("mse", "coms"))
    latents, _ = toy(500, 0, OUTSIDE)
    direction = torch.tensor(OUTSIDE) / torch.tensor(OUTSIDE).norm()
    beyond = latents + 3.0 * direction  # every training point moved 3 units uphill, out of the data
    with torch.no_grad():
        mse_mean, _ = mse.predict(beyond)
        coms_mean, _ = coms.predict(beyond)
    # Measured: -5.2 (MSE) against -6.7 (COMs), with the ensemble's std there about 1.
    assert coms_mean.mean() < mse_mean.mean() - 0.5


def test_predict_is_differentiable(toy_models) -> None:
    latents = toy(16, seed=2)[0].requires_grad_(True)
    mean, std = toy_models["mse"].predict(latents)
    (mean_gradient,) = torch.autograd.grad(mean.sum(), latents, retain_graph=True)
    (std_gradient,) = torch.autograd.grad(std.sum(), latents)
    for gradient in (mean_gradient, std_gradient):
        assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0
    # The true gradient of -||z - c||^2 is 2 (c - z): the mean's gradient points the same way.
    true_gradient = 2 * (torch.tensor(INSIDE) - latents.detach())
    assert torch.nn.functional.cosine_similarity(mean_gradient, true_gradient).mean() > 0.9


def test_listnet_loss_matches_a_hand_computed_list() -> None:
    predictions, targets = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 1.0, 2.0])
    # softmax(targets) = (e^3, e, e^2) / Z with Z = e + e^2 + e^3 = 30.19287
    #                 = (0.665241, 0.090031, 0.244728)
    # log softmax(predictions) = (1, 2, 3) - log Z = (1, 2, 3) - 3.407606
    # loss = 3.407606 - (0.665241 * 1 + 0.090031 * 2 + 0.244728 * 3) = 3.407606 - 1.579487 = 1.828119
    assert listnet_loss(predictions, targets).item() == pytest.approx(1.828119, abs=1e-5)
    # Shift-invariant in the predictions; lists along the last dimension are averaged.
    assert listnet_loss(predictions + 7.0, targets).item() == pytest.approx(1.828119, abs=1e-5)
    perfect = listnet_loss(targets, targets).item()  # the entropy of softmax(targets), the minimum
    both = listnet_loss(torch.stack([predictions, targets]), torch.stack([targets, targets]))
    assert both.item() == pytest.approx((1.828119 + perfect) / 2, abs=1e-5)
    # A temperature of 2 on the targets: softmax((1.5, 0.5, 1)) = (0.506480, 0.186324, 0.307196).
    expected = 3.407606 - (0.506480 * 1 + 0.186324 * 2 + 0.307196 * 3)
    assert listnet_loss(predictions, targets, temperature=2.0).item() == pytest.approx(expected, abs=1e-5)


def test_gradient_ascent_climbs_and_the_penalty_compares_means() -> None:
    weight = torch.nn.Parameter(torch.tensor(1.0))

    def function(points: torch.Tensor) -> torch.Tensor:
        return -weight * ((points - 1.0) ** 2).sum(-1)

    # One step from 0 with step 0.25: 0 + 0.25 * 2 * (1 - 0) = 0.5; a second: 0.5 + 0.25 * 1 = 0.75.
    start = torch.zeros(2, 3, 4)
    assert torch.allclose(gradient_ascent(function, start, 0.25, 1), torch.full_like(start, 0.5))
    assert torch.allclose(gradient_ascent(function, start, 0.25, 2), torch.full_like(start, 0.75))
    assert weight.grad is None and not gradient_ascent(function, start, 0.25, 1).requires_grad
    adversarial, data = torch.tensor([[3.0, 5.0], [0.0, 2.0]]), torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    assert coms_penalty(adversarial, data).item() == pytest.approx(((4 - 1) + (1 - 1)) / 2)


def test_fit_save_load_and_rerun(tmp_path) -> None:
    latents, scores = toy(300, 0)
    folder = tmp_path / "run"
    config = tiny_config(loss="listnet")
    model = fit_surrogate(latents, scores, config, folder, seed=3)
    assert (folder / "surrogate.ckpt").is_file() and (folder / "surrogate" / "last.ckpt").is_file()
    probe = toy(50, seed=4)[0]
    with torch.no_grad():
        expected = model.predict(probe)
        reloaded = load_surrogate(folder / "surrogate.ckpt").predict(probe)
        # The same command again finds last.ckpt at max_steps: no more training, the same surrogate.
        rerun = fit_surrogate(latents, scores, config, folder, seed=3).predict(probe)
    for values in (reloaded, rerun):
        assert torch.equal(values[0], expected[0]) and torch.equal(values[1], expected[1])
    longer = fit_surrogate(latents, scores, tiny_config(loss="listnet", max_steps=30), folder, seed=3)
    assert longer.global_step == 30


@pytest.mark.parametrize("loss", ["mse", "coms"])
def test_training_is_deterministic_under_a_seed(tmp_path, loss) -> None:
    latents, scores = toy(300, 0)
    probe = toy(50, seed=4)[0]
    predictions = []
    for seed, name in ((5, "a"), (5, "b"), (6, "c")):
        model = fit_surrogate(latents, scores, tiny_config(loss=loss), tmp_path / name, seed=seed)
        with torch.no_grad():
            predictions.append(model.predict(probe)[0])
    assert torch.equal(predictions[0], predictions[1])
    assert not torch.allclose(predictions[0], predictions[2])


def test_config_rejects_a_one_member_ensemble() -> None:
    with pytest.raises(ValidationError, match="members"):
        SurrogateConfig(members=1)
    with pytest.raises(ValidationError, match="learning_rate"):
        SurrogateConfig(learning_rate=0.0)
    with pytest.raises(ConfigError, match="'surrogate.members' must be >= 2, got 1"):
        from_mapping(GenmboConfig, {"surrogate": {"members": 1}})


def test_small_data_hold_out_enough_rows_for_the_trust_figures() -> None:
    assert round(validation_fraction(100) * 100) == 20 and round(validation_fraction(50) * 50) == 10
    assert validation_fraction(1000) == validation_fraction(160_001) == 0.05


def test_fit_records_the_trust_of_held_out_rows(tmp_path) -> None:
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(200, 3, generator=generator)
    learnable = latents[:, 0] - 0.5 * latents[:, 1]
    model = fit_surrogate(latents, learnable, tiny_config(max_steps=200), tmp_path / "a", seed=0)
    assert model.trust["rows"] == 40 and model.trust["spearman"] > 0.8 and model.trust["better_than_chance"]
    noise = torch.randn(200, generator=generator)  # scores independent of the designs
    model = fit_surrogate(latents, noise, tiny_config(max_steps=200), tmp_path / "b", seed=0)
    assert abs(model.trust["spearman"]) < 0.4
