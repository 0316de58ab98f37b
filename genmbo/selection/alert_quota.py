"""A library carries each alert catalog no more often than the offline designs do.

The realism filter (`genmbo.selection.constraints`) judges one candidate at a time, so it can reject an
alert the data lack but cannot bound how often the library carries the alerts the data do have: a search
for a high logP or a matching molecular formula favours a long aliphatic chain, a BRENK alert that a sixth
of MOSES-like data carry, and left alone fills a third of the library with it. `AlertQuota` caps, for each
of `RARE_ALERT_CATALOGS` (BRENK, NIH), the designs carrying any of the catalog's alerts at
``floor(share * size)`` of a library of `size` designs, `share` being the offline sample's share
(`realism_bounds`' ``alert_shares``). Our construction, a quota in the spirit of the property-distribution
checks that MOSES and GuacaMol apply to a whole set rather than to each molecule.

Each stage that adds designs to the library honours it: the portfolio's ascents (`claim`, one design at a
time; an ascent whose design is refused falls back to an earlier iterate), the search's further rounds
(`admissible`: the pool is topped up until the cap leaves enough designs), the diverse selection (`quotas`:
`genmbo.selection.diverse.Quota`), and finally `trim`, which drops the lowest-ranked carriers if the
library ended shorter than planned and the cap, a share of its size, shrank with it. Polishing has no moves
for molecules, so it cannot add a carrier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from genmbo.selection.constraints import DesignFilter, alert_catalog, alert_matches
from genmbo.selection.diverse import Quota


class AlertQuota:
    """Caps on the share of a library's designs that carry an alert of each catalog.

    Args:
        shares: the largest share of the library per catalog name (e.g. ``{"BRENK": 0.16}``); empty: no
            cap, every method a no-op.
        count: the library size the portfolio's claims are counted against.
    """

    def __init__(self, shares: dict[str, float], count: int):
        self.shares = dict(shares)
        self.count = count
        self.catalogs = {name: alert_catalog(name) for name in self.shares}
        self.claimed = dict.fromkeys(self.shares, 0)

    @classmethod
    def of(cls, constraints: DesignFilter, count: int) -> AlertQuota:
        """The caps of `constraints` (its realism bounds' offline shares, where it has realism bounds, for
        molecules, and `cap_alert_shares` is on), for a library of `count` designs."""
        realism = constraints.realism or {}
        return cls(realism["alert_shares"] if realism.get("cap_alert_shares") else {}, count)

    def limit(self, name: str, size: int) -> int:
        """Most designs of a `size`-design library that may carry a `name` alert."""
        return math.floor(self.shares[name] * size + 1e-9)

    def carriers(self, designs: Sequence[Any]) -> dict[str, torch.Tensor]:
        """Per catalog, a bool tensor: which of `designs` (valid SMILES) carry one of its alerts."""
        return {
            name: torch.tensor([bool(found) for found in alert_matches(catalog, designs)], dtype=torch.bool)
            for name, catalog in self.catalogs.items()
        }

    def claim(self, design: Any) -> bool:
        """Whether `design` fits beside the designs claimed before (then it is claimed too), against the
        caps of a library of `count` designs."""
        carried = [name for name, found in self.carriers([design]).items() if bool(found[0])]
        if any(self.claimed[name] >= self.limit(name, self.count) for name in carried):
            return False
        for name in carried:
            self.claimed[name] += 1
        return True

    def admissible(self, designs: Sequence[Any], size: int) -> int:
        """How many of `designs` a library of `size` designs could take beside the designs claimed, taken
        in order: every design without a capped alert, and carriers while their caps have room."""
        if not self.shares:
            return len(designs)
        carriers = self.carriers(designs)
        room = {name: self.limit(name, size) - self.claimed[name] for name in carriers}
        taken = 0
        for row in range(len(designs)):
            names = [name for name, rows in carriers.items() if bool(rows[row])]
            if all(room[name] > 0 for name in names):
                taken += 1
                for name in names:
                    room[name] -= 1
        return taken

    def quotas(self, designs: Sequence[Any], size: int) -> list[Quota]:
        """The selection's caps on `designs` (its candidates) for a library of `size` designs, the designs
        claimed already counted."""
        return [
            Quota(members, max(self.limit(name, size) - self.claimed[name], 0))
            for name, members in self.carriers(designs).items()
        ]

    def left_out(self, candidates: Sequence[Any], library: Sequence[Any]) -> dict[str, int]:
        """How many of `candidates` carrying a catalog's alerts stayed out of `library` because its cap
        was full, by a reason to count beside the filter's."""
        if not self.shares or not candidates:
            return {}
        counts = {}
        chosen = set(library)
        in_library = self.carriers(library) if library else {}
        for name, rows in self.carriers(candidates).items():
            full = bool(library) and int(in_library[name].sum()) >= self.limit(name, len(library))
            pairs = zip(candidates, rows.tolist(), strict=True)
            outside = sum(1 for design, carries in pairs if carries and design not in chosen)
            if full and outside:
                counts[f"a {name} alert, the library holding the offline designs' share of them"] = outside
        return counts

    def trim(self, designs: Sequence[Any]) -> list[Any]:
        """`designs` (in rank order) without their last carriers until every catalog's carriers are within
        the cap for the library's own size."""
        designs = list(designs)
        if not self.shares or not designs:
            return designs
        carriers = self.carriers(designs)
        keep = torch.ones(len(designs), dtype=torch.bool)
        while True:
            size = int(keep.sum())
            over = [
                name for name, rows in carriers.items() if int((rows & keep).sum()) > self.limit(name, size)
            ]
            if not over:
                return [design for design, kept in zip(designs, keep.tolist(), strict=True) if kept]
            last = int(torch.nonzero(carriers[over[0]] & keep)[-1])
            keep[last] = False
