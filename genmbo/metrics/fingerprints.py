"""Morgan fingerprints packed into integer words, and a Tanimoto kernel on them.

Bits are packed 32 to a word and held in int64 tensors (compact states that torchmetrics can gather):
every word is non-negative, so the right shifts and the multiply of the SWAR popcount below never meet a
sign bit or overflow. Torch has no popcount operator; the classic SWAR ("SIMD within a register") bit
count does it with shifts, masks and one multiply on whole tensors.

The Tanimoto kernel counts intersections with a matrix product instead: unpacked to 0/1 float32 rows,
``|a & b| = a . b``, so a block of similarities is one BLAS call. The sums are integers below 2^24, which
float32 holds exactly, so the similarities equal the integer computation's. On this project's 2-core
development machine (one thread, 128 x 4,096 random 2048-bit fingerprints) it took 0.16 s where the SWAR
count of every AND-ed word pair took 2.6 s, with identical values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from genmbo.runtime.progress import track

WORD_BITS = 32
# Molecules whose unpacked bits `morgan_fingerprints` holds at once.
PACK_CHUNK = 4096


def pack_bits(bits: torch.Tensor) -> torch.Tensor:
    """Pack a `n x num_bits` 0/1 tensor into a `n x ceil(num_bits / 32)` int64 tensor (bit i of word w is
    bit ``32 w + i``; trailing bits are zero), on the tensor's device.

    NumPy packs the bits eight to a byte, least significant first, and four bytes read as one
    little-endian 32-bit word are exactly that word: one C pass instead of a multiply-and-sum over
    32 x 64-bit integers per word."""
    num_words = -(-bits.shape[-1] // WORD_BITS)
    padded = np.zeros((bits.shape[0], num_words * WORD_BITS), dtype=bool)
    padded[:, : bits.shape[-1]] = bits.cpu().numpy() != 0
    words = np.packbits(padded, axis=1, bitorder="little").view("<u4").astype(np.int64)
    return torch.from_numpy(words).to(bits.device)


def popcount(words: torch.Tensor) -> torch.Tensor:
    """Number of set bits of every 32-bit word held in an int64 tensor (any shape, same shape out)."""
    words = words - ((words >> 1) & 0x55555555)
    words = (words & 0x33333333) + ((words >> 2) & 0x33333333)
    words = (words + (words >> 4)) & 0x0F0F0F0F
    # The multiply sums the four byte counts into the top byte; each count is at most 32, so no carry.
    return ((words * 0x01010101) >> 24) & 0xFF


def parse_for_fingerprint(smiles: str, written_by_rdkit: bool) -> Chem.Mol | None:
    """A molecule to fingerprint, or None if RDKit cannot parse `smiles`.

    SMILES that RDKit itself wrote from a sanitized molecule (`MoleculeSpace` designs) already carry its
    aromaticity, charges and hydrogens, so they are parsed without sanitization: valences and ring
    membership, which the Morgan invariants read, are set directly (RDKit's "partial sanitization"). That
    parse is about three times faster and gives identical fingerprints (checked on all 200,000 molecules
    of the shipped MOSES subset, radius 2, 2048 bits); any other SMILES is sanitized in full.
    """
    if not written_by_rdkit:
        return Chem.MolFromSmiles(smiles)
    molecule = Chem.MolFromSmiles(smiles, sanitize=False)
    if molecule is not None:
        molecule.UpdatePropertyCache(strict=False)
        Chem.FastFindRings(molecule)
    return molecule


def morgan_fingerprints(
    smiles: Sequence[str], radius: int = 2, fp_size: int = 1024, written_by_rdkit: bool = False
) -> torch.Tensor:
    """Packed Morgan (ECFP-like) bit fingerprints of SMILES strings: a `n x ceil(fp_size / 32)` int64 tensor.

    Uses RDKit's ``rdFingerprintGenerator.GetMorganGenerator(radius, fpSize)``; raises `ValueError` on a
    SMILES string RDKit cannot parse. `written_by_rdkit`: the strings are RDKit canonical SMILES, parsed
    the faster way (`parse_for_fingerprint`).
    """
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=fp_size)
    words = torch.zeros(len(smiles), -(-fp_size // WORD_BITS), dtype=torch.int64)
    # Unpacked bits one chunk at a time: 160,000 molecules never hold 160,000 x fp_size bytes at once.
    bits = np.zeros((min(len(smiles), PACK_CHUNK), fp_size), dtype=np.uint8)
    rows = enumerate(smiles)
    for row, text in (
        track(rows, "fingerprinting molecules", total=len(smiles)) if len(smiles) > 10_000 else rows
    ):
        molecule = parse_for_fingerprint(text, written_by_rdkit)
        if molecule is None:
            raise ValueError(f"RDKit cannot parse SMILES {text!r}")
        bits[row % PACK_CHUNK] = generator.GetFingerprintAsNumPy(molecule)
        if row % PACK_CHUNK == PACK_CHUNK - 1 or row == len(smiles) - 1:
            start = row - row % PACK_CHUNK
            words[start : row + 1] = pack_bits(torch.from_numpy(bits[: row + 1 - start]))
    return words


def unpack_bits(words: torch.Tensor) -> torch.Tensor:
    """The inverse of `pack_bits`, as 0/1 float32: a `n x (32 * num_words)` tensor."""
    shifts = torch.arange(WORD_BITS, device=words.device)
    return ((words[:, :, None] >> shifts) & 1).reshape(words.shape[0], -1).float()


def tanimoto_from_bits(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Tanimoto similarity of unpacked 0/1 float32 rows (`unpack_bits`): a `n x m` float64 tensor, with
    two empty fingerprints counted as identical (1), as in MOSES."""
    intersection = (first @ second.T).double()
    union = first.sum(1).double()[:, None] + second.sum(1).double()[None, :] - intersection
    similarity = intersection / union.clamp(min=1)
    return torch.where(union > 0, similarity, torch.ones_like(similarity))


def tanimoto_matrix(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Tanimoto similarity ``|a & b| / |a | b|`` of every pair of packed fingerprints.

    Args:
        first: a `n x num_words` int64 tensor from `pack_bits` / `morgan_fingerprints`.
        second: a `m x num_words` int64 tensor.
    Returns:
        A `n x m` float64 tensor. Two empty fingerprints count as identical (1), as in MOSES; RDKit's
        `TanimotoSimilarity` returns 0 there. Peak memory is about ``(n + m) * 32 * num_words`` float32
        values plus the `n x m` result, so callers pass blocks of large sets.
    """
    return tanimoto_from_bits(unpack_bits(first), unpack_bits(second))
