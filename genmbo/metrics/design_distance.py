"""How alike two designs are, per design space: Tanimoto for molecules, Hamming for sequences, Euclidean
for vectors, on features computed once per design set.

Molecules: Morgan radius-2 fingerprints of 2048 bits (the campaign issue's choice; MOSES' IntDiv keeps its
own 1024), compared by Tanimoto similarity. Sequences: the space's token encoding (``[BOS] tokens [EOS]
[PAD]...``), compared position by position, so two sequences of different lengths also differ at every
position the longer one has and the shorter lacks. Vectors: the raw coordinates, in the user's units.

`distance_matrix` is what selection and diversity use (``1 - Tanimoto`` for molecules, the number of
differing positions for sequences, Euclidean distance for vectors); `nearest` finds each design's most
similar reference design in blocks, so a candidate set can be compared with a million offline designs in
bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import rdkit
import torch

from genmbo.metrics.fingerprints import WORD_BITS, morgan_fingerprints, tanimoto_matrix
from genmbo.runtime.cache import cached_array, content_key, design_texts
from genmbo.runtime.progress import track
from genmbo.spaces import ContinuousSpace, MoleculeSpace
from genmbo.spaces.base import DesignSpace

DistanceKind = Literal["tanimoto", "hamming", "euclidean"]
FINGERPRINT_BITS = 2048
FINGERPRINT_RADIUS = 2
# Offline molecule sets at least this large have their fingerprints cached (`offline_design_features`).
CACHE_MIN_MOLECULES = 10_000
# Bound on the elements of one block of the kernel (`queries x block`, and for Hamming `x length`).
_BLOCK_ELEMENTS = 1 << 22


def distance_kind(space: DesignSpace) -> DistanceKind:
    if isinstance(space, MoleculeSpace):
        return "tanimoto"
    if isinstance(space, ContinuousSpace):
        return "euclidean"
    return "hamming"


def design_features(space: DesignSpace, designs: Sequence[Any]) -> torch.Tensor:
    """Features of canonical designs for `distance_matrix`: packed fingerprints, token ids or vectors."""
    kind = distance_kind(space)
    if kind == "tanimoto":
        return morgan_fingerprints(list(designs), FINGERPRINT_RADIUS, FINGERPRINT_BITS, written_by_rdkit=True)
    if kind == "euclidean":
        return torch.as_tensor(np.asarray(designs, dtype=np.float64).reshape(len(designs), -1))
    return space.encode(list(designs)).long()


def offline_design_features(space: DesignSpace, designs: Sequence[Any]) -> torch.Tensor:
    """`design_features` of a campaign's offline designs, through the content-addressed cache
    (`genmbo.runtime.cache`) for molecule sets of at least `CACHE_MIN_MOLECULES`: their fingerprints are
    the one slow feature (160,000 MOSES molecules take about 10 s on one core), and every run on the same
    data needs the same ones. The key holds the canonical SMILES, the fingerprint's radius and width and
    RDKit's version."""
    if distance_kind(space) != "tanimoto" or len(designs) < CACHE_MIN_MOLECULES:
        return design_features(space, designs)
    texts = design_texts(designs)
    key = content_key("morgan", FINGERPRINT_RADIUS, FINGERPRINT_BITS, rdkit.__version__, texts)
    words = cached_array(
        "fingerprints",
        key,
        lambda: design_features(space, designs).numpy().astype(np.uint32),  # 32-bit words (pack_bits)
        valid=lambda array: array.shape == (len(designs), FINGERPRINT_BITS // WORD_BITS),
    )
    return torch.from_numpy(words.astype(np.int64))


def similarity_matrix(kind: DistanceKind, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """The kernel of `kind` between feature rows: Tanimoto similarity for molecules, and for the other
    kinds the distance (there is no natural similarity of two vectors); a `n x m` float64 tensor."""
    if kind == "tanimoto":
        return tanimoto_matrix(first, second)
    if kind == "hamming":
        width = max(first.shape[1], second.shape[1])
        first, second = _pad(first, width), _pad(second, width)
        return (first[:, None, :] != second[None, :, :]).sum(-1).double()
    return torch.cdist(first.double(), second.double())


def distance_matrix(kind: DistanceKind, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Distances between feature rows (``1 - Tanimoto`` for molecules): a `n x m` float64 tensor."""
    values = similarity_matrix(kind, first, second)
    return 1.0 - values if kind == "tanimoto" else values


def nearest(
    kind: DistanceKind, queries: torch.Tensor, reference: torch.Tensor, show_progress: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query row, the kernel value of its nearest reference row and that row's index.

    Nearest means highest Tanimoto similarity for molecules, smallest distance otherwise.
    Returns:
        (values, indices): two `n` tensors (float64, int64); values are NaN and indices -1 when
        `reference` is empty.
    """
    count = queries.shape[0]
    best = torch.full((count,), float("nan"), dtype=torch.float64, device=queries.device)
    where = torch.full((count,), -1, dtype=torch.int64, device=queries.device)
    if count == 0 or reference.shape[0] == 0:
        return best, where
    larger_is_nearer = kind == "tanimoto"
    # Rows per block: the `count x block` result, and for Tanimoto the block's unpacked bits
    # (`block x 32 words` float32) and for Hamming the `count x block x length` comparison, stay bounded.
    width = max(1, queries.shape[1]) * (32 if kind == "tanimoto" else 1)
    per_row = count * width if kind == "hamming" else max(count, width)
    block = max(1, _BLOCK_ELEMENTS // per_row)
    starts = range(0, reference.shape[0], block)
    blocks = track(starts, "comparing with offline designs") if show_progress else starts
    for start in blocks:
        values = similarity_matrix(kind, queries, reference[start : start + block])
        top, index = values.max(1) if larger_is_nearer else values.min(1)
        better = torch.isnan(best) | ((top > best) if larger_is_nearer else (top < best))
        best = torch.where(better, top, best)
        where = torch.where(better, index + start, where)
    return best, where


def _pad(tokens: torch.Tensor, width: int) -> torch.Tensor:
    if tokens.shape[1] == width:
        return tokens
    return torch.nn.functional.pad(tokens, (0, width - tokens.shape[1]), value=-1)
