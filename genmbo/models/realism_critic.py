"""A realism critic of a prior's latents: how likely a latent is to decode to a design the data would hold.

The latent diffusion of the shipped MOSES prior samples latents whose molecules are far less realistic
than the data's (docs/priors.md, "Where realism is lost"): realism holds only near the codes of real
molecules, and neither a larger diffusion nor eight times the data brought its samples there. The critic
is a classifier trained on the prior's *own* samples, each labelled by what its decoded design is: it
predicts ``p(realistic | z)``, realistic meaning that the campaign's realism filter keeps the design
(`genmbo.selection.constraints.DesignFilter` with the data's bounds: SA score, ring sizes, PAINS and the
alerts rare in the data). It learns where in the latent space the decoder writes such designs,
which is not simply where the real latents are densest.

Sampling keeps, of ``pool`` times as many latents as it returns, those the critic rates most realistic
(`most_realistic`; `Prior.sample_designs(..., realism_pool=K)`). Keeping each latent with probability
``p(realistic | z)`` would draw exactly from ``p(z | realistic)`` (Bayes' rule: ``p(z) p(realistic | z)``,
von Neumann's rejection sampling, 1951); keeping the top share instead sharpens that toward the region
the critic is surest of, at a cost in diversity that the pool size sets (docs/priors.md, "Choosing
samples by a realism critic"). The critic only ranks samples the diffusion drew, so it is never
asked about latents far from those it was trained on: steering samples by its gradient (classifier
guidance, Dhariwal & Nichol, NeurIPS 2021, Sec. 4.2), tried on the same prior, pushed them off that
region at large scales and there decoded molecules less realistic than unguided ones. The flagship does
follow its gradient, at a moderate weight and beside the surrogate's (`search.realism_weight`,
`genmbo.search.objectives.WithRealism`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torchmetrics.classification import BinaryAUROC

from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.models.networks.mlp import MLP
from genmbo.models.training import build_trainer, resume_path


class RealismCritic(pl.LightningModule):
    """``logit p(realistic | z)`` of latents in the autoencoder's scale: an MLP on standardized latents.

    Args:
        latent_dim: the latents' dimension.
        hidden_dims: the MLP's hidden widths.
        learning_rate: AdamW's peak rate, annealed to 0 over `max_steps` by a cosine schedule.
        weight_decay: AdamW's decoupled weight decay.
        max_steps: the length of the schedule (the training steps `fit_realism_critic` runs).
    """

    def __init__(
        self,
        latent_dim: int,
        hidden_dims: Sequence[int] = (512, 512),
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        max_steps: int = 3000,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.network = MLP(latent_dim, list(hidden_dims), 1)
        self.register_buffer("latent_mean", torch.zeros(latent_dim))
        self.register_buffer("latent_std", torch.ones(latent_dim))
        # How well it ranks, which is all sampling asks of it: with few realistic draws, accuracy barely
        # moves from the base rate.
        self.val_auroc = BinaryAUROC()

    def fit_standardization(self, latents: torch.Tensor) -> None:
        """Standardize inputs by the per-dimension mean and std of `n x d` latents."""
        self.latent_mean.copy_(latents.mean(0))
        self.latent_std.copy_(latents.std(0).clamp_min(1e-6))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """`n` logits of `n x d` latents in the autoencoder's scale."""
        return self.network((latents - self.latent_mean) / self.latent_std).squeeze(-1)

    @torch.no_grad()
    def most_realistic(self, latents: torch.Tensor, count: int) -> torch.Tensor:
        """Indices of the `count` rows of `n x d` latents with the highest logits, in increasing order."""
        logits = self(latents.float())
        return logits.topk(count).indices.sort().values

    def training_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> torch.Tensor:
        latents, labels = batch
        loss = F.binary_cross_entropy_with_logits(self(latents), labels)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> None:
        latents, labels = batch
        logits = self(latents)
        self.log("val_loss", F.binary_cross_entropy_with_logits(logits, labels))
        self.val_auroc.update(logits, labels.long())
        self.log("val_auroc", self.val_auroc)

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.learning_rate, weight_decay=self.hparams.weight_decay
        )
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.hparams.max_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def realism_labels(designs: Sequence[Any], keeps: Callable[[Any], bool]) -> torch.Tensor:
    """A `n` float tensor: 1 where a design exists (not None) and `keeps` it, else 0."""
    return torch.tensor([float(design is not None and keeps(design)) for design in designs])


def fit_realism_critic(
    latents: torch.Tensor,
    labels: torch.Tensor,
    run_dir: Path,
    max_steps: int = 3000,
    batch_size: int = 512,
    hidden_dims: Sequence[int] = (512, 512),
    seed: int = 0,
) -> tuple[RealismCritic, float]:
    """Train a `RealismCritic` on `n x d` latents and their `n` 0/1 labels (`realism_labels` of their
    decoded designs); a rerun resumes from `run_dir/last.ckpt`. Returns the critic and its AUROC on the
    5% of the rows held out for validation."""
    if latents.dim() != 2 or labels.shape != (latents.shape[0],):
        raise ValueError(
            f"latents must be n x d and labels n, got {tuple(latents.shape)} and {tuple(labels.shape)}"
        )
    if not bool(((labels == 0) | (labels == 1)).all()):
        raise ValueError("realism labels must be 0 or 1")
    pl.seed_everything(seed, verbose=False)
    critic = RealismCritic(latents.shape[1], hidden_dims, max_steps=max_steps)
    critic.fit_standardization(latents.float())
    data = LatentDataModule(latents, labels, batch_size=batch_size, val_fraction=0.05, seed=seed)
    trainer = build_trainer(run_dir, max_steps)
    trainer.fit(critic, datamodule=data, ckpt_path=resume_path(run_dir))
    (validation,) = trainer.validate(critic, datamodule=data, verbose=False)
    return critic.eval(), validation["val_auroc"]
