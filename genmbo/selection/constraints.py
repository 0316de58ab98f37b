"""User constraints on decoded candidates: structural alerts and property ranges for molecules.

Structural alerts come from RDKit's `FilterCatalog` (PAINS: Baell & Holloway, J. Med. Chem. 2010;
BRENK: Brenk et al., ChemMedChem 2008; NIH, ZINC and ChEMBL rule sets as packaged by RDKit); property
ranges use RDKit's descriptor functions by name (`rdkit.Chem.Descriptors.descList`, e.g. MolWt, MolLogP,
TPSA, qed) and two realism measures of `genmbo.metrics.molecule_realism`: ``SAScore`` (Ertl &
Schuffenhauer 2009, RDKit Contrib) and ``LargestRingSize`` (atoms in the largest ring of RDKit's smallest
set of smallest rings; 0 without rings). Every name is checked when the filter is built, so a typo stops
the run before any training.
The space's own checks (sanitization, alphabet, length, bounds) are not repeated here: decoded designs
are canonical already, and `genmbo.selection.filtering` drops those that fail to decode.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

from genmbo.config import ConstraintsConfig
from genmbo.errors import ConfigError
from genmbo.spaces import MoleculeSpace
from genmbo.spaces.base import DesignSpace


class DesignFilter:
    """`reason(design)`: None if the design passes every constraint, else a short reason to count."""

    def __init__(self, space: DesignSpace, config: ConstraintsConfig):
        self.molecules = isinstance(space, MoleculeSpace)
        if (config.structural_alerts or config.properties) and not self.molecules:
            raise ConfigError(
                "constraints.structural_alerts and constraints.properties apply to molecules only"
            )
        self.catalogs = [(name, alert_catalog(name)) for name in config.structural_alerts]
        self.ranges = [
            (name, _descriptor(name), *_bounds(name, bounds)) for name, bounds in config.properties.items()
        ]

    @property
    def active(self) -> bool:
        return bool(self.catalogs or self.ranges)

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
        return None


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
