"""Small molecules: SMILES in and out (canonicalized by RDKit), SELFIES tokens as the model representation.

SELFIES (Krenn et al., Mach. Learn.: Sci. Technol. 2020) is used because every token string decodes to a
valid molecule, so a generative model over SELFIES tokens cannot produce an invalid graph. A molecule is
accepted only if its SELFIES round trip gives back the same canonical SMILES, so `decode(encode(x)) == x`
holds for every design the space accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import selfies
import torch
from rdkit import Chem, RDLogger

from genmbo.errors import InvalidDesign
from genmbo.spaces.base import DesignSpace, register_space
from genmbo.spaces.shipped_tokens import token_table_for
from genmbo.spaces.vocabulary import Vocabulary

# RDKit prints a warning per unparseable SMILES; the loader counts them instead.
RDLogger.DisableLog("rdApp.*")


def canonical_smiles(smiles: str) -> str | None:
    """RDKit canonical isomeric SMILES, or None if RDKit cannot parse and sanitize it."""
    molecule = Chem.MolFromSmiles(smiles) if smiles else None
    return Chem.MolToSmiles(molecule) if molecule is not None else None


def selfies_tokens(smiles: str) -> list[str]:
    """SELFIES tokens of a SMILES string; raises `InvalidDesign` if SELFIES cannot represent it."""
    try:
        encoded = selfies.encoder(smiles, strict=True)
    except selfies.EncoderError as error:
        raise InvalidDesign("not representable in SELFIES", str(error).splitlines()[0]) from None
    return list(selfies.split_selfies(encoded))


def selfies_smiles(tokens: Sequence[str]) -> str | None:
    """The SMILES `selfies.decoder` writes for a SELFIES token list (not canonical), or None if it
    decodes to nothing."""
    if not tokens:
        return None
    try:
        return selfies.decoder("".join(tokens)) or None
    except selfies.DecoderError:
        return None


def smiles_from_tokens(tokens: Sequence[str]) -> str | None:
    """Canonical SMILES of a SELFIES token list, or None if it decodes to nothing."""
    smiles = selfies_smiles(tokens)
    return canonical_smiles(smiles) if smiles else None


@register_space
class MoleculeSpace(DesignSpace):
    """Molecules whose SELFIES tokens are all in `tokens` and number at most `max_length`."""

    kind = "molecules"

    def __init__(self, tokens: Sequence[str] | None = None, max_length: int | None = None):
        if tokens is None or max_length is None:
            from genmbo.resources import moses_selfies_vocabulary

            default_tokens, default_max_length = moses_selfies_vocabulary()
            tokens = default_tokens if tokens is None else tokens
            max_length = default_max_length if max_length is None else max_length
        self.vocabulary = Vocabulary(tokens)
        self.max_length = int(max_length)

    @classmethod
    def from_smiles(cls, smiles: Iterable[str], margin: int = 0) -> MoleculeSpace:
        """A space whose vocabulary and length cover every representable molecule in `smiles`."""
        tokens: set[str] = set()
        longest = 0
        for text in smiles:
            canonical = canonical_smiles(text)
            if canonical is None:
                continue
            try:
                molecule_tokens = selfies_tokens(canonical)
            except InvalidDesign:
                continue
            tokens.update(molecule_tokens)
            longest = max(longest, len(molecule_tokens))
        if not tokens:
            raise ValueError("no parseable molecule to build a SELFIES vocabulary from")
        return cls(sorted(tokens), longest + margin)

    def parse(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidDesign("unparseable SMILES", repr(raw))
        canonical = canonical_smiles(raw.strip())
        if canonical is None:
            raise InvalidDesign("unparseable SMILES", raw.strip())
        tokens = selfies_tokens(canonical)
        unknown = self.vocabulary.unknown(tokens)
        if unknown:
            raise InvalidDesign("SELFIES tokens outside the vocabulary", " ".join(unknown[:5]))
        if len(tokens) > self.max_length:
            raise InvalidDesign("molecule too long", f"{len(tokens)} SELFIES tokens > {self.max_length}")
        if smiles_from_tokens(tokens) != canonical:
            # Rare (some charged or hypervalent forms): SELFIES would silently return another molecule.
            raise InvalidDesign("SELFIES round trip changes the molecule", canonical)
        return canonical

    def encode(self, designs: Sequence[str]) -> torch.Tensor:
        """`n x (max_length + 2)` SELFIES token ids: BOS, the tokens, EOS, then padding. Molecules of the
        shipped MOSES subset are read from its precomputed table (`genmbo.spaces.shipped_tokens`)."""
        table = token_table_for(self.vocabulary.tokens, self.max_length)
        if table is None:
            return self.vocabulary.encode([selfies_tokens(smiles) for smiles in designs], self.max_length)
        encoded, missing = table.encode(designs, self.max_length)
        if missing:
            encoded[missing] = self.vocabulary.encode(
                [selfies_tokens(designs[index]) for index in missing], self.max_length
            )
        return encoded

    def decode(self, encoded: torch.Tensor) -> list[str | None]:
        return [smiles_from_tokens(tokens) for tokens in self.vocabulary.decode(encoded)]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": list(self.vocabulary.tokens), "max_length": self.max_length}
