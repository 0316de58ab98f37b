"""A sequence VAE over token designs (SELFIES molecules, DNA, proteins, any alphabet): the latent prior.

Model: a bidirectional GRU encoder to a diagonal Gaussian q(z|x), and an autoregressive GRU decoder
p(x|z) conditioned on z at every step, trained on the ELBO with a KL weight (Kingma & Welling, ICLR 2014,
eq. 10; the beta-weighted form of Higgins et al., ICLR 2017). Molecules are SELFIES token strings as in
the molecular VAE of Gómez-Bombarelli et al. (ACS Cent. Sci. 2018), which used SMILES characters and
a convolutional encoder; SELFIES makes every decoded string a valid molecule.

Posterior collapse is guarded against by KL annealing and free bits (`genmbo.models.kl_schedule`:
Bowman et al. 2016 sec. 3.1; Kingma et al. 2016 appendix C.8), optional word dropout on decoder inputs
(Bowman et al. 2016 sec. 3.1; departure: a dropped token becomes the zero PAD embedding, not UNK) and
z concatenated to every decoder input.

Why autoregressive, measured on this project's 2-core CPU (MOSES SELFIES, batch 128, Adam 1e-3, one
thread per process, two runs side by side), both with a bidirectional GRU encoder (hidden 256):

    decoder                                      parameters  s/step  reconstruction NLL, nats/molecule
    GRU, autoregressive (hidden 256)             884k        0.81    36.8 at step 200, 32.1 at step 300
    transformer, non-autoregressive (3 x 128)    831k        0.88    68.3 at step 200, 66.7 at step 250

Per step they cost the same, but the non-autoregressive decoder's likelihood was twice as poor: it must
place every ring and branch token from z alone, while the GRU reads its own prefix. (Greedy token
accuracy was still near the by-position baseline of 0.36 for both at that point: 0.31 and 0.39.)
Threads: a GRU forward+backward at batch 128 x 50 tokens took 0.09 s on 1 thread but 6.0 s on 2 while
the other core was busy (OpenMP threads spinning on a shared core), so scripts default to one thread.
The shipped prior (encoder hidden 128 per direction, decoder 256, latent 64; 506k parameters) trains at
0.33 s/step on one thread with the machine otherwise idle (0.25 s with an encoder that reads the padding).

Fixed-length spaces use `architecture="positionwise"` instead (MLP encoder over all token embeddings,
MLP decoder predicting every position from z at once; `genmbo.models.prior` picks it automatically).
Measured on Ehrlich s20-d32 (6,026 training sequences, batch 256, one thread, the other core busy): the
GRU pair reached 0.2% exact match and 35% token accuracy after 1,500 steps (z ignored: the decoder
learned the Markov transitions), the positionwise pair 95.5% / 98.5% after 4,000 steps in 83 s.

Longer fixed-length spaces use `architecture="convolutional"`: a latent *map* (``latent_dim / positions``
channels at each of ``ceil((length + 1) / stride)`` positions) read and written by 1-D convolutions, so
its weights are shared along the sequence. On Ehrlich s32-d64 (64 tokens, 32 states, 8,260 training
sequences) the positionwise pair memorised the training set (held-out token accuracy peaked at 24%,
0% exact), while the convolutional pair (32 channels, 4 latent channels per 2 tokens, KL weight 1e-4,
batch 128, cosine decay) reconstructed 100% of held-out sequences after ~900 steps, in 50 s including
the diffusion prior. Held-out exact match in a sweep of those settings on that task (CPU processes on
a GPU host): 2 latent channels per position 34-43% after 1,500-1,800 steps; 4 channels with KL weight
1e-3 66% (87% with cosine decay); 4 channels with KL weight 1e-4 99.8% after 1,100 steps at batch 256,
100% after 500 at batch 128; 64 convolution channels instead of 32 cost 2.6x per step.

Decoding is batched; greedy (`temperature=0`) or sampled with a `torch.Generator`. Logits are masked so
every decode is a design of the space: never BOS or PAD, no EOS before the first token, and in a
fixed-length space (TFBind8, Ehrlich) exactly `length` tokens then EOS.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from einops import rearrange

from genmbo.metrics.reconstruction import ExactMatch, MeanKL, TokenAccuracy
from genmbo.models.kl_schedule import LOG_VARIANCE_MAX, KLSchedule, free_bits_kl, gaussian_kl
from genmbo.models.networks.sequence_decoder import (
    ConvolutionalSequenceDecoder,
    GRUSequenceDecoder,
    PositionwiseSequenceDecoder,
)
from genmbo.models.networks.sequence_encoder import (
    ConvolutionalSequenceEncoder,
    GRUSequenceEncoder,
    PositionwiseSequenceEncoder,
)
from genmbo.models.transition_decoding import best_allowed_path, sample_allowed_path
from genmbo.runtime import workers
from genmbo.runtime.progress import track
from genmbo.runtime.workers import chunk_results
from genmbo.spaces.base import DesignSpace, space_from_dict
from genmbo.spaces.vocabulary import BOS_ID, EOS_ID, PAD_ID

ARCHITECTURES = ("gru", "positionwise", "convolutional")


def generation_mask(width: int, vocab_size: int, fixed_length: int | None) -> torch.Tensor:
    """Which token may be generated at each row position 1..width-1: a `(width - 1) x vocab` bool tensor."""
    allowed = torch.ones(width - 1, vocab_size, dtype=torch.bool)
    allowed[:, [PAD_ID, BOS_ID]] = False
    # Mask row r is row position r + 1. The first position cannot end the design (no empty designs), a
    # fixed-length design cannot end before `length` tokens, and the last position can only be EOS.
    allowed[0, EOS_ID] = False
    if fixed_length is not None:
        allowed[:fixed_length, EOS_ID] = False
    allowed[-1] = False
    allowed[-1, EOS_ID] = True
    return allowed


def token_ids(space: Any, dtype: type[np.integer], designs: list[Any]) -> np.ndarray:
    """`space.encode(designs)` as a NumPy matrix of `dtype` (a small one keeps many designs' ids compact)."""
    return space.encode(designs).numpy().astype(dtype)


def convolutional_positions(max_length: int, stride: int) -> int:
    """Latent positions of a convolutional VAE: one per `stride` decoded tokens (`max_length` and EOS)."""
    return -(-(max_length + 1) // stride)


class SequenceVAE(pl.LightningModule):
    """VAE over a token space; implements `LatentAutoencoder` (`space`, `latent_dim`, encode/decode)."""

    def __init__(
        self,
        space: DesignSpace | dict[str, Any],
        latent_dim: int = 64,
        embedding_dim: int = 64,
        hidden_dim: int = 256,
        encoder_hidden_dim: int | None = None,
        num_layers: int = 1,
        kl_weight: float = 0.1,
        kl_warmup_steps: int = 2000,
        free_bits: float = 0.0,
        word_dropout: float = 0.0,
        learning_rate: float = 1e-3,
        cosine_decay: bool = False,
        min_learning_rate_ratio: float = 0.05,
        architecture: str = "gru",
        conv_stride: int = 2,
        conv_channels: int = 32,
        allowed_transitions: list[list[int]] | None = None,
    ):
        super().__init__()
        space_state = space.to_dict() if isinstance(space, DesignSpace) else dict(space)
        self.save_hyperparameters(ignore=["space"])
        # The space's plain-dict form is a hyperparameter, so `load_from_checkpoint(path)` rebuilds it.
        self.hparams["space"] = space_state
        self.space = space_from_dict(space_state)
        if not hasattr(self.space, "vocabulary"):
            raise ValueError(f"a sequence VAE needs a token space, got kind {space_state['kind']!r}")
        self.latent_dim = latent_dim
        self.vocab_size = len(self.space.vocabulary)
        self.width = self.space.max_length + 2
        self.fixed_length = getattr(self.space, "length", None)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {architecture!r}; choose from {', '.join(ARCHITECTURES)}")
        self.autoregressive = architecture == "gru"
        if self.autoregressive:
            self.encoder = GRUSequenceEncoder(
                self.vocab_size, latent_dim, embedding_dim, encoder_hidden_dim or hidden_dim, num_layers
            )
            self.decoder = GRUSequenceDecoder(
                self.vocab_size, latent_dim, embedding_dim, hidden_dim, num_layers
            )
        elif architecture == "positionwise":
            self.encoder = PositionwiseSequenceEncoder(
                self.vocab_size, latent_dim, self.width, embedding_dim, encoder_hidden_dim or hidden_dim
            )
            self.decoder = PositionwiseSequenceDecoder(
                self.vocab_size, latent_dim, self.width - 1, hidden_dim
            )
        else:
            positions = convolutional_positions(self.space.max_length, conv_stride)
            if latent_dim % positions:
                raise ValueError(
                    f"a convolutional VAE's latent_dim must be a multiple of its {positions} latent "
                    f"positions (ceil((length + 1) / stride)), got {latent_dim}"
                )
            self.encoder = ConvolutionalSequenceEncoder(
                self.vocab_size,
                latent_dim // positions,
                self.width,
                conv_stride,
                embedding_dim,
                conv_channels,
            )
            self.decoder = ConvolutionalSequenceDecoder(
                self.vocab_size, latent_dim // positions, self.width - 1, conv_stride, conv_channels
            )
        self.kl_schedule = KLSchedule(kl_weight, kl_warmup_steps)
        self.register_buffer(
            "allowed_tokens",
            generation_mask(self.width, self.vocab_size, self.fixed_length),
            persistent=False,
        )
        self.transition_mask: torch.Tensor | None = None
        if allowed_transitions is not None:
            self.restrict_transitions(torch.tensor(allowed_transitions, dtype=torch.bool))
        self.train_token_accuracy = TokenAccuracy()
        self.train_kl = MeanKL()
        self.val_token_accuracy = TokenAccuracy()
        self.val_exact_match = ExactMatch()
        self.val_kl = MeanKL()

    # --- training -------------------------------------------------------------------------------------
    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher forcing on `batch x width` ids: `batch x (width-1) x vocab` logits, mean, log-variance."""
        mean, log_variance = self.encoder(tokens)
        log_variance = log_variance.clamp(max=LOG_VARIANCE_MAX)
        latents = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()
        inputs = tokens[:, :-1]
        if self.training and self.hparams.word_dropout > 0:
            dropped = torch.rand(inputs.shape, device=inputs.device) < self.hparams.word_dropout
            dropped[:, 0] = False  # BOS stays: it is the decoder's only cue where a sequence starts
            inputs = inputs.masked_fill(dropped, PAD_ID)
        if self.autoregressive:
            logits, _ = self.decoder(latents, inputs)
        else:
            # Training batches are trimmed to their longest row; keep the matching positions.
            logits = self.decoder(latents)[:, : inputs.shape[1]]
        return logits, mean, log_variance

    def _losses(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        logits, mean, log_variance = self(tokens)
        targets = tokens[:, 1:]
        # Sum over tokens, mean over sequences: the ELBO's per-sequence reconstruction term.
        reconstruction = (
            F.cross_entropy(
                rearrange(logits, "batch steps vocab -> (batch steps) vocab"),
                targets.reshape(-1),
                ignore_index=PAD_ID,
                reduction="sum",
            )
            / tokens.shape[0]
        )
        kl_per_dimension = gaussian_kl(mean, log_variance)
        kl_term = free_bits_kl(kl_per_dimension, self.hparams.free_bits)
        weight = self.kl_schedule.weight(self.global_step)
        return {
            "loss": reconstruction + weight * kl_term,
            "reconstruction": reconstruction,
            "kl": kl_per_dimension.sum(dim=1),
            "predictions": logits.argmax(dim=-1),
            "kl_weight": torch.tensor(weight),
        }

    def training_step(self, tokens: torch.Tensor, batch_index: int) -> torch.Tensor:
        losses = self._losses(tokens)
        self.train_token_accuracy(losses["predictions"], tokens[:, 1:])
        self.train_kl(losses["kl"])
        self.log("train/loss", losses["loss"], prog_bar=True)
        self.log("train/reconstruction", losses["reconstruction"])
        self.log("train/kl_weight", losses["kl_weight"])
        self.log("train/token_accuracy", self.train_token_accuracy)
        self.log("train/kl", self.train_kl)
        return losses["loss"]

    def validation_step(self, tokens: torch.Tensor, batch_index: int) -> None:
        losses = self._losses(tokens)
        # Validation reconstruction is what search relies on: greedy decoding of the posterior mean.
        mean, _ = self.encoder(tokens)
        decoded = self.generate(mean)
        self.val_token_accuracy(decoded[:, 1:], tokens[:, 1:])
        self.val_exact_match(decoded[:, 1:], tokens[:, 1:])
        self.val_kl(losses["kl"])
        batch_size = tokens.shape[0]
        self.log("val/loss", losses["loss"], batch_size=batch_size)
        self.log("val/reconstruction", losses["reconstruction"], batch_size=batch_size)
        self.log("val/token_accuracy", self.val_token_accuracy, batch_size=batch_size)
        self.log("val/exact_match", self.val_exact_match, batch_size=batch_size)
        self.log("val/kl", self.val_kl, batch_size=batch_size)

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)
        if not self.hparams.cosine_decay:
            return optimizer
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer,
            T_max=max(int(self.trainer.estimated_stepping_batches), 1),
            eta_min=self.hparams.learning_rate * self.hparams.min_learning_rate_ratio,
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # --- decoding -------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self, latents: torch.Tensor, temperature: float = 0.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Decode `batch x latent_dim` latents to `batch x width` ids; greedy if `temperature == 0`."""
        if not self.autoregressive:
            return self._generate_at_once(latents, temperature, generator)
        return self.decoder.generate(latents, self.allowed_tokens, temperature, generator)

    def restrict_transitions(self, allowed: torch.Tensor) -> None:
        """Decode only sequences whose consecutive tokens are `allowed` pairs (`vocab x vocab` bool), e.g.
        `transition_decoding.observed_transitions` of the offline designs; kept in the hyperparameters, so
        a saved model decodes the same way. Only non-autoregressive decoders of fixed-length spaces use it
        (`genmbo.models.transition_decoding`)."""
        if self.autoregressive or self.fixed_length is None:
            raise ValueError(
                "transition-restricted decoding needs a fixed length and a non-autoregressive decoder"
            )
        if allowed.shape != (self.vocab_size, self.vocab_size):
            expected = f"{self.vocab_size} x {self.vocab_size}"
            raise ValueError(f"allowed transitions must be {expected}, got {tuple(allowed.shape)}")
        self.transition_mask = allowed.bool().cpu()
        self.hparams["allowed_transitions"] = self.transition_mask.int().tolist()

    def lift_transition_restriction(self) -> None:
        """Decode every position on its own again (the undo of `restrict_transitions`)."""
        self.transition_mask = None
        self.hparams["allowed_transitions"] = None

    def _generate_at_once(
        self, latents: torch.Tensor, temperature: float, generator: torch.Generator | None
    ) -> torch.Tensor:
        logits = self.decoder(latents).masked_fill(~self.allowed_tokens, float("-inf"))
        if self.transition_mask is not None:
            # The fixed-length content positions as one path of allowed transitions; then the forced EOS.
            length = self.fixed_length
            log_probs = torch.log_softmax(
                logits[:, :length] / (temperature if temperature > 0 else 1.0), dim=-1
            )
            if temperature > 0:
                content = sample_allowed_path(log_probs, self.transition_mask, generator)
            else:
                content = best_allowed_path(log_probs, self.transition_mask)
            chosen = torch.cat([content, logits[:, length:].argmax(dim=-1)], dim=1)
        elif temperature > 0:
            probabilities = torch.softmax(logits / temperature, dim=-1)
            flat = rearrange(probabilities, "batch steps vocab -> (batch steps) vocab")
            chosen = torch.multinomial(flat, 1, generator=generator).view(latents.shape[0], -1)
        else:
            chosen = logits.argmax(dim=-1)
        tokens = torch.cat([torch.full_like(chosen[:, :1], BOS_ID), chosen], dim=1)
        # Everything after the first EOS is padding, as in the autoregressive layout.
        is_end = tokens == EOS_ID
        after_end = (is_end.cumsum(dim=1) - is_end.long()) > 0
        return tokens.masked_fill(after_end, PAD_ID)

    # --- LatentAutoencoder ----------------------------------------------------------------------------
    @torch.no_grad()
    def encode_designs(self, designs: Sequence[Any], batch_size: int = 512) -> torch.Tensor:
        """Posterior means of canonical designs: a `n x latent_dim` tensor.

        The designs are turned into token ids first, by worker processes where that is slow (SELFIES
        tokens of molecules outside the shipped subset's precomputed table: `genmbo.runtime.workers`),
        and kept as a compact id matrix, not as token lists (the full MOSES training set's lists alone
        are several GB). The encoder then reads batches of 512, which keep a GRU step's gate activations
        in the core's cache: the shipped MOSES encoder reads about 11,000 molecules a second on two
        threads of the development machine, against 8,000 in batches of 1,024."""
        was_training = self.training
        self.eval()
        designs = list(designs)
        dtype = np.int16 if self.vocab_size <= np.iinfo(np.int16).max else np.int64
        chunks = chunk_results(partial(token_ids, self.space, dtype), designs)
        total = -(-len(designs) // workers.CHUNK)
        ids = [torch.from_numpy(chunk) for chunk in track(chunks, "tokenizing designs", total=total)]
        tokens = torch.cat(ids) if ids else torch.empty(0, 0, dtype=torch.int16)
        del ids  # the chunks' copies: the matrix alone is held while the encoder reads it
        starts = range(0, len(designs), batch_size)
        means = [
            self.encoder(tokens[start : start + batch_size].long().to(self.device))[0]
            for start in track(starts, "encoding designs")
        ]
        self.train(was_training)
        return torch.cat(means) if means else torch.empty(0, self.latent_dim, device=self.device)

    @torch.no_grad()
    def decode_latents(
        self,
        latents: torch.Tensor,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        batch_size: int = 1024,
    ) -> list[Any]:
        """Decode `n x latent_dim` latents to canonical designs (`None` if undecodable); greedy by default."""
        was_training = self.training
        self.eval()
        latents = latents.to(self.device, self.dtype)
        designs = []
        chunks = latents.split(batch_size)
        for chunk in track(chunks, "decoding latents"):
            designs.extend(self.space.decode(self.generate(chunk, temperature, generator).cpu()))
        self.train(was_training)
        return designs

    def sample(
        self, num_samples: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> list[Any]:
        """Designs decoded from `num_samples` prior draws z ~ N(0, I)."""
        latents = torch.randn(num_samples, self.latent_dim, generator=generator)
        return self.decode_latents(latents, temperature, generator)
