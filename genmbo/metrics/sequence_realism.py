"""Realism of generated sequences: do their token statistics match held-out data?

- `PositionalFrequencyDivergence`: the mean over positions of the Jensen-Shannon divergence between the
  position-wise token frequencies of the generated designs and of a reference (held-out) set.
- `KmerFrequencyDivergence`: the Jensen-Shannon divergence between the k-mer frequencies (counts over
  every window of ``k`` adjacent tokens of every design) of the generated and reference designs.
- `UnseenTransitionShare`: the share of generated designs with at least one adjacent-token pair (bigram)
  that no support (training/offline) design has; the bigram support of `SequenceSpace.supported`.

The Jensen-Shannon divergence is ``JS(P, Q) = KL(P || M) / 2 + KL(Q || M) / 2`` with ``M = (P + Q) / 2``
(Lin, IEEE Trans. Inf. Theory 37(1), 1991), in base 2, so it lies in [0, 1]: 0 for equal
distributions, 1 for disjoint supports. It is finite with empty bins (where ``P > 0``, ``M > 0``), so the
frequencies are used unsmoothed.

Variable-length spaces (``space.length is None``) are supported: a design contributes to the positions
it has, the positional divergence averages over the positions that both sets reach (a difference in
lengths alone is not measured there), and k-mers are the windows inside each design (a design shorter
than ``k`` has none). Designs that are None (failed decodes) are skipped.

Distributed use: counts are tensor states reduced by ``"sum"`` (dense k-mer counts) or by ``"cat"``
(distinct k-mer codes and their counts, when ``vocab ** k`` bins would not fit in memory).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torchmetrics import Metric

from genmbo.metrics.samples import _cat_or_empty, measure
from genmbo.spaces.sequences import SequenceSpace

# Above this many k-mer bins, counts are kept as (distinct code, count) pairs instead of a dense vector.
_MAX_DENSE_KMERS = 1_000_000
# k-mer codes are int64: ``vocab ** k`` must stay below this.
_MAX_KMER_CODES = 1 << 62
# Marks the positions a variable-length design does not reach.
_ABSENT = -1


def jensen_shannon_divergence(p_counts: torch.Tensor, q_counts: torch.Tensor) -> torch.Tensor:
    """Base-2 Jensen-Shannon divergence between the distributions proportional to two count tensors.

    Args:
        p_counts, q_counts: `batch x bins` (or `bins`) non-negative counts; each row is normalized.

    Returns:
        A `batch` (or scalar) float64 tensor in [0, 1]; NaN for a row whose counts are all zero.
    """
    p = p_counts.double() / p_counts.double().sum(-1, keepdim=True)
    q = q_counts.double() / q_counts.double().sum(-1, keepdim=True)
    m = (p + q) / 2
    # xlogy gives 0 log 0 = 0; where p > 0, m > 0 too.
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1)
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1)
    return ((kl_pm + kl_qm) / (2 * math.log(2))).clamp(0.0, 1.0)


def token_indices(space: SequenceSpace, designs: Sequence[Any]) -> torch.Tensor:
    """A `n x max_length` LongTensor of alphabet indices of the designs that are not None, with -1 at the
    positions a (variable-length) design does not reach."""
    designs = [design for design in designs if design is not None]
    if space.length is not None:
        return space.to_indices(designs)
    lookup = {token: index for index, token in enumerate(space.alphabet)}
    rows = []
    for design in designs:
        row = [lookup[token] for token in space.tokens_of(design)]
        rows.append(row + [_ABSENT] * (space.max_length - len(row)))
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), space.max_length)


def positional_counts(indices: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """`length x vocab_size` token counts per position of a `n x length` index tensor (-1 skipped)."""
    length = indices.shape[1]
    positions = torch.arange(length, device=indices.device).expand_as(indices)
    present = indices != _ABSENT
    flat = positions[present] * vocab_size + indices[present]
    return torch.bincount(flat, minlength=length * vocab_size).reshape(length, vocab_size)


def kmer_codes(indices: torch.Tensor, k: int, vocab_size: int) -> torch.Tensor:
    """The integer code ``sum_j token_j * vocab_size ** (k - 1 - j)`` of every window of `k` adjacent
    tokens inside each row of a `n x length` index tensor, flattened (windows touching -1 are dropped)."""
    if indices.shape[1] < k:
        return torch.zeros(0, dtype=torch.long, device=indices.device)
    windows = indices.unfold(1, k, 1).reshape(-1, k)
    windows = windows[(windows != _ABSENT).all(1)]
    place_values = vocab_size ** torch.arange(k - 1, -1, -1, device=indices.device)
    return (windows * place_values).sum(1)


def _distinct_counts(
    codes: torch.Tensor, counts: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct codes and their total counts (each code counted once when `counts` is None)."""
    distinct, inverse = torch.unique(codes, return_inverse=True)
    weights = torch.ones_like(codes) if counts is None else counts
    return distinct, torch.zeros_like(distinct).scatter_add_(0, inverse, weights)


