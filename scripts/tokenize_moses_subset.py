"""Tokenize the shipped MOSES subset once, so campaigns on it skip SELFIES encoding in Python.

    python scripts/tokenize_moses_subset.py

Writes `genmbo/resources/moses_subset_tokens.npz`: `ids`, the subset's SELFIES token ids row for row with
`moses_subset.csv.gz` in the layout of `Vocabulary.encode` (BOS, tokens, EOS, padding; uint8), and `key`,
the content key of what they were computed from (the subset, the vocabulary, the `selfies` version:
`table_key`). `genmbo.spaces.shipped_tokens` uses them only while the running inputs have the same key.
"""

from __future__ import annotations

import time

import numpy as np

from genmbo.resources import moses_selfies_vocabulary, moses_subset_smiles, resource_path
from genmbo.spaces.molecules import selfies_tokens
from genmbo.spaces.shipped_tokens import TOKENS_FILE, table_key
from genmbo.spaces.vocabulary import Vocabulary


def main() -> None:
    smiles = moses_subset_smiles()
    tokens, max_length = moses_selfies_vocabulary()
    vocabulary = Vocabulary(tokens)
    if len(vocabulary) > 256:
        raise SystemExit(f"{len(vocabulary)} token ids do not fit in uint8")
    started = time.perf_counter()
    chunk = 10_000
    # Tokenized here, not by `MoleculeSpace.encode`, which would read the table being rebuilt.
    ids = np.concatenate(
        [
            vocabulary.encode([selfies_tokens(text) for text in smiles[start : start + chunk]], max_length)
            .numpy()
            .astype(np.uint8)
            for start in range(0, len(smiles), chunk)
        ]
    )
    np.savez_compressed(
        resource_path(TOKENS_FILE),
        ids=ids,
        key=np.array(table_key(smiles, tokens)),
    )
    elapsed = time.perf_counter() - started
    print(f"{len(smiles)} molecules, {ids.shape[1]} ids a row, in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
