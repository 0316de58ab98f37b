"""The data-size rule for the surrogate's training length and width, and that `fit_surrogate` follows it."""

import torch

from genmbo.config import SurrogateConfig
from genmbo.models.surrogates.ensemble import fit_surrogate
from genmbo.models.surrogates.sizing import sized_for, sized_hidden_dims, sized_steps


def test_training_length_is_capped_in_passes_and_in_steps() -> None:
    # a step draws members * batch_size = 5 * 256 = 1280 rows
    assert sized_steps(80, 5, 256) == 500  # one step a pass, 500 passes
    assert sized_steps(1900, 5, 256) == 1000  # two steps a pass
    assert sized_steps(3840, 5, 256) == 1500
    assert sized_steps(3841, 5, 256) == 2000  # four steps a pass: the step cap
    assert sized_steps(152_000, 5, 256) == 2000


def test_every_full_size_suite_task_keeps_the_long_wide_surrogate() -> None:
    # the smallest suite task has 5,000 visible rows, 4,750 of them trained on
    config = sized_for(SurrogateConfig(), 5000, 4750)
    assert config.max_steps == 2000 and config.hidden_dims == [256, 256]


def test_small_data_trains_narrow_members_for_fewer_steps() -> None:
    config = sized_for(SurrogateConfig(), 500, 475)
    assert config.max_steps == 500 and config.hidden_dims == [64, 64]
    assert sized_hidden_dims(999) == [64, 64] and sized_hidden_dims(1000) == [256, 256]


def test_explicit_values_are_kept() -> None:
    config = sized_for(SurrogateConfig(max_steps=30, hidden_dims=[8]), 100, 80)
    assert config.max_steps == 30 and config.hidden_dims == [8]


def test_fit_surrogate_trains_the_sized_network_for_the_sized_steps(tmp_path) -> None:
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(40, 3, generator=generator)
    config = SurrogateConfig(members=2, batch_size=8)  # 32 training rows, 16 a step: two steps a pass
    model = fit_surrogate(latents, latents[:, 0], config, tmp_path, seed=0)
    assert model.hparams.hidden_dims == [64, 64]
    assert model.trainer.global_step == sized_steps(32, 2, 8) == 1000


def test_fit_surrogate_stops_when_validation_stops_improving_keeps_the_best_and_judges_it_apart(tmp_path):
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(300, 8, generator=generator)
    # Mostly noise: a [64, 64] ensemble fits the training rows' noise long before 500 passes end.
    scores = 0.3 * latents[:, 0] + torch.randn(300, generator=generator)
    config = SurrogateConfig(members=2, batch_size=32, patience=4)
    model = fit_surrogate(latents, scores, config, tmp_path, seed=0)
    data = model.trainer.datamodule
    # 50 rows stop the run and 50 others give the trust figures; 200 train.
    assert len(data.val_indices) == 50 and model.trust["rows"] == 50 and len(data.train_indices) == 200
    assert model.trainer.global_step < sized_steps(200, 2, 32)
    (best,) = [
        callback for callback in model.trainer.callbacks if getattr(callback, "best_model_score", None)
    ]
    assert (tmp_path / "surrogate" / "best" / "best.ckpt").exists()
    validated = model.trainer.validate(model, datamodule=data, verbose=False)
    assert abs(validated[0]["val/spearman"] - float(best.best_model_score)) < 1e-5  # the best weights
    # The same command again takes the finished run's best weights without training.
    probe = torch.randn(20, 8, generator=generator)
    with torch.no_grad():
        again = fit_surrogate(latents, scores, config, tmp_path, seed=0)
        assert torch.equal(again.predict(probe)[0], model.predict(probe)[0])
    assert again.trust == model.trust


def test_by_default_every_step_is_trained_and_nothing_extra_is_held_out(tmp_path) -> None:
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(300, 4, generator=generator)
    config = SurrogateConfig(members=2, batch_size=32, hidden_dims=[8], max_steps=40)
    model = fit_surrogate(latents, torch.randn(300, generator=generator), config, tmp_path, seed=0)
    assert model.trainer.global_step == 40
    assert len(model.trainer.datamodule.val_indices) == 50 and model.trust["rows"] == 50
