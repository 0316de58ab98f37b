"""Transition-restricted decoding: Viterbi against brute force, exact sampling, and the VAE using it."""

from __future__ import annotations

import itertools
import math

import pytest
import pytorch_lightning as pl
import torch

from genmbo.models.sequence_vae import SequenceVAE
from genmbo.models.transition_decoding import best_allowed_path, observed_transitions, sample_allowed_path
from genmbo.spaces import SequenceSpace

# Three tokens; 0 may not follow 0, nor 2 follow 1.
ALLOWED = torch.tensor([[False, True, True], [True, True, False], [True, True, True]])


def _allowed_sequences(steps: int) -> list[tuple[int, ...]]:
    return [
        path
        for path in itertools.product(range(3), repeat=steps)
        if all(ALLOWED[a, b] for a, b in itertools.pairwise(path))
    ]


def _score(log_probs: torch.Tensor, path: tuple[int, ...]) -> float:
    return sum(float(log_probs[step, token]) for step, token in enumerate(path))


def test_viterbi_finds_the_best_allowed_sequence_by_brute_force():
    log_probs = torch.log_softmax(torch.randn(16, 4, 3, generator=torch.Generator().manual_seed(0)), dim=-1)
    decoded = best_allowed_path(log_probs, ALLOWED)
    candidates = _allowed_sequences(4)
    for row in range(16):
        best = max(candidates, key=lambda path, row=row: _score(log_probs[row], path))
        assert tuple(decoded[row].tolist()) == best


def test_all_allowed_is_the_per_position_argmax_and_none_allowed_falls_back_per_position():
    log_probs = torch.log_softmax(torch.randn(8, 5, 3, generator=torch.Generator().manual_seed(1)), dim=-1)
    everything = torch.ones(3, 3, dtype=torch.bool)
    assert torch.equal(best_allowed_path(log_probs, everything), log_probs.argmax(-1))
    # Nothing allowed: no path exists, and each row falls back to the decoder's own per-position choice
    # (greedy) or per-position draws (sampling), never to an arbitrary sequence.
    nothing = torch.zeros(3, 3, dtype=torch.bool)
    assert torch.equal(best_allowed_path(log_probs, nothing), log_probs.argmax(-1))
    peaked = torch.full((200, 5, 3), float("-inf"))
    peaked[:, :, 2] = 0.0  # every position certain of token 2
    draws = sample_allowed_path(peaked, nothing, torch.Generator().manual_seed(0))
    assert torch.equal(draws, torch.full((200, 5), 2))


def test_sampling_draws_from_the_restricted_product_distribution():
    log_probs = torch.log_softmax(torch.randn(1, 3, 3, generator=torch.Generator().manual_seed(2)), dim=-1)
    candidates = _allowed_sequences(3)
    weights = torch.tensor([math.exp(_score(log_probs[0], path)) for path in candidates])
    expected = weights / weights.sum()
    draws = sample_allowed_path(log_probs.expand(20_000, -1, -1), ALLOWED, torch.Generator().manual_seed(3))
    counts = {path: 0 for path in candidates}
    for row in draws.tolist():
        counts[tuple(row)] += 1  # a banned path would raise KeyError
    observed = torch.tensor([counts[path] for path in candidates], dtype=torch.float) / len(draws)
    torch.testing.assert_close(observed, expected, atol=0.015, rtol=0)


def test_observed_transitions_are_the_pairs_in_the_data():
    tokens = torch.tensor([[0, 1, 2], [2, 2, 0]])
    seen = observed_transitions(tokens, 3)
    assert {tuple(pair) for pair in seen.nonzero().tolist()} == {(0, 1), (1, 2), (2, 2), (2, 0)}


def test_a_vae_restricted_to_observed_transitions_decodes_only_them_and_keeps_them_when_saved(tmp_path):
    pl.seed_everything(0)
    space = SequenceSpace("dna", length=12)
    model = SequenceVAE(space, latent_dim=4, embedding_dim=8, hidden_dim=16, architecture="positionwise")
    # Offline designs alternate A/C and G/T: no A after A, no G after T, ...
    designs = ["ACAC" * 3, "CACA" * 3, "GTGT" * 3, "TGTG" * 3, "ACGT" * 3]
    content = space.encode(designs)[:, 1:13]
    model.restrict_transitions(observed_transitions(content, model.vocab_size))
    seen = {(a, b) for design in designs for a, b in itertools.pairwise(design)}
    generator = torch.Generator().manual_seed(0)
    greedy = model.decode_latents(torch.randn(64, 4, generator=generator))
    sampled = model.sample(64, temperature=1.0, generator=generator)
    for design in greedy + sampled:
        assert len(design) == 12 and set(itertools.pairwise(design)) <= seen

    path = tmp_path / "vae.ckpt"
    trainer = pl.Trainer(max_steps=0, logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)
    reloaded = SequenceVAE.load_from_checkpoint(path, weights_only=True)
    assert torch.equal(reloaded.transition_mask, model.transition_mask)
    latents = torch.randn(16, 4, generator=torch.Generator().manual_seed(5))
    assert reloaded.decode_latents(latents) == model.decode_latents(latents)


def test_restriction_needs_a_fixed_length_non_autoregressive_decoder():
    with pytest.raises(ValueError, match="fixed length and a non-autoregressive decoder"):
        SequenceVAE(SequenceSpace("dna", max_length=10), latent_dim=4).restrict_transitions(
            torch.ones(7, 7, dtype=torch.bool)
        )
