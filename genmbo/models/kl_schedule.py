"""The KL term of a VAE and the two guards against posterior collapse: KL annealing and free bits.

- KL annealing, Bowman et al. (CoNLL 2016, arXiv 1511.06349, sec. 3.1): the KL weight grows from 0 so the
  decoder learns to use z before the prior pulls z to uninformative. Departure: a linear ramp to
  `max_weight` (often < 1, as in the MOSES VAE baseline) instead of the paper's sigmoid to 1.
- Free bits, Kingma et al. (NeurIPS 2016, arXiv 1606.04934, appendix C.8, "free bits"): each latent
  dimension's KL, averaged over the minibatch, is clamped below at `free_bits` nats, so a dimension is
  never pushed below that much information. Departure: groups are single dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Posterior log-variances are capped at this value before use, as latent diffusion's first stage caps them
# (Rombach et al., CVPR 2022; diffusers' `DiagonalGaussianDistribution` clamps to [-30, 20]). Only the upper
# end overflows: `exp` of a log-variance above 88 is infinite in float32, and one such step turns every
# weight into NaN, while a very negative one costs only its finite ``-log_variance / 2`` in the KL. So
# there is no lower bound: trained posteriors go below -30 in the spikes of ordinary training (TFBind8), and
# those runs are unchanged.
LOG_VARIANCE_MAX = 20.0


def gaussian_kl(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """`KL(N(mean, exp(log_variance)) || N(0, I))` per dimension: a `batch x latent_dim` tensor in nats."""
    return 0.5 * (mean.pow(2) + log_variance.exp() - 1.0 - log_variance)


def free_bits_kl(kl_per_dimension: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The KL term to optimize: `sum_j max(free_bits, mean_batch KL_j)`, a scalar (eq. of appendix C.8)."""
    return kl_per_dimension.mean(dim=0).clamp(min=free_bits).sum()


@dataclass(frozen=True)
class KLSchedule:
    """KL weight at a training step: `max_weight * min(1, step / warmup_steps)`."""

    max_weight: float = 1.0
    warmup_steps: int = 0

    def weight(self, step: int) -> float:
        if self.warmup_steps <= 0:
            return self.max_weight
        return self.max_weight * min(1.0, step / self.warmup_steps)
