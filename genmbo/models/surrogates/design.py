"""A second surrogate that sees the designs themselves, for choosing among designs the search has decoded.

The campaign's surrogate predicts a design's score from its latent code, so that search can follow its
gradient; but a 16-dimensional latent keeps less of a design than the design does. On TFBind8 the same
deep ensemble (`genmbo.models.surrogates.ensemble`, same configuration and seeds) trained on one-hot designs
ranks the whole space better: the best 128 new designs by its pessimistic prediction score 0.982 (mean of
seeds 0-4; 50th percentile 0.888), by the latent surrogate's 0.973 (0.784), and with k-mer counts beside the
one-hot tokens (below) 0.992 (0.881) (`scripts/tfbind8_screening_ceiling.py --features onehot`, `--features
design`). It has no latent gradient, so it cannot guide the diffusion; the flagship uses it where the
candidates are designs already: whenever a library is polished it is the one model that values designs
(`genmbo.selection.valuing`), in choosing, polishing (`genmbo.selection.polishing`) and ranking.

Features (`surrogate_features`): the one-hot tokens of fixed-length sequences (``length x alphabet``
inputs, the input of Design-Bench's and RaM's TFBind8 models) followed by the counts of every k-mer
anywhere in the sequence, the k-spectrum of Leslie, Eskin & Noble's spectrum kernel (PSB 2002, Sec. 2).
Why: a binding site scores wherever it sits, which one-hot inputs must learn position by position, while
counts see a motif at any position. ``k`` (`spectrum_k`) is the largest of 2 and 3 whose every k-mer
occurs in the offline designs and whose counts are at most twice the one-hot width, else there are no
counts: DNA 8-mers 3 (64 counts for 32 one-hot inputs); Ehrlich s20-d32 and s32-d64 none (337 of 400 and
797 of 1024 bigrams seen). The rule is empirical, chosen on tuning seeds after a first one (counts up to
twice the one-hot width, so bigrams on Ehrlich) cost Ehrlich s32 on all three (0.778 to 0.556); k-mers
longer than 3 were not measured. Measured (CHANGELOG.md, d09f8ac): on TFBind8 tuning
seeds the flagship's mean 100th percentile went from 0.983 to 0.990. Departure: the counts enter an MLP
ensemble as extra standardized inputs, not a kernel machine. Other spaces have no design surrogate here
(None): variable-length sequences would need padding conventions, molecules a fingerprint model (not
measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genmbo.config import SurrogateConfig
from genmbo.data.offline import OfflineDataset
from genmbo.models.surrogates.ensemble import EnsembleSurrogate, fit_surrogate
from genmbo.spaces.base import DesignSpace
from genmbo.spaces.sequences import SequenceSpace

# The folder, inside a run's, of its design surrogate (named for the features: older runs' one-hot-only
# surrogates in `surrogate-designs` have another input width and are not resumed).
DESIGN_SURROGATE_FOLDER = "surrogate-design-features"
# Longest k-mer counted for the features (`spectrum_k`).
MAX_SPECTRUM_K = 3


def has_design_features(space: DesignSpace | None) -> bool:
    """Whether `space` has the features a design surrogate is trained on (fixed-length sequences)."""
    return isinstance(space, SequenceSpace) and space.length is not None


@dataclass
class DesignSurrogate:
    """An `EnsembleSurrogate` over `surrogate_features` of a fixed-length sequence space's designs."""

    surrogate: EnsembleSurrogate
    space: SequenceSpace
    kmer_length: int  # `spectrum_k` of the offline designs it was trained on (0: one-hot only)

    def predict(self, designs: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std of the predicted scores of `designs` (canonical designs of the space)."""
        with torch.no_grad():
            return self.surrogate.predict(surrogate_features(self.space, designs, self.kmer_length))


def one_hot_features(space: SequenceSpace, designs: Sequence[Any]) -> torch.Tensor:
    """`n x (length * alphabet)` one-hot rows of fixed-length sequences."""
    return _one_hot(space.to_indices(list(designs)), len(space.alphabet))


def _one_hot(tokens: torch.Tensor, alphabet: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(tokens, alphabet).float().flatten(1)


def spectrum_k(space: SequenceSpace, offline: Sequence[Any]) -> int:
    """The k-mer length counted by `surrogate_features`: the largest ``2 <= k <= MAX_SPECTRUM_K`` such that
    every one of the ``alphabet ** k`` k-mers occurs in some `offline` design and ``alphabet ** k`` is at
    most twice the one-hot width ``length * alphabet``, else 0 (no counts; 1-mer counts would be a linear
    function of the one-hot inputs)."""
    assert space.length is not None
    tokens = space.to_indices(list(offline))
    alphabet = len(space.alphabet)
    best = 0
    for k in range(2, MAX_SPECTRUM_K + 1):
        windows = tokens.shape[0] * max(tokens.shape[1] - k + 1, 0)
        # Wider than the cap, or more k-mers than windows to show them: stop before building anything.
        if alphabet**k > 2 * space.length * alphabet or alphabet**k > windows:
            break
        if torch.unique(_kmer_codes(tokens, alphabet, k)).numel() < alphabet**k:
            break
        best = k
    return best


def _kmer_codes(tokens: torch.Tensor, alphabet: int, k: int) -> torch.Tensor:
    """`n x (length - k + 1)` codes of each window of `k` tokens, read as base-`alphabet` digits."""
    windows = tokens.shape[1] - k + 1
    codes = tokens[:, :windows].clone()
    for offset in range(1, k):  # one position at a time: no `n x windows x k` intermediate
        codes = codes * alphabet + tokens[:, offset : offset + windows]
    return codes


def kmer_counts(space: SequenceSpace, designs: Sequence[Any], k: int) -> torch.Tensor:
    """`n x alphabet ** k` counts of each k-mer (tokens read as base-`alphabet` digits) in fixed-length
    sequences, over every window of `k` adjacent tokens."""
    return _kmer_counts(space.to_indices(list(designs)), len(space.alphabet), k)


def _kmer_counts(tokens: torch.Tensor, alphabet: int, k: int) -> torch.Tensor:
    counts = torch.zeros(tokens.shape[0], alphabet**k, device=tokens.device)
    if tokens.shape[1] < k:
        return counts
    codes = _kmer_codes(tokens, alphabet, k)
    return counts.scatter_add_(1, codes, torch.ones_like(codes, dtype=counts.dtype))


def surrogate_features(space: SequenceSpace, designs: Sequence[Any], k: int) -> torch.Tensor:
    """`n x (length * alphabet + alphabet ** k)` rows: `one_hot_features` and, for ``k >= 2``,
    `kmer_counts` (``k = 0``: one-hot only)."""
    tokens = space.to_indices(list(designs))  # parsed once for both parts: this runs every polishing round
    alphabet = len(space.alphabet)
    one_hot = _one_hot(tokens, alphabet)
    return torch.cat([one_hot, _kmer_counts(tokens, alphabet, k)], dim=1) if k >= 2 else one_hot


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
    k = spectrum_k(space, dataset.designs)
    features = surrogate_features(space, dataset.designs, k)
    config = config.model_copy(update={"checkpoint": None})
    return DesignSurrogate(fit_surrogate(features, scores, config, folder, seed).eval(), space, k)
