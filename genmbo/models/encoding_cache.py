"""Latents of large offline design sets, computed once per autoencoder and read back afterwards.

Encoding the shipped MOSES subset's 160,001 molecules takes most of a molecular campaign's `fit_prior`
stage, and every run on the same data with the same autoencoder computes the same posterior means. They
are filed in the content-addressed cache (`genmbo.runtime.cache`) under the SHA-256 of the autoencoder's
class and every tensor of its state (weights and buffers: a retrained or fine-tuned autoencoder, or a
changed decoding restriction, misses), of the designs themselves and of `ENCODING_VERSION`, which changes
whenever the same weights start encoding differently. Sets smaller than
`CACHE_MIN_DESIGNS` and the identity autoencoder (a standardization) are cheap and always computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from genmbo.models.identity_autoencoder import IdentityAutoencoder
from genmbo.runtime.cache import cached_array, content_key, design_texts

CACHE_MIN_DESIGNS = 10_000
# 2: the GRU encoder reads each row without its padding (`genmbo.models.networks.sequence_encoder`).
# 3: batches of 512 (`SequenceVAE.encode_designs`), whose float rounding differs in the last digits.
ENCODING_VERSION = 3


def weights_digest(module: torch.nn.Module) -> str:
    """The SHA-256 of `module`'s state: each tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def encode_designs_cached(autoencoder: Any, designs: Sequence[Any]) -> torch.Tensor:
    """`autoencoder.encode_designs(designs)` on the CPU (`n x latent_dim`), through the cache for large
    sets (module docstring)."""
    if len(designs) < CACHE_MIN_DESIGNS or isinstance(autoencoder, IdentityAutoencoder):
        with torch.no_grad():
            return autoencoder.encode_designs(designs).cpu()
    key = content_key(
        "posterior_means",
        ENCODING_VERSION,
        type(autoencoder).__name__,
        weights_digest(autoencoder),
        design_texts(designs),
    )

    def compute() -> np.ndarray:
        with torch.no_grad():
            return autoencoder.encode_designs(designs).cpu().numpy()

    array = cached_array(
        "latents", key, compute, valid=lambda array: array.shape == (len(designs), autoencoder.latent_dim)
    )
    return torch.from_numpy(np.ascontiguousarray(array))
