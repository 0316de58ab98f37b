"""Distribution metrics of molecules: do generated SMILES look like the molecules they should resemble?

Validity, uniqueness and novelty (`genmbo.metrics.samples`) cannot see a prior whose molecules are
chemically implausible; these metrics can, and each is only meaningful beside the same metric computed
for held-out real molecules of the same size (the floor; `genmbo.metrics.realism.realism_with_floor`).

- `FrechetChemNetDistance`: FCD of Preuer et al. (J. Chem. Inf. Model. 2018, eq. 1): the Fréchet distance
  ``|mu_G - mu_R|^2 + tr(S_G + S_R - 2 (S_G S_R)^(1/2))`` between Gaussians fitted to the penultimate
  ChemNet activations of generated and reference SMILES. ChemNet and the distance come from the `fcd`
  package, which ships the network's weights (nothing is downloaded). FCD is biased upwards at small
  sample sizes, hence the floor.
- `KLDivergenceScore`: GuacaMol's KL-divergence benchmark (Brown et al., J. Chem. Inf. Model. 2019,
  Sec. 3.1): ``KL(P_reference || Q_generated)`` of nine RDKit descriptors (BertzCT, MolLogP, MolWt, TPSA
  by Gaussian kernel density estimates on 1,000 points; NumHAcceptors, NumHDonors, NumRotatableBonds,
  NumAliphaticRings, NumAromaticRings by 10-bin histograms on the reference's bins; see `discrete_kl`
  for how values outside those bins count) and of the maximum
  Tanimoto similarity of each molecule to the others of its own set (ECFP4, 4,096 bits), each turned
  into ``exp(-KL)`` and averaged: 1 is a perfect match. As in GuacaMol, densities get 1e-10 added.
- `SyntheticAccessibility`: the SA score of Ertl & Schuffenhauer (J. Cheminform. 2009), from RDKit
  Contrib (1 easy to 10 hard); its mean and the share above 4.
- `LargeRingShare`: share of molecules with a ring (RDKit's smallest set of smallest rings) of more than
  7 atoms, which drug-like libraries almost never contain.
- `StructuralAlertShare`: share of molecules matching an RDKit `FilterCatalog` (PAINS: Baell & Holloway,
  J. Med. Chem. 2010; BRENK: Brenk et al., ChemMedChem 2008; NIH: Jadhav et al., J. Med. Chem. 2010).
- MOSES's SNN, Frag and Scaf against the reference: `genmbo.metrics.moses_similarity`.

Every metric takes canonical, valid SMILES (None entries, failed decodes, are skipped) and keeps tensor
states reduced by concatenation, so it synchronizes across processes like any torchmetrics metric.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem import Descriptors
from scipy.stats import entropy, gaussian_kde
from torchmetrics import Metric

from genmbo.metrics.fingerprints import morgan_fingerprints, tanimoto_from_bits, unpack_bits
from genmbo.metrics.samples import _cat_or_empty, measure
from genmbo.selection.constraints import (
    alert_catalog,
    alert_matches,
    cached_alert_matches,
    largest_ring_size,
)
from genmbo.tasks.molecular_oracles import sa_score

CONTINUOUS_DESCRIPTORS = ("BertzCT", "MolLogP", "MolWt", "TPSA")
DISCRETE_DESCRIPTORS = (
    "NumHAcceptors",
    "NumHDonors",
    "NumRotatableBonds",
    "NumAliphaticRings",
    "NumAromaticRings",
)
ALERT_CATALOGS = ("pains", "brenk", "nih")
LARGE_RING_ATOMS = 8
HIGH_SA = 4.0
# ChemNet's penultimate layer.
CHEMNET_WIDTH = 512
# Rows of one block of the internal-similarity matrix (x the set's size, float64).
_SIMILARITY_BLOCK_ELEMENTS = 1 << 22


def _valid(smiles: Sequence[str | None]) -> list[str]:
    return [text for text in smiles if text is not None]


def _molecules(smiles: Sequence[str]) -> list[Chem.Mol]:
    molecules = [Chem.MolFromSmiles(text) for text in smiles]
    if any(molecule is None for molecule in molecules):
        bad = next(text for text, molecule in zip(smiles, molecules, strict=True) if molecule is None)
        raise ValueError(f"RDKit cannot parse SMILES {bad!r}")
    return molecules


@functools.cache
def _chemnet() -> torch.nn.Module:
    from fcd import load_ref_model

    return load_ref_model()


def chemnet_activations(smiles: Sequence[str], batch_size: int = 256) -> torch.Tensor:
    """ChemNet's penultimate activations of SMILES: a `n x 512` float64 tensor."""
    if not smiles:
        return torch.zeros(0, CHEMNET_WIDTH, dtype=torch.float64)
    from fcd import get_predictions

    # n_jobs=0: tokenize in this process; a DataLoader worker process per call costs more than it saves.
    activations = get_predictions(_chemnet(), list(smiles), batch_size=batch_size, n_jobs=0, device="cpu")
    return torch.from_numpy(np.asarray(activations, dtype=np.float64))


