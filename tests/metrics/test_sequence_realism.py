"""Positional and k-mer Jensen-Shannon divergences and the unseen-transition share on hand-computed sets."""

from __future__ import annotations

import math
import random

import pytest
import torch

import genmbo.metrics.sequence_realism as sequence_realism_module
from genmbo.metrics.sequence_realism import (
    KmerFrequencyDivergence,
    PositionalFrequencyDivergence,
    UnseenTransitionShare,
    jensen_shannon_divergence,
    sequence_realism,
)
from genmbo.spaces.sequences import SequenceSpace


def _random_designs(alphabet: str, length: int, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(count)]


def _value(metric, *batches) -> float:
    for batch in batches:
        metric.update(batch)
    return float(metric.compute())


# JS((1, 0), (1/2, 1/2)) by hand: M = (3/4, 1/4).
TWO_POINT_JS = 0.5 * math.log2(4 / 3) + 0.5 * (0.5 * math.log2(2 / 3) + 0.5 * math.log2(2))


def test_jensen_shannon_by_hand() -> None:
    assert float(jensen_shannon_divergence(torch.tensor([2, 0]), torch.tensor([1, 1]))) == pytest.approx(
        TWO_POINT_JS
    )
    assert float(jensen_shannon_divergence(torch.tensor([1, 0]), torch.tensor([0, 3]))) == 1.0
    assert float(jensen_shannon_divergence(torch.tensor([1, 3]), torch.tensor([2, 6]))) == 0.0


def test_a_set_against_itself_gives_zero() -> None:
    space = SequenceSpace("dna", length=8)
    designs = _random_designs("ACGT", 8, 200, seed=0)
    values = sequence_realism(designs, designs, designs, space)
    assert set(values) == {"positional_js", "kmer_js_1", "kmer_js_2", "kmer_js_3", "unseen_transition_share"}
    assert all(value == pytest.approx(0.0, abs=1e-12) for value in values.values())


def test_disjoint_sets_give_one() -> None:
    space = SequenceSpace("dna", length=4)
    values = sequence_realism(["AAAA"] * 5, ["CCCC"] * 3, ["CCCC"], space)
    assert values["positional_js"] == 1.0
    assert values["kmer_js_1"] == values["kmer_js_2"] == values["kmer_js_3"] == 1.0
    assert values["unseen_transition_share"] == 1.0


def test_two_point_distribution_by_hand() -> None:
    # Every position, every 1-mer and every 2-mer: generated (1, 0), reference (1/2, 1/2).
    space = SequenceSpace("dna", length=2)
    values = sequence_realism(["AA", "AA"], ["AA", "CC"], ["AA"], space)
    assert values["positional_js"] == pytest.approx(TWO_POINT_JS)
    assert values["kmer_js_1"] == pytest.approx(TWO_POINT_JS)
    assert values["kmer_js_2"] == pytest.approx(TWO_POINT_JS)
    assert math.isnan(values["kmer_js_3"])  # no window of 3 tokens in a design of 2


def test_unseen_transition_share_by_hand() -> None:
    space = SequenceSpace("dna", length=4)
    # Seen bigrams: AC CG GT TA CA.
    share = UnseenTransitionShare(["ACGT", "TACA"], space)
    # CGTA and ACAC only use seen pairs; GTTA has TT, AAAA has AA; None is skipped.
    assert _value(share, ["CGTA", "ACAC", "GTTA", "AAAA", None]) == pytest.approx(0.5)


def test_order_and_batches_do_not_change_values() -> None:
    space = SequenceSpace("dna", length=8)
    reference = _random_designs("ACGT", 8, 100, seed=1)
    designs = _random_designs("ACG", 8, 60, seed=2)
    shuffled = random.Random(3).sample(designs, len(designs))
    for make in (
        lambda: PositionalFrequencyDivergence(reference, space),
        lambda: KmerFrequencyDivergence(reference, space, k=2),
        lambda: UnseenTransitionShare(reference[:3], space),
    ):
        whole = _value(make(), designs)
        assert 0 < whole < 1
        assert _value(make(), shuffled) == pytest.approx(whole, abs=1e-12)
        assert _value(make(), designs[:25], designs[25:]) == pytest.approx(whole, abs=1e-12)


def test_sparse_kmer_counts_equal_dense_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    # An Ehrlich-like space: 32 states, where 32 ** 4 k-mers exceed the dense limit.
    space = SequenceSpace([chr(ord("A") + index) for index in range(26)] + list("abcdef"), length=16)
    reference = _random_designs("".join(space.alphabet), 16, 80, seed=4)
    designs = _random_designs("".join(space.alphabet[:20]), 16, 50, seed=5)
    sparse = KmerFrequencyDivergence(reference, space, k=4)
    assert not sparse.dense
    sparse_value = _value(sparse, designs[:20], designs[20:])
    monkeypatch.setattr(sequence_realism_module, "_MAX_DENSE_KMERS", 0)
    assert not KmerFrequencyDivergence(reference, space, k=2).dense
    monkeypatch.setattr(sequence_realism_module, "_MAX_DENSE_KMERS", 32**4)
    dense = KmerFrequencyDivergence(reference, space, k=4)
    assert dense.dense
    assert _value(dense, designs) == pytest.approx(sparse_value, abs=1e-12)
    assert 0 < sparse_value <= 1


def test_variable_length_sequences() -> None:
    space = SequenceSpace("dna", max_length=5)
    assert sequence_realism(["AC", "ACGTA"], ["ACGTA", "AC"], ["AC", "ACGTA"], space)["kmer_js_3"] == 0.0
    # Only position 0 is reached by both sets: A against C.
    assert _value(PositionalFrequencyDivergence(["CCCC"], space), ["A"]) == 1.0
    # 1-mers: generated A, C, C; reference A, A, C, C -> (1/3, 2/3) against (1/2, 1/2).
    p, q = torch.tensor([1, 2]), torch.tensor([1, 1])
    expected = float(jensen_shannon_divergence(p, q))
    assert _value(KmerFrequencyDivergence(["AC", "AC"], space, k=1), ["A", "CC"]) == pytest.approx(expected)
    # Design "A" has no 2-mer; "CC" has one, absent from the reference.
    assert _value(KmerFrequencyDivergence(["AC"], space, k=2), ["A", "CC"]) == 1.0


def test_nan_before_any_design_and_empty_reference_rejected() -> None:
    space = SequenceSpace("dna", length=4)
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert math.isnan(float(PositionalFrequencyDivergence(["ACGT"], space).compute()))
    with pytest.raises(ValueError, match="no design"):
        KmerFrequencyDivergence([], space, k=1)
