import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from rdkit import Chem

from genmbo.data.token_datamodule import TokenDataModule
from genmbo.models.autoencoder import LatentAutoencoder
from genmbo.models.kl_schedule import KLSchedule, free_bits_kl, gaussian_kl
from genmbo.models.sequence_vae import SequenceVAE, generation_mask
from genmbo.resources import moses_subset_smiles
from genmbo.spaces import MoleculeSpace, SequenceSpace
from genmbo.spaces.vocabulary import BOS_ID, EOS_ID, PAD_ID

TINY = {"latent_dim": 4, "embedding_dim": 8, "hidden_dim": 16, "kl_warmup_steps": 10, "learning_rate": 1e-2}


def _dna_designs(count: int = 32, seed: int = 0) -> list[str]:
    generator = torch.Generator().manual_seed(seed)
    return ["".join("ACGT"[i] for i in torch.randint(0, 4, (8,), generator=generator)) for _ in range(count)]


def _trainer(max_steps: int, **kwargs) -> pl.Trainer:
    options = {"enable_checkpointing": False, "num_sanity_val_steps": 0, "limit_val_batches": 0}
    options.update(kwargs)
    return pl.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **options,
    )


def _tiny_dna_model(seed: int = 0) -> tuple[SequenceVAE, TokenDataModule, list[str]]:
    pl.seed_everything(seed)
    space = SequenceSpace("dna", length=8)
    designs = _dna_designs()
    model = SequenceVAE(space, **TINY)
    datamodule = TokenDataModule(space.encode(designs), val_size=8, batch_size=8, seed=seed)
    return model, datamodule, designs


class LossRecorder(Callback):
    def __init__(self):
        self.losses: list[float] = []
        self.first_step: int | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.first_step is None:
            self.first_step = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))


def test_generation_mask_fixes_length_and_forbids_specials():
    fixed = generation_mask(width=5, vocab_size=7, fixed_length=3)  # positions 1..4
    assert not fixed[:, [PAD_ID, BOS_ID]].any()
    assert not fixed[:3, EOS_ID].any() and fixed[:3, 3:].all()
    assert fixed[3].tolist() == [False, False, True, False, False, False, False]
    variable = generation_mask(width=5, vocab_size=7, fixed_length=None)
    assert not variable[0, EOS_ID] and variable[1:3, EOS_ID].all()
    assert variable[3].nonzero().flatten().tolist() == [EOS_ID]


def test_kl_helpers_match_hand_computed_values():
    kl = gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]]))
    assert kl.tolist() == [[0.5, 0.0]]
    assert free_bits_kl(kl, free_bits=0.25).item() == pytest.approx(0.75)
    schedule = KLSchedule(max_weight=0.2, warmup_steps=10)
    assert [schedule.weight(step) for step in (0, 5, 10, 50)] == pytest.approx([0.0, 0.1, 0.2, 0.2])


def test_implements_latent_autoencoder_with_expected_shapes():
    model, datamodule, designs = _tiny_dna_model()
    assert isinstance(model, LatentAutoencoder)
    latents = model.encode_designs(designs[:5])
    assert latents.shape == (5, 4)
    tokens = next(iter(datamodule.train_dataloader()))
    logits, mean, log_variance = model(tokens)
    assert logits.shape == (8, tokens.shape[1] - 1, len(model.space.vocabulary))
    assert mean.shape == log_variance.shape == (8, 4)
    assert model.generate(latents).shape == (5, 10)


def test_loss_falls_on_a_tiny_fixed_dataset():
    model, datamodule, _ = _tiny_dna_model()
    recorder = LossRecorder()
    _trainer(60, callbacks=[recorder]).fit(model, datamodule=datamodule)
    assert len(recorder.losses) == 60
    first, last = sum(recorder.losses[:5]) / 5, sum(recorder.losses[-5:]) / 5
    assert last < 0.8 * first


