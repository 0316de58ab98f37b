"""SELFIES token ids of the shipped MOSES subset, computed once (`scripts/tokenize_moses_subset.py`).

Tokenizing a molecule (`selfies.encoder`, pure Python) runs at about 4,000 molecules a second: 40 s of a
first campaign on the subset's 160,001 molecules, before the latents are cached. `MoleculeSpace.encode`
takes a shipped molecule's row from this table instead. The file holds the content key
(`genmbo.runtime.cache.content_key`) of what it was computed from: the subset's SMILES, the vocabulary's
token of every id (the padding and start/end markers included) and the `selfies` version. The table is
used only while that key equals the running inputs' (`table_key`), checked when it is loaded, and only by
a space with exactly that vocabulary and room for the subset's longest molecule; any other molecule is
tokenized by `selfies`. A test checks rows against `Vocabulary.encode`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import selfies
import torch

from genmbo.resources import moses_selfies_vocabulary, moses_subset_smiles, resource_path
from genmbo.runtime.cache import content_key
from genmbo.spaces.vocabulary import PAD_ID, Vocabulary

TOKENS_FILE = "moses_subset_tokens.npz"


def table_key(smiles: Sequence[str], tokens: Sequence[str]) -> str:
    """The content key of a token table of `smiles` under the vocabulary built from `tokens` (every id's
    token, special ones included) and the running `selfies`."""
    return content_key("selfies token ids", list(smiles), Vocabulary(tokens).id_to_token, selfies.__version__)


@dataclass(frozen=True)
class TokenTable:
    """Encoded rows of known molecules: `ids[rows[smiles]]` is the molecule's `Vocabulary.encode` row."""

    ids: np.ndarray
    rows: dict[str, int]

    def encode(self, designs: Sequence[str], max_length: int) -> tuple[torch.Tensor, list[int]]:
        """Rows of width `max_length + 2` for the designs the table holds (the rest left as padding), and
        the positions of the designs it does not hold."""
        found = np.fromiter((self.rows.get(design, -1) for design in designs), np.int64, len(designs))
        encoded = torch.full((len(designs), max_length + 2), PAD_ID, dtype=torch.long)
        known = found >= 0
        encoded[torch.from_numpy(known), : self.ids.shape[1]] = torch.from_numpy(
            self.ids[found[known]].astype(np.int64)
        )
        return encoded, np.flatnonzero(~known).tolist()


@cache
def shipped_token_table() -> TokenTable | None:
    """The shipped subset's table, or None if the file is missing or was computed from other inputs."""
    path = resource_path(TOKENS_FILE)
    if not path.exists():
        return None
    with np.load(path) as archive:
        ids, made_from = archive["ids"], str(archive["key"])
    smiles = moses_subset_smiles()
    tokens, max_length = moses_selfies_vocabulary()
    if made_from != table_key(smiles, tokens) or ids.shape != (len(smiles), max_length + 2):
        return None
    return TokenTable(ids, {design: row for row, design in enumerate(smiles)})


def token_table_for(tokens: Sequence[str], max_length: int) -> TokenTable | None:
    """The shipped table if its rows are rows of a space with these tokens and maximum length (the shipped
    vocabulary, at least its room), else None; other spaces never load it."""
    shipped_tokens, shipped_max_length = moses_selfies_vocabulary()
    if list(tokens) != shipped_tokens or max_length < shipped_max_length:
        return None
    return shipped_token_table()
