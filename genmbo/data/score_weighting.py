"""DDOM's reweighting of offline rows toward high scores, from a histogram of the scores.

DDOM (Krishnamoorthy et al., ICML 2023, arXiv 2306.07180, Sec. 3, "reweighting") trains its conditional
diffusion model on a reweighted dataset, following MINs (Kumar & Levine, NeurIPS 2020, arXiv 1912.13464,
Sec. 3.4): the scores are cut into bins ``B_b`` and bin ``b`` receives the probability mass

    p(b) ∝ |B_b| / (|B_b| + K) · exp(-|y_max - y_b| / tau),

where ``y_b`` is the bin's upper edge; every row of a bin shares its mass equally, so the weight of a row
in bin ``b`` is ``p(b) / |B_b|``. The exponential tilts training toward the best scores; the count factor
damps bins too sparse to trust (it is ~1 for bins much larger than ``K`` and ~|B_b| / K for smaller ones).

Constants follow the official code (github.com/siddarthk97/ddom, `design_baselines/diff/util.py`,
`get_weights`, with the default ``--temp 90``):
    * 20 equal-width bins over ``[min y, max y]`` (`np.histogram(bins=20)`); the top score falls in the
      last bin.
    * ``|B_b|`` is a fraction of the rows and ``K = 0.001``: in counts, ``K = 0.001 n``.
    * ``tau = |q_0.9(y - y_max)|``, the 90th percentile of the scores' distance below the maximum
      (at least 0.001): the top 10% of rows lie within one temperature of the best.
    * row weights are capped at 5 times the uniform weight (``np.clip(weights, 0, 5)`` on weights whose
      mean is 1) so a lone top row cannot dominate training.
Departure: weights here are normalized to sum to 1 (a sampling distribution, see
`genmbo.data.weighted_latent_datamodule`); the official code multiplies the loss by the unnormalized ones.
"""

from __future__ import annotations

import torch

DDOM_NUM_BINS = 20
DDOM_K = 0.001
DDOM_TAU_QUANTILE = 0.9
DDOM_MAX_RELATIVE_WEIGHT = 5.0


def adaptive_temperature(scores: torch.Tensor, quantile: float = DDOM_TAU_QUANTILE) -> float:
    """DDOM's ``tau = |q(y - y_max)|`` at `quantile` of `n` scores, floored at 0.001."""
    below_max = scores.double() - scores.double().max()
    return max(abs(float(torch.quantile(below_max, quantile))), 1e-3)


def ddom_weights(
    scores: torch.Tensor,
    num_bins: int = DDOM_NUM_BINS,
    k: float = DDOM_K,
    tau: float | None = None,
    max_relative_weight: float | None = DDOM_MAX_RELATIVE_WEIGHT,
) -> torch.Tensor:
    """Per-row sampling weights ``p(b(y)) / |B_b(y)|`` of DDOM's reweighting, normalized to sum to 1.

    Args:
        scores: a `n` tensor of scores (higher is better).
        num_bins: equal-width histogram bins over the score range.
        k: the count damping ``K``, in units of a fraction of the `n` rows.
        tau: the temperature of the exponential tilt; None uses `adaptive_temperature`.
        max_relative_weight: cap on a row's weight relative to the uniform ``1 / n`` (None: no cap).
    Returns:
        A `n` float32 tensor of nonnegative weights summing to 1 (uniform when all scores are equal).
    """
    if scores.dim() != 1 or scores.numel() == 0:
        raise ValueError(f"scores must be a nonempty `n` tensor, got shape {tuple(scores.shape)}")
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if tau is not None and tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    values = scores.detach().double().cpu()
    count = values.numel()
    low, high = float(values.min()), float(values.max())
    if high == low:
        return torch.full((count,), 1.0 / count)
    tau = adaptive_temperature(values) if tau is None else tau
    upper_edges = torch.linspace(low, high, num_bins + 1, dtype=torch.float64)[1:]
    # np.digitize(y, upper_edges): bin j holds [edge_j, edge_j+1); the maximum joins the last bin.
    bins = torch.bucketize(values, upper_edges, right=True).clamp(max=num_bins - 1)
    fraction = torch.bincount(bins, minlength=num_bins).double() / count
    tilt = torch.softmax((upper_edges - high) / tau, dim=0)
    # Empty bins get no mass (written out so that k = 0 does not divide zero by zero).
    bin_mass = torch.where(fraction > 0, tilt * fraction / (fraction + k), torch.zeros_like(tilt))
    bin_mass = bin_mass / bin_mass.sum()
    relative = bin_mass[bins] / fraction[bins]
    if max_relative_weight is not None:
        relative = relative.clamp(max=max_relative_weight)
    return (relative / relative.sum()).float()
