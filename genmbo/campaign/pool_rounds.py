"""Further rounds of search while the filtered pool cannot fill the library (stage 5 of
`genmbo.campaign.pipeline`).

The filters drop much of a molecular pool (the realism bounds, above all, on the shipped prior's samples:
`docs/priors.md`), and the alert quota passes over more, so one pool of ``pool_factor * n_candidates`` can
leave the library short: on the MPO tasks the flagship's libraries held 33-63 of the 128 designs asked
for (`docs/BENCHMARKS.md`, "The flagship's molecular libraries"). The method searches again, from the
run's generator, and each new pool is decoded and filtered by the library's `NewDesigns`, until the
admitted designs can fill the library (the alert quota counted, `AlertQuota.admissible`), for at most
`selection.pool_rounds` rounds in all. A round that admits nothing new is not kept and ends the search (a
deterministic method proposes the same pool again). A run that samples across processes searches once:
its helper processes have returned by the time the library is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from genmbo.search.sharded_sampling import sampling_across_processes
from genmbo.selection.alert_quota import AlertQuota
from genmbo.selection.filtering import NewDesigns

if TYPE_CHECKING:
    from genmbo.campaign.pipeline import Stopwatch


def fill_pool(
    search: Callable[[], list[Any]],
    new: NewDesigns,
    quota: AlertQuota,
    pool: tuple[list[Any], list[int], dict[str, int]],
    count: int,
    needed: int,
    max_rounds: int,
    clock: Stopwatch,
) -> int:
    """Rounds of `search` (one more pool, decoded) while fewer than `needed` of the admitted designs fit a
    library of `count`; `pool` (the decoded designs, the indices of those admitted, the drops by reason)
    grows in place. Returns the rounds kept, the first included."""
    designs, kept, dropped = pool
    rounds = 1
    while rounds < max_rounds and not sampling_across_processes():
        if quota.admissible([designs[index] for index in kept], count) >= needed:
            break
        with clock.stage("search"):
            more = list(search())
        with clock.stage("filter"):
            more_kept, more_dropped = new.filter(more)
        if not more_kept:
            break
        rounds += 1
        kept += [len(designs) + index for index in more_kept]
        designs += more
        for reason, number in more_dropped.items():
            dropped[reason] = dropped.get(reason, 0) + number
    return rounds
