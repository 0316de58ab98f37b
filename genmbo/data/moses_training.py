"""The molecules the shipped MOSES prior trains on and is measured against.

The shipped subset (`genmbo.resources.moses_subset_smiles`, 200,000 molecules of the MOSES training set;
Polykovskiy et al., Front. Pharmacol. 2020) is split once, seeded: `HELD_OUT_MOLECULES` molecules are
never trained on and are the reference every realism and reconstruction figure of the prior uses. The
prior may train on the rest of the subset or on the whole MOSES training set (1.58 million molecules),
read from the molsets wheel, which genmbo does not depend on (``pip download --no-deps molsets==0.3.1``),
always without the held-out molecules.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import zipfile
from multiprocessing import Pool
from pathlib import Path

import rdkit

from genmbo.data.token_datamodule import split_indices
from genmbo.errors import InvalidDesign
from genmbo.resources import moses_subset_smiles
from genmbo.spaces.molecules import MoleculeSpace, canonical_smiles

HELD_OUT_MOLECULES = 10_000
MOSES_TRAIN_MEMBER = "moses/dataset/data/train.csv.gz"


def subset_split(seed: int = 0) -> tuple[list[str], list[str]]:
    """The shipped subset as (training molecules, held-out molecules), both in the subset's order."""
    smiles = moses_subset_smiles()
    kept, held_out = split_indices(len(smiles), HELD_OUT_MOLECULES, seed)
    return [smiles[index] for index in kept.tolist()], [smiles[index] for index in held_out.tolist()]


def read_moses_wheel(wheel: Path) -> list[str]:
    """The SMILES of the MOSES training set inside a molsets wheel, as written there."""
    with zipfile.ZipFile(wheel) as archive:
        lines = gzip.decompress(archive.read(MOSES_TRAIN_MEMBER)).decode().splitlines()
    if not lines or lines[0].strip() != "SMILES":
        raise ValueError(f"{wheel}: unexpected header in {MOSES_TRAIN_MEMBER}: {lines[:1]!r}")
    return [line.strip() for line in lines[1:] if line.strip()]


@functools.cache
def _default_space() -> MoleculeSpace:
    return MoleculeSpace()


def _accepted(smiles: str) -> str | None:
    try:
        return _default_space().parse(smiles)
    except InvalidDesign:
        return None


def full_moses_training_smiles(wheel: Path, cache_dir: Path, seed: int = 0, processes: int = 2) -> list[str]:
    """The whole MOSES training set as the default `MoleculeSpace` accepts it (RDKit-canonical, exact
    SELFIES round trip, within the shipped vocabulary and length), without duplicates and without the
    held-out molecules of `subset_split(seed)`.

    Parsing 1.58 million SMILES takes 15-35 minutes on one core (docs/BENCHMARKS.md, "Loading the full
    MOSES training set"), so the accepted molecules are cached in `cache_dir`, named by the wheel's
    SHA-256 and the RDKit version (another wheel or another canonical form never reads this one's
    molecules). The held-out molecules are canonicalized by the running RDKit before they are removed."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
    cache = cache_dir / f"moses_train_accepted_{digest}_rdkit{rdkit.__version__}.txt.gz"
    if cache.is_file():
        with gzip.open(cache, "rt") as handle:
            accepted = handle.read().splitlines()
    else:
        rows = read_moses_wheel(wheel)
        if processes > 1:
            with Pool(processes) as pool:
                parsed = pool.map(_accepted, rows, chunksize=4096)
        else:
            parsed = [_accepted(smiles) for smiles in rows]
        accepted = list(dict.fromkeys(smiles for smiles in parsed if smiles is not None))
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial")
        with gzip.open(partial, "wt") as handle:
            handle.write("\n".join(accepted) + "\n")
        partial.replace(cache)  # a parse stopped while writing leaves no truncated cache behind
    held_out = {canonical_smiles(smiles) for smiles in subset_split(seed)[1]}
    return [smiles for smiles in accepted if smiles not in held_out]


def training_molecules(seed: int = 0, wheel: Path | None = None, cache_dir: Path | None = None) -> list[str]:
    """The molecules a MOSES prior trains on: the shipped subset's training part, or with `wheel` the
    whole MOSES training set (`full_moses_training_smiles`, cached in `cache_dir`); never the held-out."""
    if wheel is None:
        return subset_split(seed)[0]
    if cache_dir is None:
        raise ValueError("the full MOSES training set needs a cache_dir")
    return full_moses_training_smiles(wheel, cache_dir, seed)
