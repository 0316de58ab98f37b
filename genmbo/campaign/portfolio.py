"""The portfolio: gradient ascents from the best offline designs beside a method's own candidates.

A manifold-bound sampler and a local search fail on different tasks: where the offline data carry
structure (Ehrlich functions, the MPOs) guided samples win; where they carry none and the surrogate
extrapolates (Ackley-32, Levy-32, uniform in their box), ascent leaves the data behind and a sampler cannot
follow. Reserving a share of the library for ascents hedges a campaign against not knowing which case it
is in (our construction; the ablation in `docs/BENCHMARKS.md` measures it). The ascents are Design-Bench's
"Grad." baseline (Trabucco et al., ICML 2022; `genmbo.search.gradient_ascent`: 200 SGD steps of
``0.01 sqrt(d)`` in normalized units) on the campaign's pessimistic objective (`SearchProblem.kappa`),
from the best offline latents.

An ascent's end point can decode to a design already measured (on TFBind8, 14 to 45% of them did), so
each ascent contributes its latest iterate, of `PATH_SNAPSHOTS` evenly spaced ones, whose design the
library's `NewDesigns` admits and its alert quota accepts (`genmbo.selection.alert_quota`); ascents claim
designs in order (ascent 0 first), and an ascent whose every iterate is refused contributes nothing.
"""

from __future__ import annotations

from typing import Any

import torch

from genmbo.runtime.progress import showing_progress
from genmbo.search.base import SearchProblem
from genmbo.search.gradient_ascent import GradientAscent
from genmbo.search.objectives import start_points
from genmbo.selection.alert_quota import AlertQuota
from genmbo.selection.filtering import NewDesigns

# Iterates of each ascent looked at, evenly spaced: every 10th of 200 steps.
PATH_SNAPSHOTS = 20


def portfolio_designs(
    problem: SearchProblem,
    count: int,
    new: NewDesigns,
    generator: torch.Generator,
    quota: AlertQuota | None = None,
) -> list[Any]:
    """Up to `count` new designs from `count` ascents started at the best offline latents, in ascent
    order (`generator` only jitters repeated start points when the offline data are fewer). With the
    library's `quota`, a design must fit its caps (and is then counted), else the ascent falls back to an
    earlier iterate."""
    if count <= 0:
        return []
    assert problem.prior is not None
    start = start_points(problem, count, generator)
    path = GradientAscent(kappa=problem.kappa).ascent_path(problem, start, PATH_SNAPSHOTS)
    pending = list(range(count))
    chosen: dict[int, Any] = {}
    for step in reversed(range(path.shape[0])):
        if not pending:
            break
        with showing_progress(False):
            designs = problem.prior.autoencoder.decode_latents(path[step, pending])
        valid: list[bool] = []
        if quota is not None:  # the step's valid designs, matched against the alert catalogs in one batch
            valid = [new.invalid(design) is None for design in designs]
            quota.carried([design for design, ok in zip(designs, valid, strict=True) if ok])
        still_pending = []
        for index, (ascent, design) in enumerate(zip(pending, designs, strict=True)):
            # The caps are checked one design at a time: each design taken fills them.
            fits = quota is None or (valid[index] and quota.fits(design))
            if fits and new.admits(design):
                chosen[ascent] = design
                if quota is not None:
                    quota.take(design)
            else:
                still_pending.append(ascent)
        pending = still_pending
    return [chosen[ascent] for ascent in sorted(chosen)]
