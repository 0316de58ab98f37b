"""OSEL: PGS's offline model selection, a k-nearest-neighbour estimate of a candidate set's value.

Chemingui et al., "Offline Model-Based Optimization via Policy-Guided Gradient Search" (AAAI 2024,
arXiv 2405.05349), OSEL: the percentile ``p`` of the trajectory pool and the
policy checkpoint cannot be tuned on the oracle, so each configuration's final designs are scored by a
k-NN regressor fitted on the offline data alone, and the best-scoring configuration is kept. The reference
(``yassineCh/PGS``, ``knn_evaluate.py``) fits scikit-learn's ``KNeighborsRegressor(n_neighbors=10)``
(uniform weights, Euclidean distance) on embedded offline designs and scores a set of designs by the
*maximum* of its predictions (``osel_evaluate_designs``).

Departure: the reference embeds designs with a value-prediction network trained on the synthesized
trajectories (``embed.py``, ``VpnLearner``); we use the search space itself, latents normalized per
dimension by the offline latents' mean and std, which the autoencoder already learned. The learned
trajectory embedding is not implemented.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import torch

from genmbo.search.objectives import latent_scale

OSEL_NEIGHBORS = 10


class NearestNeighborValue:
    """The mean offline score of the `neighbors` nearest offline latents (normalized Euclidean distance).

    Args:
        latents: a `n x d` tensor of offline latents.
        scores: a `n` tensor of their scores.
        neighbors: k (reference: 10); capped at `n`.
    """

    def __init__(self, latents: torch.Tensor, scores: torch.Tensor, neighbors: int = OSEL_NEIGHBORS):
        if neighbors < 1:
            raise ValueError(f"neighbors must be >= 1, got {neighbors}")
        latents = latents.detach().float()
        self.mean = latents.mean(0)
        self.scale = latent_scale(latents)
        self.points = (latents - self.mean) / self.scale
        self.scores = scores.detach().float()
        self.neighbors = min(neighbors, latents.shape[0])

    def __call__(self, candidates: torch.Tensor) -> torch.Tensor:
        """The estimated value (a `m` tensor) of `m x d` candidate latents."""
        normalized = (candidates.detach().float() - self.mean) / self.scale
        distances = torch.cdist(normalized, self.points)
        nearest = distances.topk(self.neighbors, dim=1, largest=False).indices
        return self.scores[nearest].mean(1)

    def score_set(self, candidates: torch.Tensor) -> float:
        """A candidate set's OSEL score: the maximum estimated value over its rows (as the reference);
        non-finite candidates count as -inf."""
        values = self(candidates.nan_to_num(nan=0.0, posinf=0.0, neginf=0.0))
        finite = torch.isfinite(candidates).all(1)
        values = torch.where(finite, values, torch.full_like(values, -torch.inf))
        return float(values.max())


def select(candidate_sets: Mapping[Hashable, torch.Tensor], estimator: NearestNeighborValue) -> Hashable:
    """The key of the candidate set with the highest OSEL score (the first such key on ties)."""
    if not candidate_sets:
        raise ValueError("no candidate sets to select from")
    scores = {key: estimator.score_set(candidates) for key, candidates in candidate_sets.items()}
    return max(scores, key=scores.__getitem__)
