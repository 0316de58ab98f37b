"""Which decoded designs may enter a library: valid, new, not repeated, within the constraints.

One `NewDesigns` per library: every design it admits is claimed, so a later copy is a repeat. The
search pool, the portfolio's ascents and the polishing neighbors all pass through the same test, so
no library holds an undecodable, invalid, offline (unless asked) or constraint-failing design.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from genmbo.errors import InvalidDesign
from genmbo.selection.constraints import DesignFilter
from genmbo.spaces.base import DesignSpace


class NewDesigns:
    """Admits designs not seen before.

    Args:
        space: the design space (its `parse` and `key`).
        offline: the offline designs; with `exclude_offline`, they count as seen.
        constraints: the configured constraints (`DesignFilter`).
    """

    def __init__(
        self,
        space: DesignSpace,
        offline: Sequence[Any],
        constraints: DesignFilter,
        exclude_offline: bool = True,
    ):
        self.space = space
        self.constraints = constraints
        self.offline: set[Hashable] = {space.key(design) for design in offline} if exclude_offline else set()
        self.seen: set[Hashable] = set()
        self._parsed: set[Any] = set()  # designs the space parsed: a second question about one costs nothing

    def reason(self, design: Any) -> str | None:
        """Why `design` is dropped, or None when it is admitted (and claimed)."""
        invalid = self.invalid(design)
        if invalid is not None:
            return invalid
        key = self.space.key(design)
        if key in self.seen:
            return "repeat within the pool"
        self.seen.add(key)
        if key in self.offline:
            return "already in the offline data"
        return self.constraints.reason(design)

    def invalid(self, design: Any) -> str | None:
        """Why the decoder or the space rejects `design`, or None when it is a valid design."""
        if design is None:
            return "undecodable"
        remembered = isinstance(design, Hashable)
        if remembered and design in self._parsed:
            return None
        try:
            self.space.parse(design)
        except InvalidDesign as error:
            return f"invalid: {error.reason}"
        if remembered:
            self._parsed.add(design)
        return None

    def acceptable(self, design: Any) -> bool:
        """Whether `design` is valid and meets the constraints, new or not (nothing is claimed)."""
        return self.invalid(design) is None and self.constraints.reason(design) is None

    def admits(self, design: Any) -> bool:
        """Whether `design` is admitted (then it is claimed)."""
        return self.reason(design) is None

    def filter(self, designs: Sequence[Any]) -> tuple[list[int], dict[str, int]]:
        """Indices of the admitted `designs`, and how many were dropped for each reason."""
        kept: list[int] = []
        dropped: dict[str, int] = {}
        for index, design in enumerate(designs):
            reason = self.reason(design)
            if reason is None:
                kept.append(index)
            else:
                dropped[reason] = dropped.get(reason, 0) + 1
        return kept, dict(sorted(dropped.items()))
