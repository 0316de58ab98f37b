"""The one model that values designs for a library: it chooses them, polishes them, ranks them and fills
their `predicted_score`.

A design is valued by the design surrogate (`genmbo.models.surrogates.design`: a surrogate of the designs'
own tokens and k-mer counts) when the pipeline trained one, else by the latent surrogate at the design's
own encoding ``E(design)``, the only kind of input that surrogate was trained on (at a search's latent
that decodes to the design it is more optimistic and less accurate: on TFBind8 the correlation with the
oracle rose from 0.07 at the latents to 0.47 at the encodings). A design already measured is valued at
its measurement, with no uncertainty. The acquisition is ``mean - kappa * std``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from genmbo.models.surrogates.design import DesignSurrogate
from genmbo.models.surrogates.protocol import Surrogate
from genmbo.runtime.progress import showing_progress
from genmbo.spaces.base import DesignSpace


class DesignValues:
    """`predict(designs)` -> (mean, std), two `n` tensors; `acquisition(mean, std)` -> `n` values."""

    def __init__(
        self,
        space: DesignSpace,
        autoencoder: Any,
        surrogate: Surrogate,
        design_surrogate: DesignSurrogate | None,
        measured: dict[Any, float],
        kappa: float,
    ):
        self.space = space
        self.autoencoder = autoencoder
        self.surrogate = surrogate
        self.design_surrogate = design_surrogate
        self.measured = measured
        self.kappa = kappa

    def predict(self, designs: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        if not designs:
            return torch.zeros(0), torch.zeros(0)
        with torch.no_grad(), showing_progress(False):
            if self.design_surrogate is not None:
                mean, std = self.design_surrogate.predict(designs)
            else:
                mean, std = self.surrogate.predict(self.encode(designs))
        mean, std = mean.detach().float().cpu().clone(), std.detach().float().cpu().clone()
        for row, design in enumerate(designs):
            score = self.measured.get(self.space.key(design))
            if score is not None:
                mean[row], std[row] = score, 0.0
        return mean, std

    def acquisition(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        return mean - self.kappa * std

    def encode(self, designs: Sequence[Any]) -> torch.Tensor:
        """The designs' latent codes (`n x d`, float32)."""
        with torch.no_grad(), showing_progress(False):
            return self.autoencoder.encode_designs(list(designs)).float()