class _ReferenceSequenceMetric(Metric):
    """Holds the space and checks the reference set is not empty."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, reference: Sequence[Any], space: SequenceSpace, **kwargs: Any):
        super().__init__(**kwargs)
        self.space = space
        self.vocab_size = len(space.alphabet)
        self._reference_indices = token_indices(space, reference)
        if self._reference_indices.shape[0] == 0:
            raise ValueError("the reference set has no design")


class PositionalFrequencyDivergence(_ReferenceSequenceMetric):
    """Mean over positions of the Jensen-Shannon divergence (base 2) between the position-wise token
    frequencies of the generated designs and of `reference` (NaN before any design).

    Args:
        reference: held-out designs of `space`.
        space: the sequence space (fixed or variable length).
    """

    def __init__(self, reference: Sequence[Any], space: SequenceSpace, **kwargs: Any):
        super().__init__(reference, space, **kwargs)
        shape = (space.max_length, self.vocab_size)
        reference_counts = positional_counts(self._reference_indices, self.vocab_size)
        self.register_buffer("reference_counts", reference_counts, persistent=False)
        self.add_state("counts", default=torch.zeros(shape, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, designs: Sequence[Any]) -> None:
        """Add a batch of generated designs."""
        self.counts += positional_counts(token_indices(self.space, designs), self.vocab_size).to(self.device)

    def compute(self) -> torch.Tensor:
        reference_counts = self.reference_counts.to(self.counts.device)
        both_reach = (self.counts.sum(1) > 0) & (reference_counts.sum(1) > 0)
        if not both_reach.any():
            return torch.tensor(float("nan"), dtype=torch.float64)
        return jensen_shannon_divergence(self.counts[both_reach], reference_counts[both_reach]).mean()


class KmerFrequencyDivergence(_ReferenceSequenceMetric):
    """Jensen-Shannon divergence (base 2) between the k-mer frequencies of the generated designs and of
    `reference`, counted over every window of `k` adjacent tokens of every design (NaN before any k-mer).

    Counts are a dense `vocab ** k` vector when that has at most a million bins, otherwise the distinct
    k-mer codes seen and their counts, so memory grows with the k-mers present, not the possible ones.

    Args:
        reference: held-out designs of `space`.
        space: the sequence space (fixed or variable length).
        k: the k-mer length (1, 2 and 3 are typical).
    """

    def __init__(self, reference: Sequence[Any], space: SequenceSpace, k: int = 1, **kwargs: Any):
        super().__init__(reference, space, **kwargs)
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        self.k = k
        self.num_kmers = self.vocab_size**k
        if self.num_kmers >= _MAX_KMER_CODES:
            raise ValueError(f"{self.vocab_size} ** {k} k-mers do not fit in 64-bit codes; use a smaller k")
        self.dense = self.num_kmers <= _MAX_DENSE_KMERS
        reference_codes, reference_counts = _distinct_counts(self._codes(self._reference_indices))
        self.register_buffer("reference_codes", reference_codes, persistent=False)
        self.register_buffer("reference_counts", reference_counts, persistent=False)
        if self.dense:
            self.add_state(
                "counts", default=torch.zeros(self.num_kmers, dtype=torch.long), dist_reduce_fx="sum"
            )
        else:
            self.add_state("codes", default=[], dist_reduce_fx="cat")
            self.add_state("code_counts", default=[], dist_reduce_fx="cat")

    def _codes(self, indices: torch.Tensor) -> torch.Tensor:
        return kmer_codes(indices, self.k, self.vocab_size)

    def update(self, designs: Sequence[Any]) -> None:
        """Add a batch of generated designs."""
        codes = self._codes(token_indices(self.space, designs)).to(self.device)
        if self.dense:
            self.counts += torch.bincount(codes, minlength=self.num_kmers)
        else:
            distinct, counts = _distinct_counts(codes)
            self.codes.append(distinct)
            self.code_counts.append(counts)

    def _generated_counts(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.dense:
            codes = self.counts.nonzero().flatten()
            return codes, self.counts[codes]
        return _distinct_counts(_cat_or_empty(self.codes), _cat_or_empty(self.code_counts))

    def compute(self) -> torch.Tensor:
        codes, counts = self._generated_counts()
        if counts.sum() == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        reference_codes = self.reference_codes.to(codes.device)
        reference_counts = self.reference_counts.to(codes.device)
        # Align both sets on the union of their k-mers.
        union, inverse = torch.unique(torch.cat([codes, reference_codes]), return_inverse=True)
        generated = torch.zeros_like(union).scatter_add_(0, inverse[: codes.numel()], counts)
        held_out = torch.zeros_like(union).scatter_add_(0, inverse[codes.numel() :], reference_counts)
        return jensen_shannon_divergence(generated, held_out)


class UnseenTransitionShare(Metric):
    """Share of generated designs with at least one adjacent-token pair that no `support` design has
    (NaN before any design); a design of one token has no pair and counts as seen.

    Args:
        support: the designs whose bigrams count as seen (the training/offline designs).
        space: the sequence space; its `supported` defines the bigram support.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, support: Sequence[Any], space: SequenceSpace, **kwargs: Any):
        super().__init__(**kwargs)
        self.is_supported = space.supported(support)
        self.add_state("unseen", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, designs: Sequence[Any]) -> None:
        """Add a batch of generated designs."""
        designs = [design for design in designs if design is not None]
        self.unseen += sum(not self.is_supported(design) for design in designs)
        self.total += len(designs)

    def compute(self) -> torch.Tensor:
        return self.unseen.double() / self.total if self.total > 0 else torch.tensor(float("nan"))


def sequence_realism(
    designs: Sequence[Any], reference: Sequence[Any], support: Sequence[Any], space: SequenceSpace
) -> dict[str, float]:
    """All sequence realism metrics of `designs` in one call.

    Args:
        designs: the generated designs.
        reference: held-out designs, for the divergences.
        support: the designs whose bigrams count as seen (training/offline designs).
        space: their sequence space.

    Returns:
        ``{"positional_js", "kmer_js_1", "kmer_js_2", "kmer_js_3", "unseen_transition_share"}`` as floats.
    """
    metrics: dict[str, Metric] = {
        "positional_js": PositionalFrequencyDivergence(reference, space),
        **{f"kmer_js_{k}": KmerFrequencyDivergence(reference, space, k) for k in (1, 2, 3)},
        "unseen_transition_share": UnseenTransitionShare(support, space),
    }
    return measure(metrics, designs)
