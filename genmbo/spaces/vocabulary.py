"""Token vocabularies shared by the token spaces (molecules as SELFIES, biological sequences).

Layout of an encoded row: ``[BOS] t_1 ... t_L [EOS] [PAD] ...`` of width ``max_length + 2``. Ids 0, 1, 2
are the padding, start and end tokens in every vocabulary, so models can rely on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, BOS, EOS)
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


class Vocabulary:
    """Maps tokens to ids and back, with padding and start/end tokens handled in one place."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        clashes = set(tokens) & set(SPECIAL_TOKENS)
        if clashes:
            raise ValueError(f"tokens {sorted(clashes)} are reserved for padding and start/end markers")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        self.tokens = tokens
        self.id_to_token = list(SPECIAL_TOKENS) + tokens
        self.token_to_id = {token: index for index, token in enumerate(self.id_to_token)}

    def __len__(self) -> int:
        return len(self.id_to_token)

    def __contains__(self, token: str) -> bool:
        return token in self.token_to_id and token not in SPECIAL_TOKENS

    def unknown(self, tokens: Sequence[str]) -> list[str]:
        """Tokens of a design that this vocabulary cannot encode, in order of first appearance."""
        return list(dict.fromkeys(token for token in tokens if token not in self))

    def encode(self, token_lists: Sequence[Sequence[str]], max_length: int) -> torch.Tensor:
        """Encode token lists into a `n x (max_length + 2)` long tensor with BOS, EOS and padding."""
        encoded = torch.full((len(token_lists), max_length + 2), PAD_ID, dtype=torch.long)
        encoded[:, 0] = BOS_ID
        for row, tokens in enumerate(token_lists):
            if len(tokens) > max_length:
                raise ValueError(f"design of {len(tokens)} tokens exceeds max_length {max_length}")
            ids = [self.token_to_id[token] for token in tokens]
            encoded[row, 1 : len(ids) + 1] = torch.tensor(ids, dtype=torch.long)
            encoded[row, len(ids) + 1] = EOS_ID
        return encoded

    def decode(self, encoded: torch.Tensor) -> list[list[str]]:
        """Decode a `n x width` id tensor: skip a leading BOS, stop at EOS or PAD, drop stray specials."""
        token_lists = []
        for ids in encoded.tolist():
            start = 1 if ids and ids[0] == BOS_ID else 0
            tokens = []
            for token_id in ids[start:]:
                if token_id in (EOS_ID, PAD_ID):
                    break
                if token_id > EOS_ID and token_id < len(self.id_to_token):
                    tokens.append(self.id_to_token[token_id])
            token_lists.append(tokens)
        return token_lists
