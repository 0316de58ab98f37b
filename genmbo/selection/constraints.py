"""User constraints on decoded candidates: structural alerts and property ranges for molecules.

Structural alerts come from RDKit's `FilterCatalog` (PAINS: Baell & Holloway, J. Med. Chem. 2010;
BRENK: Brenk et al., ChemMedChem 2008; NIH, ZINC and ChEMBL rule sets as packaged by RDKit); property
ranges use RDKit's descriptor functions by name (`rdkit.Chem.Descriptors.descList`, e.g. MolWt, MolLogP,
TPSA, qed) and two realism measures of `genmbo.metrics.molecule_realism`: ``SAScore`` (Ertl &
Schuffenhauer 2009, RDKit Contrib) and ``LargestRingSize`` (atoms in the largest ring of RDKit's smallest
set of smallest rings; 0 without rings). Every name is checked when the filter is built, so a typo stops
the run before any training.

Realism (`realism_quantile`, molecules, on by default): a candidate harder to make than the offline designs
usually are, its SA score above the `realism_quantile` quantile of theirs, or with a ring larger than any of
theirs, or matching a PAINS alert (`REALISM_ALERTS`: the substructures that make assay hits false positives,
which real screening libraries exclude), or matching a BRENK or NIH alert (`RARE_ALERT_CATALOGS`: reactive and
unstable groups) that fewer than `rare_alert_share` (1% by default) of the offline designs carry, is rejected.
The alert rule is relative to the data, as the SA bound is: aldehydes, imines, enol ethers and acetals, which
the prior proposes and MOSES-like data lack, are rejected, while an alert that is common in a campaign's own
data (an aniline, a long aliphatic chain) stays allowed. The bounds come from a seeded sample of at most
`REALISM_SAMPLE` offline designs. A generative prior that proposes molecules the data never contain (large
rings, SA scores of 4 and more) leads a surrogate, which has never seen such molecules, to rate them wrongly;
bounding both by the data's own range keeps the library among molecules like the data (docs/BENCHMARKS.md,
"Realism of molecular libraries": on the tuning seeds the libraries' true scores rose too, and rejecting PAINS
left every tuning run's best design unchanged; rejecting rare BRENK and NIH alerts lowered the 100th
percentile of fexofenadine MPO, whose best designs carried them, and raised that of penalized logP). A
campaign on macrocycles or unusual chemistry sets its own data's range by the same rule; `realism_quantile:
null` turns it off, `rare_alert_share: null` the alert rule alone.
The space's own checks (sanitization, alphabet, length, bounds) are not repeated here: decoded designs
are canonical already, and `genmbo.selection.filtering` drops those that fail to decode.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from genmbo.config import ConstraintsConfig
from genmbo.errors import ConfigError
from genmbo.spaces import MoleculeSpace
from genmbo.spaces.base import DesignSpace

REALISM_SAMPLE = 2000
REALISM_ALERTS = "PAINS"
RARE_ALERT_CATALOGS = ("BRENK", "NIH")
# What `RunFilterCatalog` returns, as a match, for a SMILES string it cannot parse.
UNPARSEABLE_ENTRY = "no valid RDKit molecule"


class DesignFilter:
    """`reason(design)`: None if the design passes every constraint, else a short reason to count.

    `offline` (the offline designs) sets the realism bounds of molecules (`realism`); without it, or for
    other spaces, there are none.
    """

    def __init__(self, space: DesignSpace, config: ConstraintsConfig, offline: Sequence[Any] = ()):
        self.molecules = isinstance(space, MoleculeSpace)
        if (config.structural_alerts or config.properties) and not self.molecules:
            raise ConfigError(
                "constraints.structural_alerts and constraints.properties apply to molecules only"
            )
        self.catalogs = [(name, alert_catalog(name)) for name in config.structural_alerts]
        self.ranges = [
            (name, _descriptor(name), *_bounds(name, bounds)) for name, bounds in config.properties.items()
        ]
        quantile = config.realism_quantile
        self.realism = (
            realism_bounds(offline, quantile, config.rare_alert_share, config.cap_alert_shares)
            if self.molecules and quantile is not None and offline
            else None
        )
        self.realism_alerts = alert_catalog(REALISM_ALERTS) if self.realism is not None else None
        self.allowed_alerts = {
            name: set(kept) for name, kept in (self.realism or {}).get("allowed_alerts", {}).items()
        }
        # Each candidate's BRENK and NIH alerts, matched once for this filter and the library's quota.
        self.rare_alerts = RareAlerts()

    @property
    def active(self) -> bool:
        return bool(self.catalogs or self.ranges or self.realism)

    def reason(self, design: Any) -> str | None:
        if not self.active:
            return None
        from rdkit import Chem

        molecule = Chem.MolFromSmiles(design)
        if molecule is None:
            return "not a valid molecule"
        for name, catalog in self.catalogs:
            if catalog.HasMatch(molecule):
                return f"{name} structural alert"
        for name, function, low, high in self.ranges:
            try:
                value = float(function(molecule))
            except Exception:  # an RDKit descriptor can fail on an exotic molecule: count, don't crash
                return f"{name} could not be computed"
            if (
                not math.isfinite(value)
                or (low is not None and value < low)
                or (high is not None and value > high)
            ):
                return f"{name} out of range"
        if self.realism is not None:
            from genmbo.tasks.molecular_oracles import sa_score

            if largest_ring_size(molecule) > self.realism["largest_ring_max"]:
                return "a ring larger than the offline designs'"
            if sa_score(molecule) > self.realism["sa_max"]:
                return "harder to make than the offline designs (SA score)"
            if self.realism_alerts.HasMatch(molecule):
                return f"{REALISM_ALERTS} structural alert"
            if self.allowed_alerts:
                found = self.rare_alerts.of_molecule(design, molecule)
                for name, allowed in self.allowed_alerts.items():
                    if not found[name] <= allowed:
                        return f"a {name} alert rare in the offline designs"
        return None


class RareAlerts:
    """The descriptions of the alerts of each of `RARE_ALERT_CATALOGS` that a design (valid SMILES)
    matches, matched once per design and remembered: the realism filter asks it of each candidate, the
    library's alert quota (`genmbo.selection.alert_quota`) of the same candidates."""

    def __init__(self):
        self._found: dict[str, dict[str, frozenset[str]]] = {}

    @functools.cached_property
    def catalogs(self) -> dict[str, Any]:  # built at the first match: most filters never match
        return {name: alert_catalog(name) for name in RARE_ALERT_CATALOGS}

    def of(self, designs: Sequence[str]) -> list[dict[str, frozenset[str]]]:
        """Each design's alerts by catalog; the designs not seen before matched together
        (`alert_matches`)."""
        new = list(dict.fromkeys(design for design in designs if design not in self._found))
        if new:
            found = {name: alert_matches(catalog, new) for name, catalog in self.catalogs.items()}
            for row, design in enumerate(new):
                self._found[design] = {name: frozenset(found[name][row]) for name in self.catalogs}
        return [self._found[design] for design in designs]

    def of_molecule(self, design: str, molecule: Any) -> dict[str, frozenset[str]]:
        """`of([design])[0]`, matched on `molecule` (RDKit's, of `design`) already parsed."""
        if design not in self._found:
            self._found[design] = {
                name: frozenset(entry.GetDescription() for entry in catalog.GetMatches(molecule))
                for name, catalog in self.catalogs.items()
            }
        return self._found[design]