def _gaussian(activations: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    values = activations.double().numpy()
    return values.mean(0), np.cov(values, rowvar=False)


class FrechetChemNetDistance(Metric):
    """FCD between the molecules seen and `reference` SMILES (statistics fitted once, at construction)."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, reference: Sequence[str], **kwargs: Any):
        super().__init__(**kwargs)
        if len(reference) < 2:
            raise ValueError("FCD needs at least two reference molecules")
        self.reference_mean, self.reference_cov = _gaussian(chemnet_activations(list(reference)))
        self.add_state("activations", default=[], dist_reduce_fx="cat")

    def update(self, smiles: Sequence[str | None]) -> None:
        """Add a batch of SMILES (None entries are skipped)."""
        self.activations.append(chemnet_activations(_valid(smiles)).to(self.device))

    def compute(self) -> torch.Tensor:
        """The distance (NaN with fewer than two molecules)."""
        from fcd.utils import calculate_frechet_distance

        activations = _cat_or_empty(self.activations, CHEMNET_WIDTH)
        if activations.shape[0] < 2:
            return torch.tensor(float("nan"), dtype=torch.float64)
        mean, cov = _gaussian(activations.cpu())
        distance = calculate_frechet_distance(mean, cov, self.reference_mean, self.reference_cov)
        return torch.tensor(float(distance), dtype=torch.float64)


def descriptor_table(molecules: Sequence[Chem.Mol]) -> torch.Tensor:
    """The nine GuacaMol descriptors of each molecule: a `n x 9` float64 tensor (continuous ones first)."""
    functions = [getattr(Descriptors, name) for name in CONTINUOUS_DESCRIPTORS + DISCRETE_DESCRIPTORS]
    table = [[float(function(molecule)) for function in functions] for molecule in molecules]
    return torch.tensor(table, dtype=torch.float64).reshape(len(molecules), len(functions))


def max_internal_similarity(fingerprints: torch.Tensor) -> torch.Tensor:
    """Each molecule's highest Tanimoto similarity to another molecule of the same set (self excluded):
    a `n` float64 tensor, from `n x words` packed fingerprints."""
    count = fingerprints.shape[0]
    bits = unpack_bits(fingerprints)
    rows_per_block = max(1, _SIMILARITY_BLOCK_ELEMENTS // max(count, 1))
    best = []
    for start in range(0, count, rows_per_block):
        block = tanimoto_from_bits(bits[start : start + rows_per_block], bits)
        rows = torch.arange(block.shape[0])
        block[rows, rows + start] = 0.0  # GuacaMol fills the diagonal with zeros
        best.append(block.max(1).values)
    return torch.cat(best) if best else torch.zeros(0, dtype=torch.float64)


def continuous_kl(reference: np.ndarray, generated: np.ndarray) -> float:
    """KL(P || Q) of Gaussian KDEs of two 1-D samples, evaluated on 1,000 points spanning both."""
    if np.ptp(reference) == 0 and np.ptp(generated) == 0:
        # A KDE of a constant is singular: equal constants match, different ones do not.
        return 0.0 if reference[0] == generated[0] else float("inf")
    grid = np.linspace(min(reference.min(), generated.min()), max(reference.max(), generated.max()), 1000)
    p = _kde(reference)(grid) + 1e-10
    q = _kde(generated)(grid) + 1e-10
    return float(entropy(p, q))


def _kde(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    if np.ptp(values) == 0:
        # One constant sample against a varied one: a narrow bump at the constant.
        return lambda grid: np.exp(-0.5 * ((grid - values[0]) / 1e-3) ** 2)
    return gaussian_kde(values)


def discrete_kl(reference: np.ndarray, generated: np.ndarray) -> float:
    """KL(P || Q) of 10-bin histograms on the reference's bins, each bin's share of its whole sample.

    Departure: GuacaMol normalizes Q over the generated values inside the reference's range, so values
    outside it are ignored (and a sample entirely outside gives 0/0). Here they keep their share of Q,
    which lowers Q inside the range and so raises the divergence; with every value inside, both agree.
    """
    reference_counts, bins = np.histogram(reference, bins=10)
    generated_counts, _ = np.histogram(generated, bins=bins)
    p = reference_counts / max(len(reference), 1) + 1e-10
    q = generated_counts / max(len(generated), 1) + 1e-10
    return float(np.sum(p * np.log(p / q)))


class KLDivergenceScore(Metric):
    """GuacaMol's KL-divergence score of the molecules seen against `reference` SMILES (in [0, 1])."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    FINGERPRINT_BITS = 4096

    def __init__(self, reference: Sequence[str], **kwargs: Any):
        super().__init__(**kwargs)
        if len(reference) < 2:
            raise ValueError("the KL score needs at least two reference molecules")
        self.reference_descriptors = descriptor_table(_molecules(list(reference))).numpy()
        self.reference_similarity = max_internal_similarity(
            morgan_fingerprints(list(reference), 2, self.FINGERPRINT_BITS)
        ).numpy()
        self.add_state("descriptors", default=[], dist_reduce_fx="cat")
        self.add_state("fingerprints", default=[], dist_reduce_fx="cat")

    def update(self, smiles: Sequence[str | None]) -> None:
        """Add a batch of SMILES (None entries are skipped)."""
        valid = _valid(smiles)
        self.descriptors.append(descriptor_table(_molecules(valid)).to(self.device))
        self.fingerprints.append(morgan_fingerprints(valid, 2, self.FINGERPRINT_BITS).to(self.device))

    def divergences(self) -> dict[str, float]:
        """KL(reference || generated) of each descriptor and of the internal similarity."""
        descriptors = _cat_or_empty(self.descriptors, len(CONTINUOUS_DESCRIPTORS + DISCRETE_DESCRIPTORS))
        generated = descriptors.double().cpu().numpy()
        names = CONTINUOUS_DESCRIPTORS + DISCRETE_DESCRIPTORS
        divergences = {}
        for column, name in enumerate(names):
            kl = continuous_kl if name in CONTINUOUS_DESCRIPTORS else discrete_kl
            divergences[name] = kl(self.reference_descriptors[:, column], generated[:, column])
        similarity = max_internal_similarity(_cat_or_empty(self.fingerprints, self.FINGERPRINT_BITS // 32))
        divergences["internal_similarity"] = continuous_kl(self.reference_similarity, similarity.numpy())
        return divergences

    def compute(self) -> torch.Tensor:
        """Mean of ``exp(-KL)`` over the ten divergences (NaN with fewer than two molecules)."""
        if sum(len(batch) for batch in self.descriptors) < 2:
            return torch.tensor(float("nan"), dtype=torch.float64)
        partial = [np.exp(-value) for value in self.divergences().values()]
        return torch.tensor(float(np.mean(partial)), dtype=torch.float64)


class _PerMoleculeValue(Metric):
    """Keeps one float per molecule (`value(molecule)`); `compute` is their mean."""

    is_differentiable = False
    full_state_update = False

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_state("values", default=[], dist_reduce_fx="cat")

    def value(self, molecule: Chem.Mol) -> float:
        raise NotImplementedError

    def update(self, smiles: Sequence[str | None]) -> None:
        """Add a batch of SMILES (None entries are skipped)."""
        values = [self.value(molecule) for molecule in _molecules(_valid(smiles))]
        self.values.append(torch.tensor(values, dtype=torch.float64, device=self.device))

    def all_values(self) -> torch.Tensor:
        return _cat_or_empty(self.values).double()

    def compute(self) -> torch.Tensor:
        values = self.all_values()
        return values.mean() if values.numel() else torch.tensor(float("nan"), dtype=torch.float64)


class SyntheticAccessibility(_PerMoleculeValue):
    """Mean SA score; `share_above(threshold)` is the share of molecules above a score."""

    higher_is_better = False

    def value(self, molecule: Chem.Mol) -> float:
        return sa_score(molecule)

    def share_above(self, threshold: float = HIGH_SA) -> torch.Tensor:
        values = self.all_values()
        if not values.numel():
            return torch.tensor(float("nan"), dtype=torch.float64)
        return (values > threshold).double().mean()


class LargeRingShare(_PerMoleculeValue):
    """Share of molecules with a ring of at least `min_atoms` atoms (default 8: larger than 7)."""

    higher_is_better = False

    def __init__(self, min_atoms: int = LARGE_RING_ATOMS, **kwargs: Any):
        super().__init__(**kwargs)
        self.min_atoms = min_atoms

    def value(self, molecule: Chem.Mol) -> float:
        return float(largest_ring_size(molecule) >= self.min_atoms)


class StructuralAlertShare(_PerMoleculeValue):
    """Share of molecules that match RDKit's `FilterCatalog` named `catalog` (e.g. "pains").

    Matching a catalog's hundreds of SMARTS patterns is the slowest of these metrics (PAINS, 480
    patterns, about 2 ms a molecule on one core), so a batch goes through RDKit's `RunFilterCatalog`,
    which parses and matches in C++ on torch's thread count (the caller's budget)."""

    higher_is_better = False

    def __init__(self, catalog: str, cached: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.catalog = alert_catalog(catalog)
        self.cached = cached

    def update(self, smiles: Sequence[str | None]) -> None:
        """Add a batch of SMILES (None entries are skipped); raises `ValueError` on one RDKit cannot
        parse. With `cached`, the batch's matches are read from (or filed in) the cache
        (`genmbo.selection.constraints.cached_alert_matches`): for sets of offline molecules."""
        found = (cached_alert_matches if self.cached else alert_matches)(self.catalog, _valid(smiles))
        values = [float(bool(descriptions)) for descriptions in found]
        self.values.append(torch.tensor(values, dtype=torch.float64, device=self.device))


# The keys of `molecule_property_metrics`, in its order.
PROPERTY_NAMES = (
    "sa_mean",
    "sa_above_4",
    "large_ring_share",
    *(f"{catalog}_share" for catalog in ALERT_CATALOGS),
)


def molecule_property_metrics(smiles: Sequence[str | None], offline: bool = False) -> dict[str, float]:
    """The reference-free metrics of a set of SMILES (`PROPERTY_NAMES`): SA mean and share above 4,
    large-ring share and each alert catalog's share. `offline`: the set is offline molecules, whose alert
    matches the cache keeps (`StructuralAlertShare`'s `cached`)."""
    accessibility = SyntheticAccessibility(sync_on_compute=False)
    accessibility.update(smiles)
    shares: dict[str, Metric] = {
        "large_ring_share": LargeRingShare(sync_on_compute=False),
        **{
            f"{catalog}_share": StructuralAlertShare(catalog, cached=offline, sync_on_compute=False)
            for catalog in ALERT_CATALOGS
        },
    }
    return {
        "sa_mean": float(accessibility.compute()),
        "sa_above_4": float(accessibility.share_above(HIGH_SA)),
        **measure(shares, smiles),
    }


def molecule_realism(smiles: Sequence[str | None], reference: Sequence[str]) -> dict[str, float]:
    """FCD, GuacaMol KL score and MOSES's SNN, Frag and Scaf (`genmbo.metrics.moses_similarity`) against
    `reference`, and the reference-free metrics, of `smiles`."""
    # Here, not at the top: those metrics build on this module's helpers.
    from genmbo.metrics.moses_similarity import (
        FragmentSimilarity,
        NearestNeighbourSimilarity,
        ScaffoldSimilarity,
    )

    distances: dict[str, Metric] = {
        "fcd": FrechetChemNetDistance(reference, sync_on_compute=False),
        "kl_score": KLDivergenceScore(reference, sync_on_compute=False),
        "snn": NearestNeighbourSimilarity(reference, sync_on_compute=False),
        "frag": FragmentSimilarity(reference, sync_on_compute=False),
        "scaf": ScaffoldSimilarity(reference, sync_on_compute=False),
    }
    return measure(distances, smiles) | molecule_property_metrics(smiles)
