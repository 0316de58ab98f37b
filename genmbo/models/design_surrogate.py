"""A second surrogate that sees the designs themselves, for choosing among designs the search has decoded.

The campaign's surrogate predicts a design's score from its latent code, so that search can follow its
gradient; but a 16-dimensional latent keeps less of a design than the design does. On TFBind8 the same
deep ensemble (`genmbo.models.surrogate`, same configuration and seeds) trained on one-hot designs ranks
the whole space better: the best 128 new designs by its pessimistic prediction score 0.982 (mean of seeds
0-4; 50th percentile 0.888), by the latent surrogate's 0.973 (0.784)
(`scripts/tfbind8_screening_ceiling.py --features onehot`). It has no latent gradient, so it cannot guide
the diffusion; the flagship uses it where the candidates are designs already: to value the neighbors its
polishing visits (`genmbo.search.design_selection.NewDesigns.polished`).

Features: the one-hot tokens of fixed-length sequences (``length x alphabet`` inputs, the input of
Design-Bench's and RaM's TFBind8 models). Other spaces have no design surrogate here (None): variable-
length sequences would need padding conventions, molecules a fingerprint model (not measured).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genmbo.config import SurrogateConfig
from genmbo.data.offline import OfflineDataset
from genmbo.models.surrogate import EnsembleSurrogate, fit_surrogate
from genmbo.spaces.base import DesignSpace
from genmbo.spaces.sequences import SequenceSpace


def has_design_features(space: DesignSpace | None) -> bool:
    """Whether `space` has the features a design surrogate is trained on (fixed-length sequences)."""
    return isinstance(space, SequenceSpace) and space.length is not None


@dataclass
class DesignSurrogate:
    """An `EnsembleSurrogate` over the one-hot features of a fixed-length sequence space's designs."""

    surrogate: EnsembleSurrogate
    space: SequenceSpace

    def predict(self, designs: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std of the predicted scores of `designs` (canonical designs of the space)."""
        with torch.no_grad():
            return self.surrogate.predict(one_hot_features(self.space, designs))


def one_hot_features(space: SequenceSpace, designs: Sequence[Any]) -> torch.Tensor:
    """`n x (length * alphabet)` one-hot rows of fixed-length sequences."""
    tokens = space.to_indices(list(designs))
    return torch.nn.functional.one_hot(tokens, len(space.alphabet)).float().flatten(1)


def fit_design_surrogate(
    dataset: OfflineDataset, config: SurrogateConfig, folder: Path, seed: int = 0
) -> DesignSurrogate | None:
    """Train (or load, as `fit_surrogate` resumes) a design surrogate on `dataset` in `folder`; None when
    its space has no design features. The configuration's `checkpoint` (a latent surrogate's) is ignored."""
    if not has_design_features(dataset.space):
        return None
    space = dataset.space
    assert isinstance(space, SequenceSpace)
    scores = torch.as_tensor(dataset.scores, dtype=torch.float32)
    features = one_hot_features(space, dataset.designs)
    config = dataclasses.replace(config, checkpoint=None)
    return DesignSurrogate(fit_surrogate(features, scores, config, folder, seed).eval(), space)
