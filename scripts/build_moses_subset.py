"""Build the MOSES subset and SELFIES vocabulary shipped in `genmbo/resources/`.

Source: the MOSES training set (Polykovskiy et al., Front. Pharmacol. 2020; ZINC clean leads, MIT licence),
read from the molsets wheel, which genmbo does not depend on:

    pip download --no-deps molsets==0.3.1 -d /tmp/moses
    python scripts/build_moses_subset.py /tmp/moses/molsets-0.3.1-py3-none-any.whl --size 200000

Rows are sampled with a fixed seed, canonicalized by RDKit, and kept only if `MoleculeSpace` accepts them
(SELFIES round trip exact); the vocabulary is every SELFIES token of the sample.
"""

from __future__ import annotations

import argparse
import gzip
import json
import zipfile
from pathlib import Path

import numpy as np

from genmbo.errors import InvalidDesign
from genmbo.spaces.molecules import MoleculeSpace, canonical_smiles

RESOURCES = Path(__file__).resolve().parents[1] / "genmbo" / "resources"


def read_moses_train(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read("moses/dataset/data/train.csv.gz")
    lines = gzip.decompress(raw).decode().splitlines()
    if lines[0].strip() != "SMILES":
        raise SystemExit(f"unexpected header in MOSES train.csv: {lines[0]!r}")
    return [line.strip() for line in lines[1:] if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("wheel", type=Path, help="molsets-0.3.1-py3-none-any.whl")
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    all_smiles = read_moses_train(args.wheel)
    order = np.random.default_rng(args.seed).permutation(len(all_smiles))[: args.size]
    sample = [canonical_smiles(all_smiles[index]) for index in sorted(order)]
    sample = [smiles for smiles in sample if smiles is not None]
    space = MoleculeSpace.from_smiles(sample)
    kept, rejected = [], 0
    for smiles in sample:
        try:
            kept.append(space.parse(smiles))
        except InvalidDesign:
            rejected += 1
    kept = list(dict.fromkeys(kept))
    space = MoleculeSpace.from_smiles(kept)

    with gzip.GzipFile(RESOURCES / "moses_subset.csv.gz", "wb", mtime=0) as handle:
        handle.write(("SMILES\n" + "\n".join(kept) + "\n").encode())
    vocabulary = {"tokens": space.vocabulary.tokens, "max_length": space.max_length}
    (RESOURCES / "moses_selfies_vocab.json").write_text(json.dumps(vocabulary, indent=1) + "\n")
    print(f"MOSES train: {len(all_smiles)} rows; sampled {args.size}; kept {len(kept)}; rejected {rejected}")
    print(f"SELFIES vocabulary: {len(space.vocabulary.tokens)} tokens; max length {space.max_length}")


if __name__ == "__main__":
    main()
