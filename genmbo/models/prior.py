"""The generative prior of a campaign: an autoencoder (designs <-> latents) plus a latent diffusion model.

`fit_prior` trains both on an offline dataset (or loads given checkpoints), `load_prior` rebuilds a saved
prior from its folder with no other input, and `Prior.sample_designs` draws new designs: latent diffusion
samples decoded by the autoencoder. The split follows latent diffusion (Rombach et al., CVPR 2022, Sec.
3): the autoencoder carries the design's syntax, the diffusion model the distribution of its latents.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from genmbo.config import AutoencoderConfig, DiffusionConfig, PriorConfig
from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.data.offline import OfflineDataset
from genmbo.data.score_weighting import ddom_weights
from genmbo.data.token_datamodule import TokenDataModule
from genmbo.data.weighted_latent_datamodule import WeightedLatentDataModule
from genmbo.errors import ConfigError, GenmboError
from genmbo.models.autoencoder import LatentAutoencoder
from genmbo.models.checkpoints import load_module, save_weights
from genmbo.models.encoding_cache import encode_designs_cached
from genmbo.models.identity_autoencoder import IdentityAutoencoder
from genmbo.models.latent_diffusion import LatentDiffusion, Sampler
from genmbo.models.prior_sampling import Precision, draw_designs
from genmbo.models.realism_critic import RealismCritic
from genmbo.models.sequence_vae import SequenceVAE, convolutional_positions
from genmbo.models.training import build_trainer, resume_path
from genmbo.models.transition_decoding import observed_transitions
from genmbo.models.vector_vae import VectorVAE
from genmbo.outputs.files import write_json
from genmbo.spaces import ContinuousSpace, MoleculeSpace

PRIOR_MANIFEST = "prior.json"
CRITIC_CHECKPOINT = "realism_critic.ckpt"
# The shipped MOSES prior (scripts/train_moses_prior.py, scripts/train_moses_diffusion.py), in a source
# checkout or editable install.
SHIPPED_MOSES_PRIOR = Path(__file__).resolve().parents[2] / "checkpoints" / "moses"
AUTOENCODER_CLASSES = {"sequence_vae": SequenceVAE, "vector_vae": VectorVAE}


@dataclass
class Prior:
    """An autoencoder and a latent diffusion, and optionally a realism critic of the latents
    (`genmbo.models.realism_critic`) by which `sample_designs` may choose among more samples."""

    autoencoder: LatentAutoencoder
    diffusion: LatentDiffusion
    critic: RealismCritic | None = None

    @torch.no_grad()
    def sample_latents(
        self,
        num_samples: int,
        generator: torch.Generator,
        sampler: Sampler = "ddim",
        **kwargs,
    ) -> torch.Tensor:
        """A `num_samples x latent_dim` tensor of latents drawn from the diffusion prior (DDIM, 50 steps,
        unless told otherwise: `genmbo.models.latent_diffusion`)."""
        self.diffusion.eval()
        return self.diffusion.sample(num_samples, generator, sampler=sampler, **kwargs)

    def sample_designs(
        self,
        num_samples: int,
        generator: torch.Generator,
        sampler: Sampler = "ddim",
        num_steps: int | None = None,
        precision: Precision = "float32",
        realism_pool: int = 1,
    ) -> list[Any]:
        """Designs decoded (greedily) from diffusion samples; `None` where a latent decodes to nothing. Large
        draws on the CPU are split across processes, and `precision="bfloat16"` runs the networks in
        bfloat16 (`genmbo.models.prior_sampling`). With `realism_pool` above 1, each design is one of the
        latents the critic rates most realistic among `realism_pool` times as many samples."""
        return draw_designs(
            self.diffusion,
            self.autoencoder,
            num_samples,
            generator,
            sampler,
            num_steps,
            precision,
            self.critic,
            realism_pool,
        )

    def save(self, folder: Path) -> None:
        """Write `prior.json` beside the checkpoints so `load_prior(folder)` needs nothing else (the
        critic's weights, if any, are written to `realism_critic.ckpt`)."""
        manifest = {"autoencoder": _autoencoder_entry(self.autoencoder), "diffusion": "diffusion.ckpt"}
        if self.critic is not None:
            save_weights(self.critic, folder / CRITIC_CHECKPOINT)
            manifest["realism_critic"] = CRITIC_CHECKPOINT
        write_json(folder / PRIOR_MANIFEST, manifest)


def _autoencoder_entry(autoencoder: LatentAutoencoder) -> dict[str, Any]:
    if isinstance(autoencoder, IdentityAutoencoder):
        return {"kind": "identity", **autoencoder.to_dict()}
    kind = next(name for name, cls in AUTOENCODER_CLASSES.items() if isinstance(autoencoder, cls))
    return {"kind": kind, "checkpoint": "autoencoder.ckpt"}


def load_autoencoder(kind: str, checkpoint: str | Path) -> LatentAutoencoder:
    return load_module(AUTOENCODER_CLASSES[kind], checkpoint, "autoencoder")


def load_prior(folder: str | Path) -> Prior:
    """Rebuild a prior saved by `fit_prior` (or shipped in `checkpoints/`) from its folder."""
    folder = Path(folder)
    manifest_path = folder / PRIOR_MANIFEST
    if not manifest_path.is_file():
        raise GenmboError(f"{folder}: not a saved prior (no {PRIOR_MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["autoencoder"]
    if entry["kind"] == "identity":
        autoencoder: LatentAutoencoder = IdentityAutoencoder.from_dict(entry)
    else:
        autoencoder = load_autoencoder(entry["kind"], folder / entry["checkpoint"])
    diffusion = load_module(LatentDiffusion, folder / manifest["diffusion"], "latent diffusion")
    critic = None
    if "realism_critic" in manifest:
        critic = load_module(RealismCritic, folder / manifest["realism_critic"], "realism critic")
    return Prior(autoencoder, diffusion, critic)


def resolve_autoencoder_kind(config: AutoencoderConfig, dataset: OfflineDataset) -> str:
    if config.kind != "auto":
        return config.kind
    space = dataset.space
    if not isinstance(space, ContinuousSpace):
        return "sequence_vae"
    return "identity" if space.dim <= config.identity_max_dim else "vector_vae"


def fit_prior(
    dataset: OfflineDataset,
    config: PriorConfig,
    folder: Path,
    seed: int = 0,
    needs_condition: bool = True,
) -> Prior:
    """Train (or load) the autoencoder, encode the data, train the diffusion prior; save all in `folder`.

    Rerunning with the same arguments resumes an interrupted training from its `last.ckpt`.
    `needs_condition` says whether the search needs a score-conditioned diffusion (DDOM); if not,
    ``diffusion.checkpoint: auto`` may load the shipped, unconditional MOSES diffusion.
    """
    return fit_prior_and_encode(dataset, config, folder, seed, needs_condition)[0]


def fit_prior_and_encode(
    dataset: OfflineDataset,
    config: PriorConfig,
    folder: Path,
    seed: int = 0,
    needs_condition: bool = True,
) -> tuple[Prior, torch.Tensor]:
    """`fit_prior`, also returning the `n x d` latents (posterior means) of the dataset's labeled designs.

    The prior trains on the labeled and the unlabeled designs (`OfflineDataset.unlabeled`); a conditional
    diffusion sees the unlabeled ones without a score (`LatentDiffusion`'s null condition)."""
    labeled = len(dataset)
    dataset = dataset.with_unlabeled_rows()
    if len(dataset) < 2:
        raise GenmboError(f"a prior needs at least 2 distinct designs to train on, got {len(dataset)}")
    folder.mkdir(parents=True, exist_ok=True)
    # Small models train fastest on `config.threads` threads; encoding a large dataset uses them all.
    with _threads(config.threads):
        autoencoder, shipped = _fit_autoencoder(dataset, config.autoencoder, folder, seed)
    latents = encode_designs_cached(autoencoder, dataset.designs)
    check_finite_latents(latents)
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    diffusion_config = config.diffusion
    if diffusion_config.checkpoint == "auto":
        use_shipped = shipped and not needs_condition
        checkpoint = str(SHIPPED_MOSES_PRIOR / "diffusion.ckpt") if use_shipped else None
        diffusion_config = diffusion_config.model_copy(update={"checkpoint": checkpoint})
    with _threads(config.threads):
        diffusion = _fit_diffusion(latents, scores, diffusion_config, folder, seed)
    # The shipped VAE's latents come with its realism critic, whichever diffusion samples them.
    shipped_critic = SHIPPED_MOSES_PRIOR / CRITIC_CHECKPOINT
    critic = None
    if shipped and shipped_critic.is_file():
        critic = load_module(RealismCritic, shipped_critic, "realism critic")
    prior = Prior(autoencoder, diffusion, critic)
    prior.save(folder)
    return prior, latents[:labeled]


def check_finite_latents(latents: torch.Tensor) -> None:
    """Raise one line when any design encodes to a non-finite latent: every later stage (the diffusion's
    statistics, the surrogate, the step-size policy's normalized states) would be NaN from there on."""
    bad = int((~torch.isfinite(latents).all(1)).sum())
    if bad:
        raise GenmboError(
            f"the autoencoder encodes {bad} of {len(latents)} designs to non-finite latents (its training "
            "diverged or its checkpoint is damaged): retrain the prior, e.g. with another run.seed or a "
            "lower prior.autoencoder.learning_rate"
        )


@contextlib.contextmanager
def _threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _apply_transition_setting(model: Any, dataset: OfflineDataset, config: AutoencoderConfig) -> None:
    """`observed_transitions_only` for a fixed-length, non-autoregressive sequence VAE, trained here or
    loaded: restrict decoding to the transitions of this data, or lift a restriction the file carried."""
    if not isinstance(model, SequenceVAE) or model.autoregressive or model.fixed_length is None:
        return
    if config.observed_transitions_only:
        content = dataset.encoded()[:, 1 : 1 + model.fixed_length]
        model.restrict_transitions(observed_transitions(content, model.vocab_size))
    else:
        model.lift_transition_restriction()


# Fixed-length spaces longer than this get the convolutional VAE: the positionwise MLPs memorised Ehrlich
# s32-d64's 8,260 training sequences and reconstructed none of the held-out ones exactly.
POSITIONWISE_MAX_LENGTH = 32


def resolve_sequence_architecture(config: AutoencoderConfig, space: Any) -> str:
    """The sequence VAE architecture `auto` stands for: positionwise for fixed lengths up to
    `POSITIONWISE_MAX_LENGTH`, convolutional for longer fixed lengths, GRU for variable lengths."""
    if config.architecture != "auto":
        return config.architecture
    length = getattr(space, "length", None)
    if length is None:
        return "gru"
    return "positionwise" if length <= POSITIONWISE_MAX_LENGTH else "convolutional"


def _fit_autoencoder(
    dataset: OfflineDataset, config: AutoencoderConfig, folder: Path, seed: int
) -> tuple[LatentAutoencoder, bool]:
    """The autoencoder, and whether it is the shipped MOSES VAE."""
    kind = resolve_autoencoder_kind(config, dataset)
    if kind == "identity":
        if not isinstance(dataset.space, ContinuousSpace):
            raise GenmboError("the identity autoencoder needs a continuous design space")
        return IdentityAutoencoder(dataset.space), False
    checkpoint = config.checkpoint
    if checkpoint == "auto":
        checkpoint = _shipped_autoencoder_for(dataset, kind)
    if checkpoint is not None:
        autoencoder = load_autoencoder(kind, checkpoint)
        theirs, ours = autoencoder.space.to_dict(), dataset.space.to_dict()
        # Token spaces must match exactly (the checkpoint's vocabulary defines the embedding rows);
        # vector spaces in kind and dimension (standardization statistics may differ).
        same = theirs == ours if kind == "sequence_vae" else _same_vector_space(theirs, ours)
        if not same:
            raise GenmboError(
                f"{checkpoint}: an autoencoder of another design space ({_describe_space(theirs)}), "
                f"not the data's ({_describe_space(ours)})"
            )
        _apply_transition_setting(autoencoder, dataset, config)
        save_weights(autoencoder, folder / "autoencoder.ckpt")
        shipped = Path(checkpoint).resolve() == (SHIPPED_MOSES_PRIOR / "autoencoder.ckpt").resolve()
        return autoencoder, shipped
    pl.seed_everything(seed, verbose=False)
    if kind == "sequence_vae":
        architecture = resolve_sequence_architecture(config, dataset.space)
        config = config.with_defaults(architecture)
        if architecture == "convolutional":
            # Four latent channels per position unless told otherwise (two reconstructed far worse).
            positions = convolutional_positions(dataset.space.max_length, config.conv_stride)
            latent_dim = config.latent_dim or 4 * positions
            if latent_dim % positions:
                raise ConfigError(
                    f"prior.autoencoder.latent_dim must be a multiple of the convolutional VAE's {positions} "
                    f"latent positions (ceil((length + 1) / conv_stride)), got {latent_dim}"
                )
        else:
            latent_dim = config.latent_dim or (16 if dataset.space.max_length <= 16 else 64)
        model: pl.LightningModule = SequenceVAE(
            dataset.space,
            latent_dim=latent_dim,
            embedding_dim=config.embedding_dim,
            hidden_dim=config.hidden_dim,
            kl_weight=config.kl_weight,
            kl_warmup_steps=config.kl_warmup_steps,
            free_bits=config.free_bits,
            word_dropout=config.word_dropout,
            learning_rate=config.learning_rate,
            cosine_decay=config.cosine_decay,
            architecture=architecture,
            conv_stride=config.conv_stride,
            conv_channels=config.conv_channels,
        )
        # 5% held out for validation, at least one row (tiny user datasets too).
        validation_rows = max(1, len(dataset) // 20)
        data: pl.LightningDataModule = TokenDataModule(
            dataset.encoded(), val_size=validation_rows, batch_size=config.batch_size, seed=seed
        )
    else:
        config = config.with_defaults("vector")
        model = VectorVAE(
            dataset.space,
            latent_dim=config.latent_dim or max(2, dataset.space.dim // 2),
            hidden_dims=(config.hidden_dim, config.hidden_dim),
            learning_rate=config.learning_rate,
            beta=config.kl_weight,
            kl_warmup_steps=config.kl_warmup_steps,
            free_bits=config.free_bits,
        )
        data = LatentDataModule(dataset.encoded(), batch_size=config.batch_size, val_fraction=0.05, seed=seed)
    run_dir = folder / "autoencoder"
    trainer = build_trainer(run_dir, config.max_steps, limit_val_batches=4)
    trainer.fit(model, datamodule=data, ckpt_path=resume_path(run_dir))
    _apply_transition_setting(model, dataset, config)
    save_weights(model, folder / "autoencoder.ckpt")
    return model.eval(), False


def _same_vector_space(theirs: dict[str, Any], ours: dict[str, Any]) -> bool:
    return theirs.get("kind") == ours.get("kind") and theirs.get("dim") == ours.get("dim")


def _describe_space(space: dict[str, Any]) -> str:
    if space.get("kind") == "continuous":
        return f"{space['dim']}-d vectors"
    if space.get("kind") == "sequence":
        alphabet = space["alphabet"]
        return (
            f"sequences over {len(alphabet)} tokens, length {space.get('length') or space.get('max_length')}"
        )
    return str(space.get("kind"))


def _shipped_autoencoder_for(dataset: OfflineDataset, kind: str) -> Path | None:
    """The shipped MOSES VAE when the data are molecules in its vocabulary, else None (train one)."""
    shipped = SHIPPED_MOSES_PRIOR / "autoencoder.ckpt"
    if kind != "sequence_vae" or not isinstance(dataset.space, MoleculeSpace) or not shipped.is_file():
        return None
    return shipped if dataset.space.to_dict() == MoleculeSpace().to_dict() else None


def _fit_diffusion(
    latents: torch.Tensor, scores: torch.Tensor, config: DiffusionConfig, folder: Path, seed: int
) -> LatentDiffusion:
    pl.seed_everything(seed, verbose=False)
    steps = config.max_steps
    if config.checkpoint is not None:
        diffusion = load_module(LatentDiffusion, config.checkpoint, "latent diffusion", latents.shape[1])
        if not config.fine_tune:
            save_weights(diffusion, folder / "diffusion.ckpt")
            return diffusion
        # Fine-tuning keeps the loaded model's latent statistics (its coordinates) and architecture.
        diffusion.hparams.learning_rate = config.fine_tune_learning_rate
        diffusion.hparams.ema_decay = config.ema_decay
        diffusion.train()  # loaded in eval mode, which Lightning would keep during training
        steps = config.fine_tune_steps
    else:
        diffusion = LatentDiffusion(
            latents.shape[1],
            hidden_dim=config.hidden_dim,
            num_blocks=config.num_blocks,
            conditional=config.conditional,
            condition_dropout=config.condition_dropout,
            learning_rate=config.learning_rate,
            ema_decay=config.ema_decay,
        )
    conditional = bool(diffusion.hparams.conditional)
    weights = _diffusion_weights(scores) if conditional and config.reweight else None
    data = WeightedLatentDataModule(
        latents,
        scores if conditional else None,
        weights=weights,
        batch_size=config.batch_size,
        val_fraction=0.05,
        seed=seed,
    )
    run_dir = folder / "diffusion"
    trainer = build_trainer(run_dir, steps, limit_val_batches=4)
    trainer.fit(diffusion, datamodule=data, ckpt_path=resume_path(run_dir))
    save_weights(diffusion, folder / "diffusion.ckpt")
    return diffusion.eval()


def _diffusion_weights(scores: torch.Tensor) -> torch.Tensor:
    """DDOM's weights over the labeled rows (`ddom_weights`); each unlabeled row (NaN score) is drawn as
    often as an average labeled one, so the reweighting keeps its shape among the labeled rows."""
    labeled = torch.isfinite(scores)
    weights = torch.zeros(scores.shape[0])
    weights[labeled] = ddom_weights(scores[labeled])
    weights[~labeled] = 1.0 / int(labeled.sum())
    return weights