def test_fixed_length_decodes_always_have_the_space_length():
    model, datamodule, _ = _tiny_dna_model()
    _trainer(10).fit(model, datamodule=datamodule)
    generator = torch.Generator().manual_seed(0)
    for designs in (
        model.sample(50, temperature=1.5, generator=generator),
        model.decode_latents(torch.randn(50, 4)),
    ):
        assert all(isinstance(design, str) and len(design) == 8 for design in designs)

    ehrlich_like = SequenceSpace([f"s{index}" for index in range(24)], length=32)
    untrained = SequenceVAE(ehrlich_like, **TINY)
    assert all(
        design is not None and len(design) == 32 for design in untrained.sample(20, generator=generator)
    )


def test_sampling_is_reproducible_and_greedy_decoding_does_not_depend_on_batching():
    model, _, designs = _tiny_dna_model()
    first = model.sample(10, generator=torch.Generator().manual_seed(7))
    again = model.sample(10, generator=torch.Generator().manual_seed(7))
    assert first == again
    latents = model.encode_designs(designs)
    assert model.decode_latents(latents, batch_size=3) == model.decode_latents(latents)


def test_molecule_decodes_are_valid_canonical_smiles():
    pl.seed_everything(0)
    space = MoleculeSpace()
    smiles = list(moses_subset_smiles()[:32])
    model = SequenceVAE(space, **TINY)
    datamodule = TokenDataModule(space.encode(smiles), val_size=8, batch_size=8)
    _trainer(10).fit(model, datamodule=datamodule)
    decoded = model.sample(30, generator=torch.Generator().manual_seed(0)) + model.decode_latents(
        model.encode_designs(smiles[:10])
    )
    molecules = [design for design in decoded if design is not None]
    assert len(molecules) >= 0.8 * len(decoded)
    for design in molecules:
        molecule = Chem.MolFromSmiles(design)
        assert molecule is not None and Chem.MolToSmiles(molecule) == design


def test_checkpoint_rebuilds_model_and_space(tmp_path):
    model, datamodule, designs = _tiny_dna_model()
    trainer = _trainer(5)
    trainer.fit(model, datamodule=datamodule)
    for weights_only in (False, True):
        path = tmp_path / f"vae_{weights_only}.ckpt"
        trainer.save_checkpoint(path, weights_only=weights_only)
        loaded = SequenceVAE.load_from_checkpoint(path).eval()
        assert loaded.space.to_dict() == model.space.to_dict()
        latents = model.encode_designs(designs)
        assert torch.equal(loaded.encode_designs(designs), latents)
        assert loaded.decode_latents(latents) == model.decode_latents(latents)


def test_resuming_continues_from_the_saved_step(tmp_path):
    model, datamodule, _ = _tiny_dna_model()
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_last=True, every_n_train_steps=6)
    _trainer(6, enable_checkpointing=True, callbacks=[checkpoint]).fit(model, datamodule=datamodule)
    assert (tmp_path / "last.ckpt").exists()

    resumed, datamodule, _ = _tiny_dna_model(seed=1)
    recorder = LossRecorder()
    trainer = _trainer(10, callbacks=[recorder])
    trainer.fit(resumed, datamodule=datamodule, ckpt_path=tmp_path / "last.ckpt")
    assert recorder.first_step == 6
    assert trainer.global_step == 10 and len(recorder.losses) == 4


def test_validation_logs_reconstruction_metrics():
    model, datamodule, _ = _tiny_dna_model()
    trainer = _trainer(2, limit_val_batches=1.0, val_check_interval=2, check_val_every_n_epoch=None)
    trainer.fit(model, datamodule=datamodule)
    metrics = trainer.callback_metrics
    for name in ("val/exact_match", "val/token_accuracy", "val/kl", "train/token_accuracy", "train/kl"):
        assert name in metrics
    assert 0.0 <= float(metrics["val/token_accuracy"]) <= 1.0


def test_rejects_a_continuous_space():
    with pytest.raises(ValueError):
        SequenceVAE({"kind": "continuous", "dim": 2})


@pytest.mark.parametrize("space", [SequenceSpace("dna", length=8), SequenceSpace("protein", max_length=10)])
def test_positionwise_architecture_decodes_designs_of_the_space(space):
    pl.seed_everything(0)
    model = SequenceVAE(space, architecture="positionwise", **TINY)
    generator = torch.Generator().manual_seed(0)
    for design in model.sample(40, temperature=1.0, generator=generator):
        assert design is not None and space.parse(design) == design
    for row in model.generate(torch.randn(20, 4, generator=generator)).tolist():
        end = row.index(EOS_ID)
        assert row[0] == BOS_ID and end >= 2 and PAD_ID not in row[1:end]
        assert all(token == PAD_ID for token in row[end + 1 :])
        assert space.length is None or end == space.length + 1


