"""An exponential moving average of a diffusion denoiser's weights, the weights it samples with.

Diffusion models sample markedly better from an average of their recent weights than from the last
iterate of the optimizer (Ho et al. 2020, arXiv 2006.11239, App. B: EMA decay 0.9999; Song & Ermon 2020,
arXiv 2006.09011, Sec. 3.5). `DenoiserAverage` keeps ``avg <- decay * avg + (1 - decay) * w`` after every
training step (torch's `AveragedModel` with `get_ema_multi_avg_fn`; the first step copies the weights)
and writes the average into the denoiser when fitting ends.

Only the denoiser's parameters are averaged. Lightning's `WeightAveraging` averages the whole module and
copies its buffers back at the end from a copy taken before `LatentDiffusion` fits its latent
standardization (at the start of training), which would undo that fit. The average travels in the
callback's state, and is written into the denoiser only after Lightning's last checkpoint, so a run
resumed from `last.ckpt` continues from the last iterate and ends with the same weights as an
uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


class DenoiserAverage(pl.Callback):
    """EMA of ``module.denoiser``'s parameters with `decay` in (0, 1), copied into it when fitting ends."""

    def __init__(self, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.average: AveragedModel | None = None

    @property
    def state_key(self) -> str:
        return f"DenoiserAverage[decay={self.decay}]"

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # Before a checkpoint is restored, so `load_state_dict` has an average to load into.
        if stage == "fit":
            self.average = AveragedModel(
                pl_module.denoiser, multi_avg_fn=get_ema_multi_avg_fn(self.decay), use_buffers=False
            )

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_index: int
    ) -> None:
        self.average.update_parameters(pl_module.denoiser)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Not at `on_train_end`: `ModelCheckpoint` may save `last.ckpt` there, and a resume has to start from
        # the last iterate, not from the average.
        if int(self.average.n_averaged) > 0:
            pl_module.denoiser.load_state_dict(self.average.module.state_dict())

    def state_dict(self) -> dict[str, Any]:
        return {} if self.average is None else {"average": self.average.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "average" in state_dict and self.average is not None:
            self.average.load_state_dict(state_dict["average"])
