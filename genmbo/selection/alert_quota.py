"""A library carries each alert catalog no more often than the offline designs do.

The realism filter (`genmbo.selection.constraints`) judges one candidate at a time, so it can reject an
alert the data lack but cannot bound how often the library carries the alerts the data do have: the
searches favour some of them (a long aliphatic chain raises logP), and uncapped, the flagship's libraries
on the MPO tasks carried a BRENK alert in 23-39% of their molecules against 13-16% of the offline data
(`docs/BENCHMARKS.md`, "The flagship's molecular libraries"). `AlertQuota` caps, for each of
`RARE_ALERT_CATALOGS` (BRENK, NIH), the designs carrying any of the catalog's alerts at
``floor(share * size)`` of a library of `size` designs, `share` being the offline sample's share
(`realism_bounds`' ``alert_shares``). Our construction: a set-level check, like the property
distributions that MOSES and GuacaMol compare, made a constraint.

Each stage that adds designs to the library honours it, for every method: the portfolio's ascents (`fits`
before a design is admitted, `take` after; an ascent whose design does not fit falls back to an earlier
iterate), the search's further rounds (`admissible`: the pool is searched again until the caps leave
enough designs), the diverse selection (`quotas`: `genmbo.selection.diverse.Quota`), and finally `trim`,
which drops the lowest-ranked carriers if the library ended shorter than planned and the cap, a share of
its size, shrank with it. Polishing has no moves for molecules, so it cannot add a carrier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from genmbo.selection.constraints import RARE_ALERT_CATALOGS, DesignFilter, RareAlerts
from genmbo.selection.diverse import Quota


class AlertQuota:
    """Caps on the share of a library's designs that carry an alert of each catalog.

    Args:
        shares: the largest share of the library per catalog of `RARE_ALERT_CATALOGS` (e.g.
            ``{"BRENK": 0.16}``); empty: no cap, every method a no-op.
        count: the library size the portfolio's designs are counted against.
        alerts: the designs' matches (`DesignFilter.rare_alerts`, shared with the realism filter); new
            ones if not given.
    """

    def __init__(self, shares: dict[str, float], count: int, alerts: RareAlerts | None = None):
        unknown = sorted(set(shares) - set(RARE_ALERT_CATALOGS))
        if unknown:
            raise ValueError(f"alert caps are for {', '.join(RARE_ALERT_CATALOGS)}, not {', '.join(unknown)}")
        self.shares = dict(shares)
        self.count = count
        self.alerts = alerts if alerts is not None else RareAlerts()
        self.taken = dict.fromkeys(self.shares, 0)

    @classmethod
    def of(cls, constraints: DesignFilter, count: int) -> AlertQuota:
        """The caps of `constraints` (its realism bounds' offline shares, where it has realism bounds, for
        molecules, and `cap_alert_shares` is on), for a library of `count` designs."""
        realism = constraints.realism or {}
        shares = realism["alert_shares"] if realism.get("cap_alert_shares") else {}
        return cls(shares, count, constraints.rare_alerts)

    def limit(self, name: str, size: int) -> int:
        """Most designs of a `size`-design library that may carry a `name` alert."""
        return math.floor(self.shares[name] * size + 1e-9)

    def carried(self, designs: Sequence[Any]) -> list[frozenset[str]]:
        """For each of `designs` (valid SMILES), the capped catalogs whose alerts it carries; each design
        is matched once (`RareAlerts`) and remembered."""
        if not self.shares:
            return [frozenset()] * len(designs)
        return [frozenset(name for name in self.shares if found[name]) for found in self.alerts.of(designs)]

    def carriers(self, designs: Sequence[Any]) -> dict[str, torch.Tensor]:
        """Per catalog, a bool tensor: which of `designs` carry one of its alerts."""
        carried = self.carried(designs)
        return {
            name: torch.tensor([name in names for names in carried], dtype=torch.bool) for name in self.shares
        }

    def fits(self, design: Any) -> bool:
        """Whether `design` fits beside the designs taken so far, against the caps of a library of `count`
        designs (nothing is taken)."""
        (names,) = self.carried([design])
        return all(self.taken[name] < self.limit(name, self.count) for name in names)

    def take(self, design: Any) -> None:
        """Count `design` among the library's designs."""
        for name in self.carried([design])[0]:
            self.taken[name] += 1

    def admissible(self, designs: Sequence[Any], size: int) -> int:
        """How many of `designs` a library of `size` designs could take beside the designs taken, taken
        in order: every design without a capped alert, and carriers while their caps have room."""
        room = {name: self.limit(name, size) - self.taken[name] for name in self.shares}
        admitted = 0
        for names in self.carried(designs):
            if all(room[name] > 0 for name in names):
                admitted += 1
                for name in names:
                    room[name] -= 1
        return admitted

    def quotas(self, designs: Sequence[Any], size: int) -> list[Quota]:
        """The selection's caps on `designs` (its candidates) for a library of `size` designs, the designs
        taken already counted."""
        return [
            Quota(members, max(self.limit(name, size) - self.taken[name], 0))
            for name, members in self.carriers(designs).items()
        ]

    def usage(self, library: Sequence[Any]) -> dict[str, dict[str, Any]]:
        """Per catalog: the offline share, the cap for `library`'s size, the library's carriers, and
        whether the cap is full (then it may have kept designs out)."""
        carriers = self.carriers(library)
        usage = {}
        for name, share in self.shares.items():
            cap, carrying = self.limit(name, len(library)), int(carriers[name].sum())
            usage[name] = {"offline_share": share, "cap": cap, "carriers": carrying, "full": carrying >= cap}
        return usage

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
