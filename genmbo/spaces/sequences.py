"""Biological (or any symbolic) sequences over a finite alphabet: DNA, proteins, Ehrlich states.

A design is a string when every token is one character (``"ACGTACGT"``), otherwise a tuple of tokens.
Length is fixed (`length`, as in TFBind8 and Ehrlich tasks) or variable up to `max_length`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import torch

from genmbo.errors import InvalidDesign
from genmbo.spaces.base import DesignSpace, register_space
from genmbo.spaces.vocabulary import Vocabulary

DNA = "ACGT"
PROTEIN = "ACDEFGHIKLMNPQRSTVWY"
NAMED_ALPHABETS = {"dna": DNA, "protein": PROTEIN}


@register_space
class SequenceSpace(DesignSpace):
    """Sequences over `alphabet`, of fixed `length` or of any length up to `max_length`."""

    kind = "sequence"

    def __init__(
        self, alphabet: str | Sequence[str], length: int | None = None, max_length: int | None = None
    ):
        alphabet = NAMED_ALPHABETS.get(alphabet.lower(), alphabet) if isinstance(alphabet, str) else alphabet
        self.alphabet = list(alphabet)
        if not self.alphabet:
            raise ValueError("a sequence alphabet needs at least one token")
        if length is not None and length < 1:
            raise ValueError(f"sequence length must be positive, got {length}")
        self.length = length
        self.max_length = length if length is not None else max_length
        if self.max_length is None or self.max_length < 1:
            raise ValueError("a variable-length sequence space needs a positive max_length")
        self.vocabulary = Vocabulary(self.alphabet)
        self.single_characters = all(len(token) == 1 for token in self.alphabet)

    @classmethod
    def from_data(cls, raw_designs: Iterable[Any], length: int | None = None) -> SequenceSpace:
        """Infer the alphabet (sorted) and maximum length from raw string designs."""
        tokens: set[str] = set()
        longest = 0
        for raw in raw_designs:
            if isinstance(raw, str):
                raw = raw.strip()
                tokens.update(raw)
                longest = max(longest, len(raw))
        if not tokens:
            raise ValueError("no sequence in the data to infer an alphabet from")
        return cls(sorted(tokens), length=length, max_length=longest)

    def tokens_of(self, design: Any) -> list[str]:
        return list(design)

    def parse(self, raw: Any) -> str | tuple[str, ...]:
        if isinstance(raw, np.ndarray | list | tuple) and len(raw) and isinstance(raw[0], int | np.integer):
            raw = self._from_indices(raw)
        if isinstance(raw, str) and not self.single_characters:
            tokens = raw.split()
        elif isinstance(raw, str):
            tokens = list(raw.strip().upper()) if self._case_insensitive() else list(raw.strip())
        elif isinstance(raw, list | tuple):
            tokens = [str(token) for token in raw]
        else:
            raise InvalidDesign("not a sequence", repr(raw))
        if not tokens:
            raise InvalidDesign("empty sequence")
        unknown = self.vocabulary.unknown(tokens)
        if unknown:
            raise InvalidDesign("tokens outside the alphabet", "".join(unknown[:5]))
        if self.length is not None and len(tokens) != self.length:
            raise InvalidDesign("wrong sequence length", f"{len(tokens)} instead of {self.length}")
        if len(tokens) > self.max_length:
            raise InvalidDesign("sequence too long", f"{len(tokens)} > {self.max_length}")
        return "".join(tokens) if self.single_characters else tuple(tokens)

    def _from_indices(self, indices: Sequence[int]) -> tuple[str, ...]:
        if min(indices) < 0 or max(indices) >= len(self.alphabet):
            raise InvalidDesign("tokens outside the alphabet", f"index outside 0..{len(self.alphabet) - 1}")
        return tuple(self.alphabet[int(index)] for index in indices)

    def _case_insensitive(self) -> bool:
        # DNA and protein data arrive in either case; only fold case when the alphabet is all upper case.
        return self.single_characters and all(token.isupper() for token in self.alphabet)

    def encode(self, designs: Sequence[Any]) -> torch.Tensor:
        """`n x (max_length + 2)` token ids: BOS, the tokens, EOS, then padding."""
        return self.vocabulary.encode([self.tokens_of(design) for design in designs], self.max_length)

    def decode(self, encoded: torch.Tensor) -> list[Any]:
        designs = []
        for tokens in self.vocabulary.decode(encoded):
            valid = bool(tokens) and (self.length is None or len(tokens) == self.length)
            designs.append(("".join(tokens) if self.single_characters else tuple(tokens)) if valid else None)
        return designs

    def to_indices(self, designs: Sequence[Any]) -> torch.Tensor:
        """Fixed-length designs as a `n x length` tensor of alphabet indices (what oracles consume)."""
        if self.length is None:
            raise ValueError("to_indices needs a fixed-length sequence space")
        lookup = {token: index for index, token in enumerate(self.alphabet)}
        rows = [[lookup[token] for token in design] for design in designs]
        # No designs still make a `0 x length` tensor.
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), self.length)

    def from_indices(self, indices: torch.Tensor) -> list[Any]:
        """Inverse of `to_indices`."""
        joiner = "".join if self.single_characters else tuple
        return [joiner(self.alphabet[index] for index in row) for row in indices.tolist()]

    def format(self, design: Any) -> str:
        return design if isinstance(design, str) else " ".join(design)

    def neighbors(self, design: Any) -> list[Any]:
        """Every single-token substitution of `design` within the alphabet (positions in order, then the
        alphabet's order): ``length * (len(alphabet) - 1)`` designs."""
        tokens = self.tokens_of(design)
        join = "".join if self.single_characters else tuple
        return [
            join([*tokens[:position], token, *tokens[position + 1 :]])
            for position in range(len(tokens))
            for token in self.alphabet
            if token != tokens[position]
        ]

    def supported(self, offline: Sequence[Any]) -> Callable[[Any], bool]:
        """Whether every pair of adjacent tokens of a design occurs in some `offline` design: a first-order
        (bigram) support. Why: a substitution can create a pair no measured design has, which nothing
        in the data vouches for; on Ehrlich functions such pairs include the infeasible transitions,
        which score -inf (their offline designs, all feasible, show 337 of the 343 feasible transitions
        of the 20-state task and none of the others)."""
        seen = {pair for design in offline for pair in pairwise(self.tokens_of(design))}
        return lambda design: all(pair in seen for pair in pairwise(self.tokens_of(design)))

    def to_dict(self) -> dict[str, Any]:
        alphabet = "".join(self.alphabet) if self.single_characters else list(self.alphabet)
        return {"kind": self.kind, "alphabet": alphabet, "length": self.length, "max_length": self.max_length}
