"""Measure a prior: reconstruction of held-out designs and the quality of designs sampled from it.

Reconstruction is greedy decoding of the posterior mean (what latent search relies on): exact match of
whole designs, and for token autoencoders token accuracy over non-padding positions (EOS included); for
vectors, the root-mean-square error in units of the data's standard deviation.
Samples are latent diffusion draws decoded greedily, scored with the MOSES-style metrics of
`genmbo.metrics.samples` (validity, uniqueness, novelty against the training designs, and IntDiv_1/2
for molecules), plus the share of samples the space accepts again (`sample_in_space`), and the
distribution metrics of `genmbo.metrics.realism` (``realism_*``) beside the same metrics for real designs
of the same size (``realism_*_floor``): realism is what validity and novelty cannot see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from genmbo.metrics.realism import realism_with_floor, split_reference
from genmbo.metrics.reconstruction import TokenAccuracy
from genmbo.metrics.samples import InternalDiversity, Novelty, Uniqueness, Validity
from genmbo.models.latent_diffusion import Sampler
from genmbo.models.prior import Prior
from genmbo.models.prior_sampling import Precision
from genmbo.spaces import ContinuousSpace, MoleculeSpace


def reconstruction_metrics(prior: Prior, designs: Sequence[Any], batch_size: int = 1024) -> dict[str, float]:
    """Exact-match rate and token accuracy (token spaces) or RMSE in standardized units (vectors)."""
    autoencoder = prior.autoencoder
    latents = autoencoder.encode_designs(designs)
    decoded = autoencoder.decode_latents(latents)
    if isinstance(autoencoder.space, ContinuousSpace):
        # Vectors never match exactly after a float32 round trip; the error in data standard deviations
        # is what tells a good reconstruction from a bad one.
        error = autoencoder.space.encode(decoded) - autoencoder.space.encode(list(designs))
        return {"reconstruction_rmse": float(error.pow(2).mean().sqrt())}
    metrics = {
        "reconstruction_exact_match": sum(a == b for a, b in zip(decoded, designs, strict=True))
        / len(designs)
    }
    generate = getattr(autoencoder, "generate", None)
    if generate is not None:
        accuracy = TokenAccuracy()
        targets = autoencoder.space.encode(list(designs))
        for latent_chunk, target_chunk in zip(
            latents.split(batch_size), targets.split(batch_size), strict=True
        ):
            accuracy.update(generate(latent_chunk)[:, 1:].cpu(), target_chunk[:, 1:])
        metrics["reconstruction_token_accuracy"] = float(accuracy.compute())
    return metrics


def sample_metrics(
    prior: Prior,
    training_designs: Sequence[Any],
    num_samples: int,
    generator: torch.Generator,
    oracle: Callable[[list[Any]], np.ndarray] | None = None,
    reference: Sequence[Any] | None = None,
    sampler: Sampler = "ddim",
    num_steps: int | None = None,
    precision: Precision = "float32",
    realism_pool: int = 1,
) -> dict[str, float]:
    """Validity, uniqueness, novelty (and IntDiv for molecules) of `num_samples` prior samples (drawn by
    `sampler`, DDIM in 50 steps unless told otherwise, at `precision`, the most realistic by the prior's
    critic among `realism_pool` times as many: `Prior.sample_designs`); with a
    task's `oracle`, also ``sample_feasible``, the share of valid samples it scores finitely (Ehrlich gives
    -inf to a sequence with a banned transition). Realism is measured against `reference` (held-out
    designs) where given, else against a subset of the training designs (`realism_of_samples`)."""
    samples = prior.sample_designs(num_samples, generator, sampler, num_steps, precision, realism_pool)
    space = prior.autoencoder.space
    metrics: dict[str, Any] = {
        # MOSES validity: the sample decodes to a design (for molecules, one RDKit parses and sanitizes).
        "sample_validity": Validity()(samples),
        # Stricter: the space accepts it again (molecules: every SELFIES token in the prior's vocabulary,
        # exact round trip), so it can be re-encoded for further search.
        "sample_in_space": Validity(space)(samples),
        "sample_uniqueness": Uniqueness(space)(samples),
        "sample_novelty": Novelty(training_designs, space)(samples),
    }
    if oracle is not None:
        valid = [sample for sample in samples if sample is not None]
        metrics["sample_feasible"] = float(np.isfinite(oracle(valid)).mean()) if valid else 0.0
    if isinstance(space, MoleculeSpace):
        metrics["sample_intdiv1"] = InternalDiversity(p=1)(samples)
        metrics["sample_intdiv2"] = InternalDiversity(p=2)(samples)
    metrics |= realism_of_samples(space, samples, training_designs, generator, reference)
    return {name: float(value) for name, value in metrics.items()}


def realism_of_samples(
    space: Any,
    samples: Sequence[Any],
    designs: Sequence[Any],
    generator: torch.Generator,
    reference: Sequence[Any] | None = None,
) -> dict[str, float]:
    """``realism_NAME`` of the valid `samples` and ``realism_NAME_floor`` of real designs of the same
    size, both against `reference`. Without a `reference`, `designs` give two disjoint random subsets,
    the floor and the reference, each as large as the samples (or half of `designs`); with one, the floor
    is a random subset of `designs`. `designs` are also the support of the sequence transition check.
    """
    valid = [sample for sample in samples if sample is not None]
    if reference is None:
        floor, reference = split_reference(designs, len(valid), generator)
    else:
        order = torch.randperm(len(designs), generator=generator)[: len(valid)].tolist()
        floor = [designs[index] for index in order]
    measured = realism_with_floor(space, valid, floor, reference, designs)
    return {f"realism_{name}": value for name, value in measured["samples"].items()} | {
        f"realism_{name}_floor": value for name, value in measured["floor"].items()
    }
