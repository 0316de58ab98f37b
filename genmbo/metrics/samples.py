"""Sample-quality metrics of generated designs: validity, uniqueness, novelty and internal diversity.

Definitions follow MOSES (Polykovskiy et al., Front. Pharmacol. 2020, arXiv 1811.12823): validity is the
share of generated designs that decode to a design; uniqueness is the share of distinct designs among the
valid ones; novelty is the share of distinct valid designs absent from a reference (training) set; and
internal diversity is ``IntDiv_p = 1 - (1/|G|^2 sum_{m1, m2 in G} T(m1, m2)^p)^(1/p)`` with ``T`` the
Tanimoto similarity of Morgan radius-2 fingerprints, the sum running over all ordered pairs including a
molecule with itself. Departure: MOSES' code applies the ``1/p`` power per molecule before averaging;
for ``p = 1`` both agree, for other ``p`` this module follows the paper's formula.

Distributed use: designs are kept as 64-bit hashes (BLAKE2b of ``repr(space.key(design))``) and molecules
as packed fingerprints, both in tensor states with ``dist_reduce_fx="cat"``, so torchmetrics gathers them
across processes like any tensor state; a list of strings could not be all-gathered. A hash collision
merges two designs; its chance is about ``n^2 / 2^65`` (1e-8 for a million designs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from genmbo.errors import InvalidDesign
from genmbo.metrics.fingerprints import WORD_BITS, morgan_fingerprints, tanimoto_from_bits, unpack_bits
from genmbo.spaces.base import DesignSpace

# Bound on the `rows x n` float64 block of Tanimoto similarities (32 MiB).
_MAX_BLOCK_ELEMENTS = 1 << 22


def design_hash(key: Hashable) -> int:
    """A process-independent signed 64-bit hash of a design key (Python's `hash` is salted per process)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _cat_or_empty(state: list[torch.Tensor] | torch.Tensor, *trailing: int) -> torch.Tensor:
    if isinstance(state, list) and not state:
        return torch.zeros((0, *trailing), dtype=torch.int64)
    return dim_zero_cat(state)


def measure(metrics: dict[str, Metric], designs: Sequence[Any]) -> dict[str, float]:
    """Update each metric with `designs` once and return ``{name: float(compute())}``."""
    results = {}
    for name, metric in metrics.items():
        metric.update(designs)
        results[name] = float(metric.compute())
    return results


class _DesignHashMetric(Metric):
    """Keeps the hashes of the valid (not None) designs seen so far."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, space: DesignSpace | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.space = space
        self.add_state("hashes", default=[], dist_reduce_fx="cat")

    def _hashes(self, designs: Iterable[Any]) -> torch.Tensor:
        key = self.space.key if self.space is not None else (lambda design: design)
        return torch.tensor(
            [design_hash(key(design)) for design in designs if design is not None], dtype=torch.int64
        )

    def update(self, designs: Sequence[Any]) -> None:
        """Add a batch of decoded designs (None for a design that failed to decode)."""
        self.hashes.append(self._hashes(designs).to(self.device))


class Validity(Metric):
    """Share of designs that are not None and, when `space` is given, that `space.parse` accepts."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, space: DesignSpace | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.space = space
        self.add_state("valid", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def _is_valid(self, design: Any) -> bool:
        if design is None:
            return False
        if self.space is None:
            return True
        try:
            self.space.parse(design)
        except InvalidDesign:
            return False
        return True

    def update(self, designs: Sequence[Any]) -> None:
        """Add a batch of decoded designs (None for a design that failed to decode)."""
        self.valid += sum(self._is_valid(design) for design in designs)
        self.total += len(designs)

    def compute(self) -> torch.Tensor:
        """The valid share (NaN before any design)."""
        return self.valid.double() / self.total if self.total > 0 else torch.tensor(float("nan"))


class Uniqueness(_DesignHashMetric):
    """Distinct designs / valid designs. `space` (optional) supplies `space.key` for identity."""

    def compute(self) -> torch.Tensor:
        hashes = _cat_or_empty(self.hashes)
        if hashes.numel() == 0:
            return torch.tensor(float("nan"))
        return torch.tensor(torch.unique(hashes).numel() / hashes.numel(), dtype=torch.float64)


class Novelty(_DesignHashMetric):
    """Distinct valid designs absent from `reference` / distinct valid designs (MOSES' novelty).

    Args:
        reference: the designs generation should not reproduce (usually the training set), in canonical
            form.
        space: optional; supplies `space.key` for identity.
    """

    def __init__(self, reference: Iterable[Any], space: DesignSpace | None = None, **kwargs: Any):
        super().__init__(space, **kwargs)
        self.register_buffer("reference_hashes", torch.unique(self._hashes(reference)), persistent=False)

    def compute(self) -> torch.Tensor:
        distinct = torch.unique(_cat_or_empty(self.hashes))
        if distinct.numel() == 0:
            return torch.tensor(float("nan"))
        novel = ~torch.isin(distinct, self.reference_hashes.to(distinct.device))
        return novel.double().mean()


class InternalDiversity(Metric):
    """MOSES' internal diversity ``IntDiv_p`` of molecules (SMILES), on Morgan fingerprints.

    Args:
        p: the power ``p`` (MOSES reports p = 1 and p = 2).
        radius, fp_size: Morgan fingerprint radius and length in bits (2 and 1024 as in MOSES).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, p: float = 1.0, radius: int = 2, fp_size: int = 1024, **kwargs: Any):
        super().__init__(**kwargs)
        if p <= 0:
            raise ValueError(f"p must be positive, got {p}")
        self.p = p
        self.radius = radius
        self.fp_size = fp_size
        self.num_words = -(-fp_size // WORD_BITS)
        self.add_state("fingerprints", default=[], dist_reduce_fx="cat")

    def update(self, smiles: Sequence[str | None]) -> None:
        """Add a batch of SMILES (None entries, failed decodes, are skipped)."""
        valid = [text for text in smiles if text is not None]
        self.fingerprints.append(morgan_fingerprints(valid, self.radius, self.fp_size).to(self.device))

    def compute(self) -> torch.Tensor:
        """``IntDiv_p`` over all molecules seen (NaN before any)."""
        fingerprints = _cat_or_empty(self.fingerprints, self.num_words)
        count = fingerprints.shape[0]
        if count == 0:
            return torch.tensor(float("nan"))
        bits = unpack_bits(fingerprints)
        rows_per_block = max(1, _MAX_BLOCK_ELEMENTS // count)
        total = torch.zeros((), dtype=torch.float64, device=fingerprints.device)
        for start in range(0, count, rows_per_block):
            block = tanimoto_from_bits(bits[start : start + rows_per_block], bits)
            total += block.pow(self.p).sum()
        return 1.0 - (total / count**2) ** (1.0 / self.p)
