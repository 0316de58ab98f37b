"""Surrogate-guided diffusion: sample the latent prior, steered at every step toward high surrogate scores.

Algorithm (per candidate): draw ``z_T ~ N(0, I)`` and run the prior's DDIM sampler (Song et al., "Denoising
Diffusion Implicit Models", ICLR 2021, eq. 12 with eta = 0; DDPM ancestral sampling on request), replacing
the predicted noise at every step by the guided one of classifier guidance (Dhariwal & Nichol, "Diffusion
Models Beat GANs on Image Synthesis", NeurIPS 2021, Sec. 4.2, eq. 14, Algorithm 2):

    eps'(z_t) = eps(z_t) - sqrt(1 - abar_t) * scale * step_size * sqrt(abar_t) * grad f(z0_hat)

with the pessimistic surrogate objective ``f = (mean - kappa * std) / score_std`` in place of the
classifier's log-likelihood, ``kappa`` being the campaign's one pessimism (`SearchProblem.kappa`, the
config's `selection.kappa`), by which the pipeline also chooses and ranks the designs. The prior keeps
candidates on the data manifold, where the autoencoder decodes and the surrogate is trustworthy; the
guidance pushes them up the surrogate within it.

Departures from Dhariwal & Nichol: the gradient is taken at the predicted clean latent ``z0_hat``, not at
the noisy one, without backpropagating through the denoiser, the ``sqrt(abar_t)`` being the chain rule's
factor under a constant noise prediction (`genmbo.search.guidance.SurrogateGuidance`
has the derivation and why); ``scale`` is ours (3: about three normalized gradients per early step);
the default ``kappa = 1``, a one-std lower confidence bound, is ours.

Step sizes (the link to PGS: Chemingui et al., "Offline Model-Based Optimization via Policy-Guided
Gradient Search", AAAI 2024, Sec. 4): on sequence spaces, `fit` trains a PGS step-size policy on the same
problem (`genmbo.search.pgs`, by default one top-20% trajectory pool, where the paper uses four, and 200
CQL updates: `DEFAULT_POLICY`) and its per-dimension steps multiply the guidance gradient. Molecules and
vectors are guided with equal steps unless the policy's `spaces` name them: there the policy cost 28-56 s
a run for no clear gain in the mean 100th percentile on tuning or held-out seeds, where on the Ehrlich
sequence tasks it reached designs that equal steps did not (docs/BENCHMARKS.md, "Where the step-size
policy pays"). Departure: the steps enter relative to their
mean over the dimensions (`PGSPolicy.relative_step_size`), so the policy spreads the step over the
dimensions while ``scale`` sets its size; PGS's absolute steps were learned for 50 discrete ascent
steps, not for a term added at every denoising step, and overshoot there.

Realism (departure, ours): where the prior carries a realism critic (the shipped MOSES VAE's,
`genmbo.models.realism_critic`), ``f`` gains ``realism_weight * log p(realistic | z0_hat)`` (`WithRealism`),
a second classifier's log-likelihood in the sense of Dhariwal & Nichol's eq. 14, so the guidance climbs
where the pipeline's realism filter keeps candidates instead of the filter throwing them away afterwards.

The sampler returns its `budget` guided samples; the pipeline decodes and chooses among them
(`genmbo.campaign.pipeline`), and by default adds its portfolio of ascents from the best offline designs and
polishes the chosen designs (`portfolio`, `polish_rounds`: `genmbo.campaign.portfolio`,
`genmbo.selection.polishing`). Deterministic under a fixed generator; under a distributed setting the samples
are drawn in shards across the processes (`genmbo.search.sharded_sampling`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

from genmbo.errors import ConfigError
from genmbo.models.prior import Prior
from genmbo.search.base import SearchMethod, SearchProblem
from genmbo.search.guidance import SurrogateGuidance
from genmbo.search.objectives import PessimisticObjective, WithRealism
from genmbo.search.pgs import PolicyGuidedGradientSearch
from genmbo.search.sharded_sampling import sample_across_processes, sampling_across_processes
from genmbo.spaces import SPACE_KINDS

# The default step-size policy: one top-20% pool of trajectories (the paper's four cost 4x) and 200 CQL
# updates with a snapshot at 100 (PGS's own 500 and 250 cost 2.5x and found no better design on the
# Ehrlich tuning seeds: docs/BENCHMARKS.md, "Trimming the step-size policy"), trained only on the design
# spaces named in `spaces` (module docstring); every other key is a PGS option.
DEFAULT_POLICY: dict[str, Any] = {
    "percentiles": [20],
    "updates": 200,
    "checkpoint_every": 100,
    "spaces": ["sequence"],
}

# Set on the main job's tuning seeds; docs/BENCHMARKS.md, "A realism term in the flagship's guidance".
DEFAULT_REALISM_WEIGHT = 1.0


class SurrogateGuidedDiffusion(SearchMethod):
    """`budget` guided samples of `problem.prior`.

    Args:
        scale: the guidance scale (0 samples the prior unguided).
        sampler: "ddim" (Algorithm 2 of Dhariwal & Nichol) or "ddpm" (ancestral).
        num_steps: reverse steps; None uses the prior's default for the sampler.
        policy: options of the PGS run (`PolicyGuidedGradientSearch`) whose selected policy supplies the
            step sizes, and `spaces`, the kinds of design space on which it is trained, written over
            `DEFAULT_POLICY` (so ``{}`` is the default policy); None guides with equal steps everywhere.
        realism_weight: above 0, the guidance objective adds this times the log-probability that the
            latent decodes to a realistic design, by the prior's realism critic (the shipped MOSES VAE's:
            `WithRealism`); 0 guides by the surrogate alone. None: `DEFAULT_REALISM_WEIGHT` where the
            prior has a critic, else 0; a weight above 0 for a prior without one is a `ConfigError`.
    """

    name = "guided_diffusion"
    portfolio = 0.5
    polish_rounds = 4

    def __init__(
        self,
        scale: float = 3.0,
        sampler: Literal["ddim", "ddpm"] = "ddim",
        num_steps: int | None = None,
        policy: dict[str, Any] | None = DEFAULT_POLICY,
        realism_weight: float | None = None,
    ):
        if realism_weight is not None and realism_weight < 0:
            raise ValueError(f"realism_weight must be >= 0, got {realism_weight}")
        if scale < 0:
            raise ValueError(f"scale must be >= 0, got {scale}")
        if sampler not in ("ddim", "ddpm"):
            raise ValueError(f"sampler must be 'ddim' or 'ddpm', got {sampler!r}")
        if num_steps is not None and num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        if policy is not None and not isinstance(policy, dict):
            raise ValueError(f"policy must be a mapping of PGS options or None, got {policy!r}")
        self.scale = scale
        self.sampler: Literal["ddim", "ddpm"] = sampler
        self.num_steps = num_steps
        self.realism_weight = realism_weight
        self.pgs: PolicyGuidedGradientSearch | None = None
        self.policy_spaces: tuple[str, ...] = ()
        if policy is not None:
            options = DEFAULT_POLICY | policy
            self.policy_spaces = tuple(options.pop("spaces"))
            unknown = set(self.policy_spaces) - set(SPACE_KINDS)
            if unknown:
                raise ValueError(f"policy spaces must be among {SPACE_KINDS}, got {sorted(unknown)}")
            # Built now so that a bad PGS option is reported before any training.
            self.pgs = PolicyGuidedGradientSearch(**options)

    def policy_for(self, problem: SearchProblem) -> PolicyGuidedGradientSearch | None:
        """The step-size policy's search on this problem's space, or None for equal steps. A problem
        without a space (latents only, as in the Python API's bare problems) gets the policy if there is
        one, whatever `spaces` says."""
        if self.pgs is None or (problem.space is not None and problem.space.kind not in self.policy_spaces):
            return None
        return self.pgs

    def realism_weight_for(self, prior: Prior | None) -> float:
        """The weight of the realism term with `prior` (`realism_weight`, resolved by whether the prior has
        a critic)."""
        critic = prior.critic if prior is not None else None
        if self.realism_weight is None:
            return DEFAULT_REALISM_WEIGHT if critic is not None else 0.0
        if self.realism_weight > 0 and critic is None:
            raise ConfigError(
                "search.realism_weight needs a prior with a realism critic: molecules encoded by the "
                "shipped MOSES VAE"
            )
        return self.realism_weight

    def fit(
        self, problem: SearchProblem, budget: int, generator: torch.Generator, run_dir: Path | None = None
    ) -> None:
        """Train the step-size policy (PGS, in `run_dir`), when the problem's space has one; a realism
        weight the prior cannot serve is reported first."""
        self.realism_weight_for(problem.prior)
        pgs = self.policy_for(problem)
        if pgs is not None:
            pgs.fit(problem, budget, generator, run_dir)

    def __call__(self, problem: SearchProblem, budget: int, generator: torch.Generator) -> torch.Tensor:
        """A `budget x d` float32 tensor of guided samples in the autoencoder's latent scale."""
        if problem.prior is None:
            raise ValueError("guided diffusion samples from a prior; this search problem has none")
        self.fit(problem, budget, generator)
        diffusion = problem.prior.diffusion.eval()
        pgs = self.policy_for(problem)
        step_size = None if pgs is None else pgs.policy.relative_step_size
        objective = PessimisticObjective.for_problem(problem, problem.kappa)
        weight = self.realism_weight_for(problem.prior)
        if weight > 0:
            objective = WithRealism(objective, problem.prior.critic.eval(), weight)
        guidance = SurrogateGuidance(diffusion, objective, self.scale, step_size)
        options = {"guidance": guidance, "sampler": self.sampler, "num_steps": self.num_steps}
        if sampling_across_processes():
            return sample_across_processes(diffusion, budget, generator, **options).detach().float()
        return diffusion.sample(budget, generator, **options).detach().float()
