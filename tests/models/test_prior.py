"""fit_prior / load_prior: tiny priors of every kind train, save, reload identically, resume and sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genmbo.config import AutoencoderConfig, DiffusionConfig, PriorConfig
from genmbo.data.offline import OfflineDataset
from genmbo.errors import ConfigError, GenmboError
from genmbo.models.identity_autoencoder import IdentityAutoencoder
from genmbo.models.prior import (
    _diffusion_weights,
    check_finite_latents,
    fit_prior,
    fit_prior_and_encode,
    load_prior,
    resolve_sequence_architecture,
)
from genmbo.models.sequence_vae import SequenceVAE
from genmbo.models.vector_vae import VectorVAE
from genmbo.spaces import ContinuousSpace, SequenceSpace


def tiny_config(kind: str = "auto", steps: int = 30) -> PriorConfig:
    return PriorConfig(
        autoencoder=AutoencoderConfig(
            kind=kind,
            latent_dim=4,
            hidden_dim=16,
            embedding_dim=8,
            max_steps=steps,
            batch_size=32,
            kl_warmup_steps=10,
        ),
        diffusion=DiffusionConfig(hidden_dim=16, num_blocks=1, max_steps=steps, batch_size=32),
    )


def dna_dataset(count: int = 200) -> OfflineDataset:
    space = SequenceSpace("dna", length=6)
    rng = np.random.default_rng(0)
    designs = sorted({"".join(rng.choice(list("ACGT"), 6)) for _ in range(count)})
    scores = np.array([design.count("G") for design in designs], dtype=float)
    return OfflineDataset(space, designs, scores)


def vector_dataset(dim: int) -> OfflineDataset:
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, size=(200, dim))
    space = ContinuousSpace(dim, -2.0, 2.0).fit(points)
    return OfflineDataset(space, [tuple(row) for row in points], -np.sum(points**2, axis=1))


@pytest.mark.parametrize(
    ("dataset", "kind", "expected"),
    [
        (dna_dataset, "auto", SequenceVAE),
        (lambda: vector_dataset(3), "auto", IdentityAutoencoder),
        (lambda: vector_dataset(80), "auto", VectorVAE),
        (lambda: vector_dataset(3), "vector_vae", VectorVAE),
    ],
)
def test_fit_save_load_sample(tmp_path, dataset, kind, expected):
    data = dataset()
    prior = fit_prior(data, tiny_config(kind), tmp_path / "prior", seed=0)
    assert isinstance(prior.autoencoder, expected)
    assert {"prior.json", "diffusion.ckpt"} <= {path.name for path in (tmp_path / "prior").iterdir()}

    samples = prior.sample_designs(16, torch.Generator().manual_seed(1))
    assert len(samples) == 16
    for design in samples:  # every sample is a design of the space (or an undecodable None)
        assert design is None or data.space.parse(design) == design

    reloaded = load_prior(tmp_path / "prior")
    latents = prior.autoencoder.encode_designs(data.designs[:8])
    assert torch.allclose(reloaded.autoencoder.encode_designs(data.designs[:8]), latents)
    again = reloaded.sample_latents(8, torch.Generator().manual_seed(2))
    assert torch.allclose(prior.sample_latents(8, torch.Generator().manual_seed(2)), again, atol=1e-6)


def test_rerun_resumes_from_last_checkpoint_and_gives_the_same_prior(tmp_path):
    data = dna_dataset()
    first = fit_prior(data, tiny_config(steps=20), tmp_path / "prior", seed=3)
    # The same command again finds last.ckpt at max_steps: it trains no further and ends identical.
    second = fit_prior(data, tiny_config(steps=20), tmp_path / "prior", seed=3)
    for a, b in zip(
        first.autoencoder.state_dict().values(), second.autoencoder.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    # A longer budget continues from step 20 instead of starting over.
    longer = fit_prior(data, tiny_config(steps=30), tmp_path / "prior", seed=3)
    assert longer.autoencoder.global_step == 30
    assert (
        torch.load(tmp_path / "prior" / "autoencoder" / "last.ckpt", weights_only=False)["global_step"] == 30
    )


def test_averaged_diffusion_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    data = dna_dataset()

    def config(diffusion_steps: int, autoencoder: str | None = None) -> PriorConfig:
        base = tiny_config(steps=diffusion_steps)
        return base.model_copy(
            update={
                "autoencoder": base.autoencoder.model_copy(update={"checkpoint": autoencoder}),
                "diffusion": base.diffusion.model_copy(update={"ema_decay": 0.9}),
            }
        )

    whole = fit_prior(data, config(30), tmp_path / "whole", seed=3)
    autoencoder = str(tmp_path / "whole" / "autoencoder.ckpt")
    fit_prior(data, config(20, autoencoder), tmp_path / "resumed", seed=3)
    resumed = fit_prior(data, config(30, autoencoder), tmp_path / "resumed", seed=3)
    assert resumed.diffusion.global_step == 30
    for name, value in whole.diffusion.state_dict().items():
        assert torch.equal(value, resumed.diffusion.state_dict()[name]), name
    # The saved weights are the average, not the last iterate `last.ckpt` resumes from.
    last = torch.load(tmp_path / "whole" / "diffusion" / "last.ckpt", weights_only=False)["state_dict"]
    name = "denoiser.input_layer.weight"
    assert not torch.equal(whole.diffusion.state_dict()[name], last[name])


def test_training_reduces_the_autoencoder_loss(tmp_path):
    data = dna_dataset(400)
    short = fit_prior(data, tiny_config(steps=2), tmp_path / "short", seed=0)
    long = fit_prior(data, tiny_config(steps=150), tmp_path / "long", seed=0)
    tokens = data.space.encode(data.designs)
    losses = []
    for prior in (short, long):
        torch.manual_seed(0)  # the same reparameterization noise for both
        with torch.no_grad():
            losses.append(prior.autoencoder._losses(tokens)["reconstruction"])
    assert losses[1] < losses[0]


def test_shipped_moses_prior_loads_and_reconstructs():
    from genmbo.models.prior import SHIPPED_MOSES_PRIOR
    from genmbo.resources import moses_subset_smiles

    prior = load_prior(SHIPPED_MOSES_PRIOR)
    assert isinstance(prior.autoencoder, SequenceVAE) and prior.autoencoder.latent_dim == 64
    molecules = list(moses_subset_smiles()[:50])
    decoded = prior.autoencoder.decode_latents(prior.autoencoder.encode_designs(molecules))
    # 84.6% exact on 10,000 held-out molecules (README); these 50 include training molecules.
    assert sum(a == b for a, b in zip(decoded, molecules, strict=True)) >= 35
    samples = prior.sample_designs(20, torch.Generator().manual_seed(0), num_steps=20)
    assert all(sample is not None for sample in samples)


def test_samples_do_not_depend_on_how_many_processes_draw_them(monkeypatch):
    from genmbo.models import prior_sampling
    from genmbo.models.prior import SHIPPED_MOSES_PRIOR
    from genmbo.runtime import workers

    prior = load_prior(SHIPPED_MOSES_PRIOR)
    monkeypatch.setattr(prior_sampling, "DRAW_BATCH", 5)
    monkeypatch.setattr(workers, "MIN_SHARD", 8)
    generator = torch.Generator().manual_seed(3)
    # What the diffusion draws and the VAE decodes in one batch, one process.
    expected = prior.autoencoder.decode_latents(prior.sample_latents(24, generator, "dpm"))
    for processes in (1, 3):
        monkeypatch.setattr(workers, "worker_processes", lambda processes=processes: processes)
        samples = prior.sample_designs(24, torch.Generator().manual_seed(3), "dpm")
        assert samples == expected

    # With the realism critic choosing 1 in 3: each batch of 5 designs (the last of 4), the most
    # realistic of its 15 (12) latents.
    latents = prior.sample_latents(72, torch.Generator().manual_seed(3), "dpm")
    chosen = torch.cat(
        [batch[prior.critic.most_realistic(batch, len(batch) // 3)] for batch in latents.split(15)]
    )
    expected = prior.autoencoder.decode_latents(chosen)
    for processes in (1, 3):
        monkeypatch.setattr(workers, "worker_processes", lambda processes=processes: processes)
        samples = prior.sample_designs(24, torch.Generator().manual_seed(3), "dpm", realism_pool=3)
        assert samples == expected

    # bfloat16 networks draw molecules too (which ones depends on the CPU's rounding).
    low = prior.sample_designs(24, torch.Generator().manual_seed(3), "dpm", precision="bfloat16")
    assert len(low) == 24 and sum(sample is not None for sample in low) >= 20
    assert torch.get_default_dtype() == torch.float32


def test_bfloat16_sampling_is_for_token_priors_and_noise_must_fit(tmp_path):
    prior = fit_prior(vector_dataset(3), tiny_config(steps=5), tmp_path / "prior", seed=0)
    with pytest.raises(ValueError, match="token priors"):
        prior.sample_designs(4, torch.Generator().manual_seed(0), precision="bfloat16")
    with pytest.raises(ValueError, match="noise must be 4 x 3"):
        prior.diffusion.sample(4, noise=torch.zeros(5, 3))


def test_auto_architecture_by_length_and_convolutional_prior(tmp_path):
    resolve = resolve_sequence_architecture
    assert resolve(AutoencoderConfig(), SequenceSpace("dna", length=32)) == "positionwise"
    assert resolve(AutoencoderConfig(), SequenceSpace("dna", length=33)) == "convolutional"
    assert resolve(AutoencoderConfig(), SequenceSpace("dna", max_length=10)) == "gru"
    assert resolve(AutoencoderConfig(architecture="gru"), SequenceSpace("dna", length=40)) == "gru"

    space = SequenceSpace("dna", length=40)
    rng = np.random.default_rng(0)
    designs = sorted({"".join(rng.choice(list("ACGT"), 40)) for _ in range(64)})
    dataset = OfflineDataset(space, designs, np.array([d.count("G") for d in designs], dtype=float))
    config = tiny_config()
    config.autoencoder.latent_dim = None
    config.autoencoder.conv_channels = 8
    prior = fit_prior(dataset, config, tmp_path / "p", seed=0)
    assert (
        isinstance(prior.autoencoder, SequenceVAE)
        and prior.autoencoder.hparams.architecture == "convolutional"
    )
    assert prior.autoencoder.latent_dim == 4 * 21  # ceil(41 / 2) positions, four channels each
    assert all(
        space.parse(design) == design for design in prior.sample_designs(8, torch.Generator().manual_seed(0))
    )

    config.autoencoder.latent_dim = 50
    with pytest.raises(ConfigError, match="multiple of the convolutional VAE's 21 latent positions"):
        fit_prior(dataset, config, tmp_path / "q", seed=0)


def test_transition_setting_applies_to_loaded_autoencoders_too(tmp_path):
    dataset = dna_dataset()
    first = fit_prior(dataset, tiny_config(), tmp_path / "a", seed=0)
    assert first.autoencoder.transition_mask is not None  # trained here, restricted by default
    for restricted in (False, True):
        config = tiny_config()
        config.autoencoder.checkpoint = str(tmp_path / "a" / "autoencoder.ckpt")
        config.autoencoder.observed_transitions_only = restricted
        loaded = fit_prior(dataset, config, tmp_path / f"b{restricted}", seed=0).autoencoder
        assert (loaded.transition_mask is not None) == restricted
        assert (loaded.hparams["allowed_transitions"] is not None) == restricted


def test_the_prior_trains_on_unlabeled_designs_and_returns_labeled_latents(tmp_path):
    full = dna_dataset()
    labeled = OfflineDataset(full.space, full.designs[:40], full.scores[:40], unlabeled=full.designs[40:])
    prior, latents = fit_prior_and_encode(labeled, tiny_config(), tmp_path / "prior", seed=0)
    assert latents.shape == (40, 4)
    assert torch.allclose(latents, prior.autoencoder.encode_designs(labeled.designs), atol=1e-5)
    # The diffusion's latent statistics come from the training rows of all 200 designs, not the 40.
    every = prior.autoencoder.encode_designs(full.designs)
    assert torch.allclose(prior.diffusion.latent_mean, every.mean(0), atol=0.1)
    assert not torch.allclose(prior.diffusion.latent_mean, latents.mean(0), atol=1e-3)


def test_unlabeled_rows_are_drawn_as_often_as_an_average_labeled_row():
    scores = torch.tensor([0.0, 1.0, 2.0, 3.0, float("nan"), float("nan")])
    weights = _diffusion_weights(scores)
    assert weights[:4].sum() == pytest.approx(1.0) and weights[3] > weights[0]
    assert weights[4:].tolist() == pytest.approx([0.25, 0.25])


def test_fine_tuning_trains_a_loaded_diffusion_further_and_only_when_asked(tmp_path):
    data = vector_dataset(3)
    first = fit_prior(data, tiny_config(), tmp_path / "first", seed=0)
    loaded = tiny_config()
    loaded.diffusion.checkpoint = str(tmp_path / "first" / "diffusion.ckpt")
    kept = fit_prior(data, loaded, tmp_path / "kept", seed=0)
    for ours, theirs in zip(kept.diffusion.parameters(), first.diffusion.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    tuned_config = loaded.model_copy(deep=True)
    tuned_config.diffusion.fine_tune, tuned_config.diffusion.fine_tune_steps = True, 10
    tuned = fit_prior(data, tuned_config, tmp_path / "tuned", seed=0)
    changed = [
        not torch.equal(ours, theirs)
        for ours, theirs in zip(tuned.diffusion.parameters(), first.diffusion.parameters(), strict=True)
    ]
    assert any(changed)
    # The loaded model's latent coordinates are kept: the fine-tuned one samples in the same space.
    assert torch.equal(tuned.diffusion.latent_mean, first.diffusion.latent_mean)
    assert tuned.diffusion.hparams.learning_rate == tuned_config.diffusion.fine_tune_learning_rate


def test_a_non_finite_latent_stops_the_run_with_one_line(tmp_path, monkeypatch):
    check_finite_latents(torch.zeros(3, 2))  # finite latents pass
    broken = torch.zeros(5, 2)
    broken[1, 0], broken[3, 1] = float("nan"), float("inf")
    with pytest.raises(GenmboError, match="encodes 2 of 5 designs to non-finite latents"):
        check_finite_latents(broken)

    # fit_prior_and_encode checks the latents before any later stage sees them.
    def nan_encoding(autoencoder, designs):
        return torch.full((len(designs), autoencoder.latent_dim), float("nan"))

    monkeypatch.setattr("genmbo.models.prior.encode_designs_cached", nan_encoding)
    with pytest.raises(GenmboError, match="non-finite latents"):
        fit_prior_and_encode(vector_dataset(3), tiny_config(), tmp_path / "prior", seed=0)