def realism_bounds(
    offline: Sequence[Any], quantile: float, rare_alert_share: float | None, cap_alert_shares: bool
) -> dict[str, Any]:
    """The realism bounds of `DesignFilter` from offline SMILES: the `quantile` quantile of the SA scores
    and the largest ring of a seeded sample of at most `REALISM_SAMPLE` of them (unparsable ones skipped),
    the alert catalog every candidate must pass, for each of `RARE_ALERT_CATALOGS` the share of the sample
    carrying any of its alerts (`alert_shares`; `cap_alert_shares` records whether a library is held to
    them, `genmbo.selection.alert_quota`), and unless `rare_alert_share` is None, for each of them
    the alerts (by description) that at least that share of the sample carry, the only ones of the catalog
    a candidate may carry."""
    import numpy as np
    import torch
    from rdkit import Chem

    from genmbo.tasks.molecular_oracles import sa_score

    order = torch.randperm(len(offline), generator=torch.Generator().manual_seed(0))[:REALISM_SAMPLE]
    parsed = [(offline[index], Chem.MolFromSmiles(offline[index])) for index in order.tolist()]
    smiles = [text for text, molecule in parsed if molecule is not None]
    molecules = [molecule for _, molecule in parsed if molecule is not None]
    if not molecules:
        raise ConfigError("constraints.realism_quantile: no offline design is a valid molecule")
    scores = np.array([sa_score(molecule) for molecule in molecules])
    bounds = {
        "quantile": quantile,
        "sa_max": float(np.quantile(scores, quantile)),
        "largest_ring_max": max(largest_ring_size(molecule) for molecule in molecules),
        "alerts": REALISM_ALERTS,
        "sample": len(molecules),
    }
    matches = {name: cached_alert_matches(alert_catalog(name), smiles) for name in RARE_ALERT_CATALOGS}
    # The share of the sample carrying any alert of each catalog: the cap of `alert_quota.AlertQuota`.
    bounds["alert_shares"] = {name: sum(map(bool, found)) / len(smiles) for name, found in matches.items()}
    bounds["cap_alert_shares"] = cap_alert_shares
    if rare_alert_share is not None:
        bounds["rare_alert_share"] = rare_alert_share
        bounds["allowed_alerts"] = {
            name: common_alerts(found, rare_alert_share) for name, found in matches.items()
        }
    return bounds