def test_positionwise_loss_falls_and_unknown_architecture_is_refused():
    pl.seed_everything(0)
    space = SequenceSpace("dna", length=8)
    model = SequenceVAE(space, architecture="positionwise", **TINY)
    recorder = LossRecorder()
    datamodule = TokenDataModule(space.encode(_dna_designs()), val_size=8, batch_size=8)
    _trainer(60, callbacks=[recorder]).fit(model, datamodule=datamodule)
    assert sum(recorder.losses[-10:]) < sum(recorder.losses[:10])
    with pytest.raises(ValueError, match="unknown architecture"):
        SequenceVAE(space, architecture="lstm")


CONVOLUTIONAL = {**TINY, "architecture": "convolutional", "conv_channels": 16}


@pytest.mark.parametrize(
    ("space", "latent_dim"),
    # ceil((length + 1) / 2) latent positions, two channels each
    [(SequenceSpace("dna", length=8), 10), (SequenceSpace("protein", max_length=10), 12)],
)
def test_convolutional_architecture_decodes_designs_of_the_space(space, latent_dim):
    pl.seed_everything(0)
    model = SequenceVAE(space, **{**CONVOLUTIONAL, "latent_dim": latent_dim})
    generator = torch.Generator().manual_seed(0)
    for design in model.sample(40, temperature=1.0, generator=generator):
        assert design is not None and space.parse(design) == design
    for row in model.generate(torch.randn(20, latent_dim, generator=generator)).tolist():
        end = row.index(EOS_ID)
        assert row[0] == BOS_ID and end >= 2 and PAD_ID not in row[1:end]
        assert space.length is None or end == space.length + 1


def test_convolutional_latents_are_local_and_reconstruct_after_training():
    space = SequenceSpace("dna", length=30)
    pl.seed_everything(0)
    model = SequenceVAE(space, **{**CONVOLUTIONAL, "latent_dim": 32})  # 16 positions x 2 channels
    designs = [
        "".join("ACGT"[i] for i in torch.randint(0, 4, (30,), generator=torch.Generator().manual_seed(s)))
        for s in range(64)
    ]
    changed = ("T" if designs[0][0] != "T" else "A") + designs[0][1:]
    with torch.no_grad():
        before, after = (model.encoder(space.encode([d]))[0].view(16, 2) for d in (designs[0], changed))
    # Latent position p reads tokens 2p - 4 .. 2p + 5 (two width-5 convolutions, then stride 2).
    assert not torch.allclose(before[:3], after[:3]) and torch.equal(before[3:], after[3:])

    datamodule = TokenDataModule(space.encode(designs), val_size=8, batch_size=16)
    _trainer(300).fit(model, datamodule=datamodule)
    reconstructed = model.decode_latents(model.encode_designs(designs))
    assert sum(r == d for r, d in zip(reconstructed, designs, strict=True)) >= 0.9 * len(designs)


def test_convolutional_latent_dim_must_fill_whole_positions():
    with pytest.raises(ValueError, match="multiple of its 5 latent positions"):
        SequenceVAE(SequenceSpace("dna", length=8), **{**CONVOLUTIONAL, "latent_dim": 7})


