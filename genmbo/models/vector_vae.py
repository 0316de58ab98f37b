"""A variational autoencoder for real vectors of a `ContinuousSpace` (Kingma & Welling 2014).

The VAE sees the space's standardized vectors, so one set of defaults fits any data scale. Its likelihood
is a Gaussian with a learned per-dimension noise scale (the "sigma-VAE" of Rybkin et al. 2021): with a
fixed unit variance on standardized data, a decoder that outputs the mean already pays little for
ignoring the latent, and the posterior collapses. Two more guards against collapse are configurable: a
linear warm-up of the KL weight from 0 to `beta` (Bowman et al. 2016) and free bits, a floor of
`free_bits` nats per latent dimension under which KL is not penalized (Kingma et al. 2016,
autoregressive flows, arXiv 1606.04934).

Loss per batch (negative ELBO with the two guards)::

    -log N(x | mu_theta(z), diag sigma^2) + beta_t * sum_j max(free_bits, mean_batch KL_j),  z ~ q(z | x)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch

from genmbo.models.kl_schedule import LOG_VARIANCE_MAX, gaussian_kl
from genmbo.models.networks.mlp import MLP
from genmbo.spaces import ContinuousSpace, space_from_dict


class VectorVAE(pl.LightningModule):
    """Encoder ``x -> (mu, log sigma^2)`` and decoder ``z -> x`` MLPs over standardized vectors.

    Implements `LatentAutoencoder`. A checkpoint rebuilds the model and its space alone:
    ``VectorVAE.load_from_checkpoint(path)``.

    Args:
        space: the design space (or its `to_dict()`); its mean and std define the standardization.
        latent_dim: width of the latent code.
        hidden_dims: hidden widths of the encoder; the decoder mirrors them.
        beta: final KL weight.
        kl_warmup_steps: optimizer steps over which the KL weight rises linearly from 0 to `beta`.
        free_bits: KL floor per latent dimension, in nats (0 disables it).
        min_log_scale: lower bound of the learned log noise scale, so the likelihood cannot diverge on
            data that the decoder fits exactly (duplicated rows, constant coordinates).
    """

    def __init__(
        self,
        space: ContinuousSpace | dict[str, Any],
        latent_dim: int = 8,
        hidden_dims: Sequence[int] = (256, 256),
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        beta: float = 1.0,
        kl_warmup_steps: int = 1000,
        free_bits: float = 0.0,
        min_log_scale: float = -5.0,
    ):
        super().__init__()
        space = space_from_dict(space) if isinstance(space, dict) else space
        if not isinstance(space, ContinuousSpace):
            raise TypeError(f"VectorVAE needs a ContinuousSpace, got {type(space).__name__}")
        # The space is stored as plain values so the checkpoint loads with torch.load(weights_only=True).
        self.save_hyperparameters(ignore=["space"])
        self.hparams["space"] = space.to_dict()
        self.space = space
        self.latent_dim = latent_dim
        self.encoder = MLP(space.dim, hidden_dims, 2 * latent_dim)
        self.decoder = MLP(latent_dim, list(reversed(hidden_dims)), space.dim)
        self.log_noise_scale = torch.nn.Parameter(torch.zeros(space.dim))

    def encode(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z | x)`` of a `n x dim` standardized tensor: `n x latent_dim` mean and log-variance."""
        mean, log_variance = self.encoder(vectors).chunk(2, dim=-1)
        return mean, log_variance

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Likelihood mean of a `n x latent_dim` tensor: a `n x dim` tensor in the standardized scale."""
        return self.decoder(latents)

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        """Reconstruct a `n x dim` standardized tensor through the posterior mean (no sampling)."""
        return self.decode(self.encode(vectors)[0])

    @torch.no_grad()
    def encode_designs(self, designs: Sequence[Any]) -> torch.Tensor:
        """Posterior means of canonical designs: a `n x latent_dim` tensor."""
        return self.encode(self.space.encode(designs).to(self.device))[0]

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> list[tuple[float, ...]]:
        """Designs (clipped to the space's bounds) of a `n x latent_dim` tensor."""
        return self.space.decode(self.decode(latents.to(self.device, self.dtype)))

    def kl_weight(self) -> float:
        """The KL weight at the current optimizer step (linear warm-up to `beta`)."""
        warmup = self.hparams.kl_warmup_steps
        progress = 1.0 if warmup <= 0 else min(1.0, (self.global_step + 1) / warmup)
        return self.hparams.beta * progress

    def loss_terms(self, vectors: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruction NLL and KL (nats per row, batch means) of a `n x dim` standardized batch."""
        mean, log_variance = self.encode(vectors)
        log_variance = log_variance.clamp(max=LOG_VARIANCE_MAX)
        latents = mean + torch.randn_like(mean) * torch.exp(0.5 * log_variance)
        log_scale = self.log_noise_scale.clamp(min=self.hparams.min_log_scale)
        residual = (vectors - self.decode(latents)) * torch.exp(-log_scale)
        nll = (0.5 * residual.square() + log_scale + 0.5 * math.log(2 * math.pi)).sum(-1).mean()
        kl_per_dim = gaussian_kl(mean, log_variance).mean(0)
        penalized_kl = kl_per_dim.clamp(min=self.hparams.free_bits).sum()
        return {"reconstruction_nll": nll, "kl": kl_per_dim.sum(), "penalized_kl": penalized_kl}

    def _step(self, batch: Sequence[torch.Tensor], stage: str) -> torch.Tensor:
        vectors = batch[0]
        terms = self.loss_terms(vectors)
        beta = self.kl_weight()
        loss = terms["reconstruction_nll"] + beta * terms["penalized_kl"]
        with torch.no_grad():
            reconstruction_mse = (self(vectors) - vectors).square().mean()
        on_step = stage == "train"
        self.log(f"{stage}/loss", loss, prog_bar=True, on_step=on_step, on_epoch=not on_step)
        self.log_dict(
            {
                f"{stage}/reconstruction_nll": terms["reconstruction_nll"],
                f"{stage}/kl": terms["kl"],
                f"{stage}/reconstruction_mse": reconstruction_mse,
            },
            on_step=on_step,
            on_epoch=not on_step,
        )
        if on_step:
            self.log("train/kl_weight", beta)
        return loss

    def training_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.learning_rate, weight_decay=self.hparams.weight_decay
        )