def describe_realism_bounds(bounds: dict[str, Any]) -> str:
    """The realism bounds in words, as the summary and the report print them after "kept"."""
    text = (
        f"SA <= {bounds['sa_max']:.2f} (the offline {bounds['quantile']:.0%} quantile), "
        f"rings <= {bounds['largest_ring_max']} atoms, no {bounds['alerts']} alert"
    )
    if "allowed_alerts" in bounds:  # constraints.rare_alert_share is set
        text += (
            f", no {' or '.join(bounds['allowed_alerts'])} alert that under {bounds['rare_alert_share']:.0%} "
            "of the offline designs carry"
        )
    if bounds.get("cap_alert_shares"):
        shares = " and ".join(f"{name} {share:.1%}" for name, share in bounds["alert_shares"].items())
        text += f", designs with an alert at most the offline designs' share ({shares})"
    return text


def common_alerts(matches: Sequence[set[str]], share: float) -> list[str]:
    """The alerts (descriptions, sorted) that at least `share` of the molecules carry, from each molecule's
    matches (`alert_matches`)."""
    carriers = Counter(description for found in matches for description in found)
    return sorted(name for name, count in carriers.items() if count >= share * len(matches))


def alert_matches(catalog: Any, smiles: Sequence[str]) -> list[set[str]]:
    """The descriptions of the `catalog` alerts each of `smiles` matches, matched by RDKit's
    `RunFilterCatalog` (parsing and matching in C++, on torch's thread count: the caller's budget);
    raises `ValueError` on a SMILES string RDKit cannot parse."""
    import torch
    from rdkit.Chem.FilterCatalog import RunFilterCatalog

    found = []
    matches = RunFilterCatalog(catalog, list(smiles), numThreads=torch.get_num_threads())
    for text, entries in zip(smiles, matches, strict=True):
        descriptions = {entry.GetDescription() for entry in entries}
        # An unparseable SMILES comes back as one entry of this description, not as an error.
        if UNPARSEABLE_ENTRY in descriptions:
            raise ValueError(f"RDKit cannot parse SMILES {text!r}")
        found.append(descriptions)
    return found


def cached_alert_matches(catalog: Any, smiles: Sequence[str]) -> list[set[str]]:
    """`alert_matches` of `catalog` (`alert_catalog`) for a set of offline molecules, read from the cache
    (`genmbo.runtime.cache`) when these molecules were matched before, keyed by the molecules, the
    catalog's alert descriptions and RDKit's version. The realism filter's bounds and the library report's
    offline figures match the same seeded offline sample, so a campaign matches it once, and a second
    campaign on the same data not at all."""
    import numpy as np
    import rdkit

    from genmbo.runtime.cache import cached_array, content_key, design_texts

    descriptions = sorted(
        {catalog.GetEntryWithIdx(index).GetDescription() for index in range(catalog.GetNumEntries())}
    )
    key = content_key("alert_matches", rdkit.__version__, descriptions, design_texts(smiles))

    def compute() -> np.ndarray:  # one bit per molecule and alert description, packed eight to a byte
        column = {description: index for index, description in enumerate(descriptions)}
        table = np.zeros((len(smiles), len(descriptions)), dtype=bool)
        for row, found in enumerate(alert_matches(catalog, smiles)):
            table[row, [column[description] for description in found]] = True
        return np.packbits(table, axis=1)

    packed = cached_array(
        "alert_matches",
        key,
        compute,
        valid=lambda array: array.shape == (len(smiles), -(-len(descriptions) // 8)),
    )
    table = np.unpackbits(packed, axis=1, count=len(descriptions))
    return [{descriptions[index] for index in np.flatnonzero(row)} for row in table]


def alert_catalog(name: str):
    """RDKit's `FilterCatalog` of structural alerts named `name` (PAINS, BRENK, NIH, ZINC, CHEMBL...)."""
    from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

    known = {key: value for key, value in vars(FilterCatalogParams.FilterCatalogs).items() if key.isupper()}
    if name.upper() not in known or name.upper() == "ALL":
        raise ConfigError(f"unknown structural alert catalog {name!r}{_hint(name.upper(), known)}")
    params = FilterCatalogParams()
    params.AddCatalog(known[name.upper()])
    return FilterCatalog(params)


def largest_ring_size(molecule: Any) -> int:
    """Atoms in the largest ring of RDKit's smallest set of smallest rings of `molecule` (0 if none)."""
    return max((len(ring) for ring in molecule.GetRingInfo().AtomRings()), default=0)


def _descriptor(name: str) -> Callable[[Any], float]:
    from rdkit.Chem import Descriptors

    from genmbo.tasks.molecular_oracles import sa_score

    functions = {**dict(Descriptors.descList), "SAScore": sa_score, "LargestRingSize": largest_ring_size}
    if name not in functions:
        raise ConfigError(
            f"unknown RDKit descriptor {name!r} in constraints.properties{_hint(name, functions)}"
        )
    return functions[name]


def _bounds(name: str, bounds: list[float | None]) -> tuple[float | None, float | None]:
    if len(bounds) != 2:
        raise ConfigError(f"constraints.properties.{name} must be [low, high] (null for open), got {bounds}")
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise ConfigError(f"constraints.properties.{name}: low {low} is above high {high}")
    return low, high


def _hint(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