def _stepped_greedy_tokens(decoder, latents: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Greedy decoding by stepping `nn.GRU` through `forward` one token at a time, every row to the end."""
    width = allowed.shape[0] + 1
    tokens = torch.full((latents.shape[0], width), PAD_ID, dtype=torch.long)
    tokens[:, 0] = BOS_ID
    finished = torch.zeros(latents.shape[0], dtype=torch.bool)
    state = None
    for position in range(1, width):
        logits, state = decoder(latents, tokens[:, position - 1 : position], state)
        chosen = logits[:, -1].masked_fill(~allowed[position - 1], float("-inf")).argmax(-1)
        tokens[:, position] = chosen.masked_fill(finished, PAD_ID)
        finished |= chosen == EOS_ID
    return tokens


@pytest.mark.parametrize("layers", [1, 2])
def test_written_out_gru_generation_matches_stepping_the_module(layers):
    from genmbo.models.networks.sequence_decoder import GRUSequenceDecoder

    torch.manual_seed(0)
    decoder = GRUSequenceDecoder(12, latent_dim=6, embedding_dim=8, hidden_dim=16, num_layers=layers)
    decoder.eval()
    allowed = generation_mask(width=14, vocab_size=12, fixed_length=None)
    latents = 3 * torch.randn(200, 6)
    with torch.no_grad():
        expected = _stepped_greedy_tokens(decoder, latents, allowed)
    generated = decoder.generate(latents, allowed)
    assert torch.equal(generated, expected)
    lengths = (generated != PAD_ID).sum(1)
    assert lengths.min() < lengths.max()  # rows finish at different steps: the shrinking batch is exercised


def test_sampled_gru_generation_keeps_the_layout_and_is_reproducible():
    from genmbo.models.networks.sequence_decoder import GRUSequenceDecoder

    torch.manual_seed(0)
    decoder = GRUSequenceDecoder(12, latent_dim=6, embedding_dim=8, hidden_dim=16).eval()
    allowed = generation_mask(width=14, vocab_size=12, fixed_length=None)
    latents = torch.randn(100, 6)
    draws = [decoder.generate(latents, allowed, 1.0, torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])
    tokens = draws[0]
    assert (tokens[:, 0] == BOS_ID).all()
    for row in tokens.tolist():
        end = row.index(EOS_ID)  # every row ends: the last position allows only EOS
        assert end >= 2 and all(token not in (PAD_ID, BOS_ID, EOS_ID) for token in row[1:end])
        assert all(token == PAD_ID for token in row[end + 1 :])


def test_a_blown_up_posterior_variance_gives_a_finite_loss_and_gradients():
    # A training spike can drive an encoder's log-variances past 88, where exp overflows and the next update
    # turns every weight into NaN; the cap keeps the loss and its gradients finite.
    model, _, designs = _tiny_dna_model()
    tokens = model.space.encode(designs)
    with torch.no_grad():
        model.encoder.to_posterior.bias[model.hparams.latent_dim :] = 500.0  # the log-variance half
    model._losses(tokens)["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    # There is no lower bound (a very negative log-variance only costs its finite KL), so runs whose
    # posteriors stay below the cap train exactly as without it.
    fresh, _, _ = _tiny_dna_model()
    with torch.no_grad():
        fresh.encoder.to_posterior.bias[fresh.hparams.latent_dim :] = -200.0
        _, _, log_variance = fresh(tokens)
        loss = fresh._losses(tokens)["loss"]
    assert float(log_variance.max()) < -150 and torch.isfinite(loss)


def test_encoding_in_batches_gives_the_same_latents():
    space = SequenceSpace("dna", max_length=6)
    model = SequenceVAE(space, latent_dim=4, embedding_dim=8, hidden_dim=16).eval()
    designs = ["ACGT", "A", "GGCC", "TTTTT", "CA", "ACGTAC", "G"]
    whole = model.encode_designs(designs)
    assert whole.shape == (7, 4)
    assert torch.allclose(model.encode_designs(designs, batch_size=2), whole, atol=1e-6)


def test_gru_posterior_does_not_depend_on_trailing_padding():
    space = SequenceSpace("dna", max_length=8)
    model = SequenceVAE(space, latent_dim=4, embedding_dim=8, hidden_dim=16).eval()
    tokens = space.encode(["ACG", "TTTTGG", "A"])  # full width, as `encode_designs` pads
    trimmed = tokens[:, :8]  # as a training batch is trimmed to its longest row
    padded = torch.nn.functional.pad(tokens, (0, 5))  # more padding than the space needs
    with torch.no_grad():
        means = [model.encoder(rows)[0] for rows in (tokens, trimmed, padded, tokens[2:, :3])]
    for other in means[1:3]:
        assert torch.allclose(other, means[0], atol=1e-6)
    assert torch.allclose(means[3], means[0][2:], atol=1e-6)  # a row alone, without any padding
