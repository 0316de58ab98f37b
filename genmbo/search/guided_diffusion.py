"""Surrogate-guided diffusion: sample the latent prior, steered at every step toward high surrogate scores.

Classifier guidance (Dhariwal & Nichol, NeurIPS 2021, arXiv 2105.05233, Sec. 4.2, eq. 14, Algorithm 2)
with the pessimistic surrogate objective ``(mean - kappa * std) / score_std`` in place of the classifier's
log-likelihood, evaluated at the predicted clean latent; `genmbo.search.guidance.SurrogateGuidance` holds
the math and documents the choice of gradient (at ``z0_hat``, without backpropagating through the
denoiser, which DDIM turned into divergence on a toy prior). The prior keeps candidates on the
data manifold (where the autoencoder decodes and the surrogate is trustworthy); the guidance and the
pessimism push them up the surrogate within it.

Selection (a departure from plain classifier guidance, which returns every sample): a pool of
``pool_factor * budget`` latents is drawn, and the best are kept by the pessimistic surrogate value.
Oversampling then filtering by the same pessimistic objective drops the samples the guidance failed to
lift, much as best-of-n reranking does for language models. By default (`choose_designs`) the choice is
made among decoded designs (`genmbo.search.design_selection`): one latent per design, none decoding to
an offline design, each valued at its design's own encoding rather than at the latent, and each
refinement ascent (below) contributes its latest iterate whose design is new (its end point, unless that
decodes to a design already measured or chosen). Measured (`docs/BENCHMARKS.md`, "Choosing designs"):
TFBind8 0.926 to 0.935 on the suite's seeds and 0.931 to 0.946 on held-out ones, penalized logP 0.936 to
0.978 (suite), Ehrlich s20 up on both seed sets, fexofenadine down (suite 0.923 to 0.878), the 50th
percentile up on TFBind8 and the molecules, novelty 1.0; Ackley-32 and Levy-32, whose candidates were
all new designs already, do not move. Polishing (`polish_rounds`, our addition): the chosen designs
then climb in the design space, each on its own, by the space's one-edit neighbors (single-token
substitutions for sequences; molecules and vectors have none) within the offline designs' support
(`DesignSpace.supported`: no pair of adjacent tokens that no offline design has, which on Ehrlich keeps
every candidate feasible): steepest-ascent hill climbing (Russell & Norvig, "Artificial Intelligence:
A Modern Approach", Sec. 4.1.1), departing from it in looking at a random sample of at most
`POLISH_NEIGHBORS` neighbors per design and round, for `polish_rounds` (4, chosen on tuning seeds
against 2 and 8) rounds. A polished design need not be one the autoencoder reconstructs: its latent is
then its encoding, which decodes to another design, so `candidates` returns the designs beside the
latents and callers take those (`polish_reconstructed_only` restricts the climb to reconstructed
designs, the earlier behaviour). The neighbors are valued by a second surrogate, of the designs
themselves (`genmbo.models.design_surrogate`: one-hot tokens and k-mer counts of fixed-length
sequences), when the caller trained one (`uses_design_surrogate`; `genmbo design` and `genmbo benchmark`
do), else at their encodings by the latent surrogate. Measured
(`docs/BENCHMARKS.md`, "Choosing designs, not latents"): TFBind8 0.935 to 0.973 on the suite's seeds
polished at the encodings (the latent surrogate's screening ceiling), 0.978 with the design surrogate;
returning designs the autoencoder does not reconstruct, within the support, for 4 rounds: TFBind8 0.979
on both seed sets, Ehrlich s32 0.778 to 0.833 (suite) and 0.583 to 0.833 (held-out), Ehrlich s20 0.556
to 0.500 (suite; one seed); with k-mer counts in the design surrogate ("Counting k-mers"), TFBind8 0.992
(suite) and 0.993 (held-out). Polishing more pool designs than the library has slots (`polish_starts`)
lost on the tuning seeds and is off (1).

Refinement (our addition; a portfolio, not in Dhariwal & Nichol): a share `refine_fraction` (half) of
the returned latents are not samples but the end points of gradient ascent on the same pessimistic
objective, Design-Bench's "Grad." baseline (Trabucco et al., ICML 2022; `genmbo.search.gradient_ascent`:
200 SGD steps of ``0.01 sqrt(d)`` in normalized units), started from the best offline designs (a share
`refine_from_offline` of them, all by default; the others from the best guided samples). Why: a
manifold-bound sampler and a local search fail on different tasks. Where the offline data carry
structure (Ehrlich, the MPOs) the guided samples win; where they carry none and the surrogate
extrapolates well (Ackley-32 and Levy-32, uniform in their box) ascent leaves the data far behind and
guidance alone cannot follow. Keeping both in one library hedges the campaign against not knowing which
case it is in (`docs/BENCHMARKS.md`, "The flagship with refinement" and the section after it, has the
measurements, including the variants that did worse: ascent from every pool sample ranked by the
surrogate, PGS's learned steps in place of fixed ones, and ascents without the pessimism; starting half
the ascents from guided samples, the previous default, lost on Ackley-32 and Ehrlich s32, on the
suite's seeds and on held-out ones). The unrefined half keeps the library on the prior's manifold
whatever the refined half does.

Defaults and sources: DDIM (eta = 0) with the prior's default 50 steps, the sampler of Algorithm 2;
`scale = 3.0` moves the predicted clean latent by about three normalized gradients (in units of the
data's std) per early step, see `SurrogateGuidance` (our choice: Dhariwal & Nichol tune ``s`` per model;
on a 2-D toy prior s = 1 to 3 cut the gap to the surrogate's optimum 2.5-6x, while s = 10 overshot; on
the benchmark suite s = 3 beat or tied s = 1 on every task measured, `docs/BENCHMARKS.md`);
`kappa = 1.0`, a one-standard-deviation lower confidence bound (our choice); `pool_factor = 4`.
Deterministic under a fixed generator: it seeds the initial noise (and the DDPM sampler's every step).
Under a distributed setting (`genmbo.models.training.distributed_training` with more than one device or
node) the pool is drawn in shards across the processes (`genmbo.search.sharded_sampling`), gathered,
and selected once.

Learned step sizes (the PGS link; Chemingui et al., AAAI 2024, arXiv 2405.05349). A PGS run
(`genmbo.search.pgs`) is trained on the same problem first, with the options in `policy` (by default
`DEFAULT_POLICY`: one top-20% trajectory pool, so OSEL picks among that pool's checkpoints only; the
paper's four pools cost four times as long), and its selected policy's per-dimension step sizes multiply
the guidance gradient at every step (`SurrogateGuidance`'s ``step_size``). Departure: the policy's steps
enter relative to their mean over the dimensions (`PGSPolicy.relative_step_size`), so the policy decides
how the step is spread over the latent dimensions while `scale` keeps setting its size; PGS's own
absolute steps (up to ``action_scale = 10`` gradient units per step) were learned for 50 discrete ascent
steps, not for a guidance term added at every denoising step, and used as is they overshoot. Measured
with the refinement above (`docs/BENCHMARKS.md`, "Ascents from the offline designs and the learned
step-size policy"): the policy lifted both Ehrlich functions (on the suite's seeds and on held-out ones),
penalized logP and the fexofenadine MPO, cost 0.012 on TFBind8 and 0.023 on the Osimertinib MPO, and left
Ackley-32 and Levy-32 unchanged (the refined half holds their best candidates); it costs about a minute
of CPU per run. `policy=None` guides with equal steps.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import torch

from genmbo.search.base import Candidates, SearchMethod, SearchProblem
from genmbo.search.design_selection import DesignChoice, NewDesigns
from genmbo.search.gradient_ascent import DESIGN_BENCH_LEARNING_RATE, DESIGN_BENCH_STEPS, GradientAscent
from genmbo.search.guidance import StepSize, SurrogateGuidance
from genmbo.search.objectives import PessimisticObjective, check_kappa, top_distinct
from genmbo.search.pgs import PolicyGuidedGradientSearch

# PGS options of the default step-size policy: one top-20% pool of trajectories (the paper's four cost 4x).
DEFAULT_POLICY: dict[str, Any] = {"percentiles": [20]}
# Latents per shard when the pool is sampled across processes.
SHARD_SIZE = 256
# Iterates of each refinement ascent looked at, evenly spaced, when choosing designs: every 10th of 200 steps.
PATH_SNAPSHOTS = 20
# Neighbors valued per returned candidate and round of polishing (all of a TFBind8 design's 24 fit).
POLISH_NEIGHBORS = 32


class SurrogateGuidedDiffusion(SearchMethod):
    """Guided samples from `problem.prior`, the best `budget` of a pool by the pessimistic objective.

    Args:
        scale: the guidance scale ``s`` (0 samples the prior unguided, then selects).
        kappa: weight of the surrogate std in the objective, ``mean - kappa * std``.
        pool_factor: latents sampled per returned candidate.
        sampler: "ddim" (Algorithm 2 of Dhariwal & Nichol) or "ddpm" (ancestral).
        num_steps: reverse steps; None uses the prior's default for the sampler.
        step_size: optional per-dimension multipliers of the guidance gradient (see `StepSize`).
        policy: options of a PGS run (`PolicyGuidedGradientSearch`; ``{}`` for its defaults) whose
            selected policy supplies the step sizes (default `DEFAULT_POLICY`); None guides with equal
            steps and trains no policy, as does a given `step_size`.
        refine_fraction: share of the returned latents that are refined by gradient ascent (0: guided
            samples only).
        refine_from_offline: share of the refined latents started from the best offline designs (all by
            default); the others start from the best guided samples.
        refine_steps: gradient-ascent steps of the refinement (Design-Bench: 200).
        refine_learning_rate: its step size in normalized units, times ``sqrt(d)`` (Design-Bench: 0.01).
        refine_kappa: the refinement's weight of the surrogate std; None uses `kappa`.
        choose_designs: choose the returned latents by their decoded designs (`design_selection`): one
            per design, none decoding to an offline design, valued at the designs' encodings; each
            refinement ascent gives its latest iterate with such a design. False: by latents alone.
        polish_rounds: rounds of local search in the design space after choosing designs
            (`NewDesigns.polished`: each design climbs by single-token substitutions for sequences;
            other spaces have no neighbors and are left as they are); 0 turns it off.
        polish_with_designs: value the neighbors with a surrogate of the designs themselves
            (`genmbo.models.design_surrogate`, fixed-length sequences; the caller trains it) rather than
            at their encodings by the latent surrogate.
        polish_reconstructed_only: polish only to designs the autoencoder reconstructs exactly, so that
            every returned latent decodes to its design; by default polished designs need not be, and
            `candidates` returns the designs beside the latents.
        polish_within_support: polish only to designs within the offline designs' support
            (`DesignSpace.supported`: for sequences, no pair of adjacent tokens that no offline design has).
        polish_starts: pool designs polished per library slot the pool fills; the best polished ones
            fill the slots (1: exactly the slots' designs). The refinement's designs keep their slots, and
            the pool's new designs (at most `pool_factor` per slot) limit the starts.

    After a call (or `fit_policy`) with a policy, `pgs` holds the PGS run (its `policy`, `selected`) and
    `policy_seconds` the time its training took.
    """

    name = "guided_diffusion"

    def __init__(
        self,
        scale: float = 3.0,
        kappa: float = 1.0,
        pool_factor: int = 4,
        sampler: Literal["ddim", "ddpm"] = "ddim",
        num_steps: int | None = None,
        step_size: StepSize | None = None,
        policy: dict[str, Any] | None = DEFAULT_POLICY,
        refine_fraction: float = 0.5,
        refine_from_offline: float = 1.0,
        refine_steps: int = DESIGN_BENCH_STEPS,
        refine_learning_rate: float = DESIGN_BENCH_LEARNING_RATE,
        refine_kappa: float | None = None,
        choose_designs: bool = True,
        polish_rounds: int = 4,
        polish_with_designs: bool = True,
        polish_reconstructed_only: bool = False,
        polish_within_support: bool = True,
        polish_starts: int = 1,
    ):
        if scale < 0:
            raise ValueError(f"scale must be >= 0, got {scale}")
        if pool_factor < 1:
            raise ValueError(f"pool_factor must be >= 1, got {pool_factor}")
        if sampler not in ("ddim", "ddpm"):
            raise ValueError(f"sampler must be 'ddim' or 'ddpm', got {sampler!r}")
        if num_steps is not None and num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        for label, share in (
            ("refine_fraction", refine_fraction),
            ("refine_from_offline", refine_from_offline),
        ):
            if not 0 <= share <= 1:
                raise ValueError(f"{label} must be in [0, 1], got {share}")
        if refine_steps < 0:
            raise ValueError(f"refine_steps must be >= 0, got {refine_steps}")
        if polish_rounds < 0:
            raise ValueError(f"polish_rounds must be >= 0, got {polish_rounds}")
        if polish_starts < 1:
            raise ValueError(f"polish_starts must be >= 1, got {polish_starts}")
        if refine_learning_rate <= 0:
            raise ValueError(f"refine_learning_rate must be > 0, got {refine_learning_rate}")
        check_kappa(kappa)
        if refine_kappa is not None and refine_kappa < 0:
            raise ValueError(f"refine_kappa must be >= 0 (a pessimistic objective), got {refine_kappa}")
        self.scale = scale
        self.refine_kappa = kappa if refine_kappa is None else refine_kappa
        self.refine_fraction = refine_fraction
        self.refine_from_offline = refine_from_offline
        self.refine_steps = refine_steps
        self.refine_learning_rate = refine_learning_rate
        self.choose_designs = choose_designs
        self.polish_rounds = polish_rounds
        self.polish_reconstructed_only = polish_reconstructed_only
        self.polish_within_support = polish_within_support
        self.polish_starts = polish_starts
        self.uses_design_surrogate = choose_designs and polish_rounds > 0 and polish_with_designs
        self.kappa = kappa
        self.pool_factor = pool_factor
        self.sampler: Literal["ddim", "ddpm"] = sampler
        self.num_steps = num_steps
        self.step_size = step_size
        if policy is not None and not isinstance(policy, dict):
            raise ValueError(f"policy must be a mapping of PGS options or None, got {policy!r}")
        # Built now so that a bad PGS option is reported before any sampling.
        trains_policy = policy is not None and step_size is None
        self.pgs = PolicyGuidedGradientSearch(**policy) if trains_policy else None
        self.policy_seconds = 0.0
        self._policy_problem: SearchProblem | None = None

    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x d` float32 tensor in the autoencoder's latent scale, best first by the pessimistic
        objective: the best distinct guided samples and, for `refine_fraction` of the budget, refined ones
        (`candidates`' latents: with `choose_designs`, ask it for the designs)."""
        return self.candidates(problem, budget, generator).latents

    def candidates(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> Candidates:
        """The call's latents and, with `choose_designs`, the designs chosen (and polished) for them."""
        if problem.prior is None:
            raise ValueError("guided diffusion samples from a prior; this search problem has none")
        diffusion = problem.prior.diffusion.eval()
        objective = PessimisticObjective.for_problem(problem, self.kappa)
        guidance = SurrogateGuidance(
            diffusion, objective, self.scale, self.policy_step_size(problem, budget, generator)
        )
        if _distributed_sampling():
            pool = self._sharded_pool(diffusion, guidance, budget * self.pool_factor, generator)
        else:
            pool = diffusion.sample(
                budget * self.pool_factor,
                generator,
                sampler=self.sampler,
                num_steps=self.num_steps,
                guidance=guidance,
            )
        with torch.no_grad():
            values = objective(pool)
        refined_count = round(budget * self.refine_fraction)
        chosen = pool[top_distinct(pool, values, budget)].float()
        if self.choose_designs:
            return self._designs(problem, objective, pool.float(), chosen, budget, refined_count, generator)
        if refined_count == 0:
            return Candidates(chosen)
        refined = self.refined(problem, chosen, refined_count)
        with torch.no_grad():
            # Distinct refined latents (two starts can end on the same point), then best first overall.
            refined = refined[top_distinct(refined, objective(refined), refined_count)]
            kept = torch.cat([refined, chosen[: budget - refined_count]])
            order = torch.argsort(objective(kept).nan_to_num(nan=-torch.inf), descending=True, stable=True)
        return Candidates(kept[order])

    def refined(self, problem: SearchProblem, samples: torch.Tensor, count: int) -> torch.Tensor:
        """`count` latents after `GradientAscent` on the same pessimistic objective, started from the best
        offline designs (`refine_from_offline` of them) and the best of `samples` (guided, best first)."""
        return self.refinement_path(problem, samples, count, snapshots=1)[-1]

    def refinement_path(
        self, problem: SearchProblem, samples: torch.Tensor, count: int, snapshots: int
    ) -> torch.Tensor:
        """The `refined` ascents' iterates, `GradientAscent.ascent_path`'s `k x count x d` tensor."""
        offline = problem.top_latents(round(count * self.refine_from_offline)).float().to(samples)
        # With fewer offline designs than asked for, guided samples fill the rest.
        start = torch.cat([samples[: count - offline.shape[0]], offline])
        ascent = GradientAscent(self.refine_steps, self.refine_learning_rate, kappa=self.refine_kappa)
        return ascent.ascent_path(problem, start, snapshots)

    def _designs(
        self,
        problem: SearchProblem,
        objective: PessimisticObjective,
        pool: torch.Tensor,
        samples: torch.Tensor,
        budget: int,
        refined_count: int,
        generator: torch.Generator,
    ) -> Candidates:
        """`budget` candidates chosen by their designs: the refinement ascents' latest new designs, then
        the pool's best new designs (`polish_starts` per remaining slot), all polished, the best polished
        pool designs filling the remaining slots, best first by value; if fewer than `budget` designs are
        new, the best remaining guided `samples` (chosen by latent, decoded) fill the rest, last."""
        new = NewDesigns(problem, objective)
        refined = DesignChoice.empty(pool.shape[1], pool.device)
        if refined_count > 0:
            path = self.refinement_path(problem, samples, refined_count, PATH_SNAPSHOTS)
            refined = new.last_on_paths(path)
        slots = budget - len(refined)
        starts = slots * (self.polish_starts if self.polish_rounds > 0 else 1)
        picked = new.polished(
            refined + new.best(pool, starts),
            self.polish_rounds,
            POLISH_NEIGHBORS * (len(refined) + starts),
            generator,
            self.polish_reconstructed_only,
            self.polish_within_support,
        )
        # Polishing keeps each design's row: the refinement's lines first, then the pool's.
        refined_lines, pool_lines = picked.split(len(refined))
        picked = (refined_lines + pool_lines.best_first(slots)).best_first()
        filling = samples[: budget - len(picked)]
        designs = picked.designs + (new.autoencoder.decode_latents(filling) if len(filling) else [])
        return Candidates(torch.cat([picked.latents, filling]), designs)

    def fit_policy(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> None:
        """Train the PGS policy on `problem` now, drawing from `generator`, so that a caller can time it as
        a stage of its own; the next call on the same problem then uses it. A no-op without a policy."""
        if self.pgs is None or self._policy_problem is problem:
            return
        started = time.perf_counter()
        self.pgs(problem, budget, generator)
        self.policy_seconds = time.perf_counter() - started
        self._policy_problem = problem

    def policy_step_size(
        self, problem: SearchProblem, budget: int, generator: torch.Generator
    ) -> StepSize | None:
        """`step_size`, or the relative step sizes of the PGS policy trained on `problem` (now, unless
        `fit_policy` did already)."""
        if self.pgs is None:
            return self.step_size
        self.fit_policy(problem, budget, generator)
        return self.pgs.policy.relative_step_size

    def _sharded_pool(
        self, diffusion, guidance: SurrogateGuidance, count: int, generator: torch.Generator
    ) -> torch.Tensor:
        """The pool drawn by `ShardedSampler` across the processes of the current distributed setting
        (`genmbo.models.training.distributed_training`), shards of at most `SHARD_SIZE` latents."""
        from genmbo.search.sharded_sampling import ShardedSampler, sample_pool

        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        with tempfile.TemporaryDirectory(prefix="genmbo-pool-") as folder:
            sampler = ShardedSampler(
                diffusion,
                num_shards=-(-count // SHARD_SIZE),
                shard_size=min(count, SHARD_SIZE),
                seed=seed,
                output=Path(folder) / "pool.pt",
                guidance=guidance,
                sampler=self.sampler,
                num_steps=self.num_steps,
            )
            pool, _ = sample_pool(sampler, Path(folder) / "run")
        return pool[:count].to(diffusion.device)


def _distributed_sampling() -> bool:
    from genmbo.models.training import distribution, several_processes

    strategy, _, _ = distribution()
    # `devices: auto` alone means one process on whatever accelerator there is; sharding starts when
    # more than one process is asked for, or a distributed strategy is named.
    return several_processes() or strategy.startswith(("ddp", "fsdp", "deepspeed"))
