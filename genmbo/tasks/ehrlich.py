"""Ehrlich functions: closed-form test functions for biological sequence design.

Implements the benchmark of Stanton, Alberstein, Frey, Watkins and Cho (2024), "Closed-Form Test
Functions for Biophysical Sequence Design" (v1: "... Sequence Optimization Algorithms"),
arXiv:2407.00236, from the section that defines Ehrlich functions:

* Feasible set F: sequences with non-zero probability under a discrete Markov process (DMP) whose
  random, ergodic transition matrix A has a *banded* sparsity pattern (rows shuffled), so some
  transitions have probability zero; self-transitions are always allowed.
* Objective (the paper's definition of f):  f(x) = prod_{i=1..c} h_q(x, m(i), s(i)) if x in F, else -inf.
* Quantized motif presence (the paper's definition of h_q):
  h_q(x, m, s) = max_l floor(q * (1/k) * sum_j 1[x_{l + s_j} = m_j]) / q, over every start l
  with l + s_k < L; q must divide the motif length k, and q = k means no quantization.
* Motifs: one length ``c * k`` path of the DMP chopped into c motifs, and spacings drawn so that all
  spaced motifs fit side by side in L positions; together with always-allowed repeats this makes a
  feasible sequence with f = 1 exist (``optimal_solution`` builds it).
* Epistasis (reference code, ``_cubic_response``): each h is mapped through
  r(h) = h * (1 + epistasis_factor * h * (h - 1)) before the product; 0 gives the paper's f.

Reference code read (Prescient Design ``holo-bench``, also released as ``pytorch-holo``):
``holo/test_functions/closed_form/_ehrlich.py``, ``holo/test_functions/elemental/_motif.py`` and
``holo/test_functions/elemental/_discrete_markov_process.py``. Departures from it:

* Random draws use an inverse-CDF sampler (``torch.rand`` + ``searchsorted``) instead of
  ``torch.multinomial``, so a seed gives a different (but equally distributed) instance than holo.
* The band half-width is ``min(int(0.4 * num_states), (num_states - 2) // 2)``; holo uses
  ``int(0.4 * num_states)``, which makes A dense (no infeasible sequence) for 3 or 5 states. A row
  shuffle that happens to make A dense is redrawn. ``num_states`` must be at least 4.
* ``initial_distribution`` is the stationary distribution of A, used both to sample and to judge
  feasibility; holo samples from it but scores likelihood under a uniform start. Both have full
  support, so the feasible set is the same.
* Parameters are validated (q must divide k; -1 <= epistasis_factor <= 3 keeps r monotone and in
  [0, 1], so the optimum stays exactly 1.0); holo silently accepts any q and epistasis factor.

Kept from holo: motifs are a plain DMP path, so a motif may repeat a state (repeats are feasible),
which makes small-``num_states`` instances easy. Everything is drawn on the CPU from one
``torch.Generator``: a seed fixes the sparsity pattern, motifs and spacings; float entries of A and
of its stationary law may differ in the last bits across CPUs or torch builds (vectorised sums,
LAPACK), which changes a DMP draw only if a uniform falls within rounding error of a CDF step.
"""

from __future__ import annotations

import operator

import torch
from torch import Tensor

_SOFTMAX_TEMPERATURE = 0.5  # as in holo: a peaked softmax gives uneven transition probabilities
_BAND_FRACTION = 0.4  # band half-width as a fraction of the number of states, as in holo
_MAX_MASK_DRAWS = 100


def _circular_band(num_states: int, half_width: int) -> Tensor:
    """Boolean `num_states x num_states` mask of entries within ``half_width`` of the diagonal, wrapping."""
    idx = torch.arange(num_states)
    offset = (idx[None, :] - idx[:, None]) % num_states
    return (offset <= half_width) | (offset >= num_states - half_width)


def _is_primitive(mask: Tensor) -> bool:
    """Whether a non-negative matrix with support ``mask`` is irreducible and aperiodic.

    By Wielandt's bound it is iff its ``(n - 1)^2 + 1``-th power is positive; since all later powers
    of a primitive matrix stay positive, repeated squaring (clamped to avoid overflow) suffices.
    """
    n = mask.shape[0]
    reach = mask.to(torch.float64)
    power = 1
    while power < (n - 1) ** 2 + 1:
        reach = (reach @ reach).clamp(max=1.0)
        power *= 2
    return bool((reach > 0).all())


def _cdf(probs: Tensor) -> Tensor:
    """Row-wise CDF whose last entry is exactly 1, so a draw in [0, 1) never runs past the end.

    Dividing by the row total makes every entry after the last non-zero probability exactly 1.0, and
    ``searchsorted(..., right=True)`` returns the first index whose CDF exceeds the draw, which
    therefore never lands on a zero-probability state.
    """
    cdf = probs.cumsum(-1)
    return cdf / cdf[..., -1:]


def _sample_chain(
    initial: Tensor, transition: Tensor, num_samples: int, length: int, generator: torch.Generator
) -> Tensor:
    """`num_samples x length` paths of the DMP (``initial``, ``transition``); loops over positions only."""
    uniforms = torch.rand(num_samples, length, generator=generator, dtype=torch.float64)
    out = torch.empty(num_samples, length, dtype=torch.long)
    if length == 0 or num_samples == 0:
        return out
    out[:, 0] = torch.searchsorted(_cdf(initial), uniforms[:, 0].contiguous(), right=True)
    trans_cdf = _cdf(transition)
    for t in range(1, length):
        rows = trans_cdf[out[:, t - 1]]
        out[:, t] = torch.searchsorted(rows, uniforms[:, t : t + 1].contiguous(), right=True).squeeze(-1)
    return out


def _sample_transition_matrix(num_states: int, generator: torch.Generator) -> Tensor:
    """Random ergodic `num_states x num_states` transition matrix with a shuffled banded support."""
    logits = torch.randn(num_states, num_states, generator=generator, dtype=torch.float64)
    dense = torch.softmax(logits / _SOFTMAX_TEMPERATURE, dim=-1)
    # Cap the band so each band row misses at least one state: otherwise A could be dense.
    half_width = min(int(_BAND_FRACTION * num_states), (num_states - 2) // 2)
    band = _circular_band(num_states, half_width)
    eye = torch.eye(num_states, dtype=torch.bool)
    for _ in range(_MAX_MASK_DRAWS):
        # Shuffling rows keeps ergodicity but hides the band; repeats are always feasible (holo's
        # ``repeats_always_possible``), which makes the chain aperiodic and the optimum buildable.
        mask = band[torch.randperm(num_states, generator=generator)] | eye
        if not mask.all():
            break
    else:  # pragma: no cover - needs ~100 unlucky shuffles in a row
        raise RuntimeError("Could not draw a sparse transition mask; try another seed.")
    if not _is_primitive(mask):  # pragma: no cover - impossible for band width >= 1 and n >= 4
        raise RuntimeError("The sampled transition matrix is not ergodic; try another seed.")
    probs = torch.where(mask, dense, torch.zeros_like(dense))
    return probs / probs.sum(-1, keepdim=True)


def _stationary_distribution(transition: Tensor) -> Tensor:
    """Stationary distribution pi of an ergodic chain, solving pi (I - A) = 0 with sum(pi) = 1.

    One balance equation is redundant, so it is replaced by the normalisation; the system is then
    non-singular for an irreducible chain. An LU solve is used rather than least squares because it
    is bitwise reproducible from call to call, so a seed always gives the same instance.
    """
    n = transition.shape[0]
    lhs = (torch.eye(n, dtype=transition.dtype) - transition).T.contiguous()
    lhs[-1] = 1.0
    rhs = torch.zeros(n, dtype=transition.dtype)
    rhs[-1] = 1.0
    pi = torch.linalg.solve(lhs, rhs).clamp_min(0.0)
    pi = pi / pi.sum()
    if not bool((pi > 0).all()):  # pragma: no cover - an ergodic chain has a positive stationary law
        raise RuntimeError("The stationary distribution has a zero entry; the chain is not ergodic.")
    return pi


def _check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; bools, floats and other non-integers are rejected."""
    try:
        as_int = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        as_int = None
    if as_int is None or as_int < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return as_int


class EhrlichFunction:
    """An Ehrlich function: a closed-form oracle over length-``dim`` sequences of ``num_states`` states.

    Args:
        num_states: vocabulary size v (>= 4, so that some transitions are infeasible).
        dim: sequence length L.
        num_motifs: number of motifs c.
        motif_length: motif length k; ``num_motifs * motif_length <= dim``.
        quantization: number of presence levels q per motif; must divide k. ``None`` means q = k
            (no quantization).
        seed: seed of the ``torch.Generator`` that draws the instance; same seed, same function.
        epistasis_factor: curvature of the response r(h) = h (1 + e h (h - 1)), in [-1, 3]; 0 gives
            the paper's plain product.

    Attributes:
        transition_matrix: a `num_states x num_states` float64 tensor, rows sum to 1, some entries 0.
        initial_distribution: a `num_states` float64 tensor (stationary law of the chain, all > 0).
        motifs: a `num_motifs x motif_length` long tensor of states.
        spacings: a `num_motifs x motif_length` long tensor of offsets s, with s[:, 0] == 0 and strictly
            increasing rows: element j of motif i must sit at position l + s[i, j].
    """

    def __init__(
        self,
        num_states: int,
        dim: int,
        num_motifs: int,
        motif_length: int,
        quantization: int | None = None,
        seed: int = 0,
        epistasis_factor: float = 0.0,
    ) -> None:
        # Rebind the validated plain ints (numpy integers are accepted, bools and floats are not).
        self.num_states = num_states = _check_int("num_states", num_states, 4)
        self.dim = dim = _check_int("dim", dim, 1)
        self.num_motifs = num_motifs = _check_int("num_motifs", num_motifs, 1)
        self.motif_length = motif_length = _check_int("motif_length", motif_length, 1)
        if num_motifs * motif_length > dim:
            raise ValueError(
                f"num_motifs * motif_length ({num_motifs * motif_length}) must not exceed dim ({dim}), "
                "otherwise no sequence can hold every motif."
            )
        q = motif_length if quantization is None else _check_int("quantization", quantization, 1)
        if q > motif_length or motif_length % q != 0:
            raise ValueError(f"quantization ({q}) must divide motif_length ({motif_length}).")
        self.quantization = q
        is_real = isinstance(epistasis_factor, (int, float)) and not isinstance(epistasis_factor, bool)
        if not (is_real and -1.0 <= epistasis_factor <= 3.0):
            raise ValueError(
                "epistasis_factor must be a real number in [-1, 3] so the response stays monotone "
                f"in [0, 1], got {epistasis_factor!r}."
            )
        self.epistasis_factor = float(epistasis_factor)
        self.seed = _check_int("seed", seed, 0)

        generator = torch.Generator().manual_seed(self.seed)
        self.transition_matrix = _sample_transition_matrix(num_states, generator)
        self.initial_distribution = _stationary_distribution(self.transition_matrix)
        # One DMP path cut into motifs: consecutive motif elements, and the last element of motif i
        # followed by the first of motif i + 1, are feasible transitions, so the optimum is feasible.
        path = _sample_chain(
            self.initial_distribution, self.transition_matrix, 1, num_motifs * motif_length, generator
        )
        self.motifs = path.view(num_motifs, motif_length)
        self.spacings = self._sample_spacings(generator)

    def _sample_spacings(self, generator: torch.Generator) -> Tensor:
        """Offsets with gaps 1 + floor(slack_per_motif * w), w uniform weights normalised to sum to 1.

        Each motif then spans at most k + slack_per_motif positions, so the c spaced motifs fit side by
        side in c * k + slack <= L positions (holo's rule).
        """
        c, k = self.num_motifs, self.motif_length
        slack_per_motif = (self.dim - c * k) // c
        weights = torch.rand(c, k - 1, generator=generator, dtype=torch.float64)
        weights = weights / weights.sum(-1, keepdim=True)
        gaps = 1 + torch.floor(slack_per_motif * weights).long()
        return torch.cat([torch.zeros(c, 1, dtype=torch.long), gaps.cumsum(-1)], dim=-1)

    def _check_x(self, x: Tensor) -> Tensor:
        """``x`` as a CPU long tensor (the instance lives on the CPU), after checking shape and range."""
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.dim:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be a `n x {self.dim}` tensor of states, got {shape}.")
        if x.dtype == torch.bool or x.is_floating_point() or x.is_complex():
            raise ValueError(f"x must hold integer states, got dtype {x.dtype}.")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.num_states):
            raise ValueError(f"x must hold states in [0, {self.num_states}).")
        return x.long().cpu()

    def is_feasible(self, x: Tensor) -> Tensor:
        """Whether each sequence has non-zero DMP probability.

        Args:
            x: a `n x dim` integer tensor of states.

        Returns:
            a `n` bool tensor: True iff every consecutive transition has non-zero probability.
        """
        return self._is_feasible(self._check_x(x))

    def _is_feasible(self, x: Tensor) -> Tensor:
        # One lookup per transition in the flattened support of A (faster than 2-D fancy indexing).
        allowed = (self.transition_matrix > 0).flatten()
        transitions = x[:, :-1] * self.num_states + x[:, 1:]
        return allowed[transitions].all(-1) & (self.initial_distribution[x[:, 0]] > 0)

    def motif_presence(self, x: Tensor) -> Tensor:
        """Quantized motif presence h_q(x, m(i), s(i)) of every motif, ignoring feasibility.

        Args:
            x: a `n x dim` integer tensor of states.

        Returns:
            a `n x num_motifs` float64 tensor with values in {0, 1/q, ..., 1}.
        """
        return self._motif_presence(self._check_x(x))

    def _motif_presence(self, x: Tensor) -> Tensor:
        n, k, q = x.shape[0], self.motif_length, self.quantization
        # The loops below are memory bound: a narrow dtype for states and counts makes them cheaper.
        x = x.to(torch.uint8 if self.num_states <= 256 else torch.int32)
        count_dtype = torch.uint8 if k <= 255 else torch.int32
        best = torch.empty(n, self.num_motifs, dtype=torch.long)
        for i in range(self.num_motifs):  # c and k are small; all sequences and starts go at once
            offsets = self.spacings[i].tolist()
            num_starts = self.dim - offsets[-1]
            matches = torch.zeros(n, num_starts, dtype=count_dtype)
            for j, offset in enumerate(offsets):
                # Column l of this slice is x[:, l + s_j], so the sum counts matches at start l.
                matches += x[:, offset : offset + num_starts] == int(self.motifs[i, j])
            best[:, i] = matches.amax(-1)
        # floor(q * count / k) / q in exact integer arithmetic (q divides k).
        return torch.div(best * q, k, rounding_mode="floor").to(torch.float64) / q

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate the Ehrlich function.

        Args:
            x: a `n x dim` integer tensor of states in [0, num_states).

        Returns:
            a `n` tensor (default float dtype): prod_i r(h_q(x, m(i), s(i))) in [0, 1] for feasible
            sequences, -inf for infeasible ones (as in the paper and holo).
        """
        x = self._check_x(x)
        h = self._motif_presence(x)
        response = h * (1.0 + self.epistasis_factor * h * (h - 1.0))
        value = response.prod(-1)
        value = torch.where(self._is_feasible(x), value, torch.full_like(value, float("-inf")))
        return value.to(torch.get_default_dtype())

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """Draw sequences from the DMP (start from ``initial_distribution``), hence all feasible.

        Args:
            n: number of sequences.
            generator: a CPU ``torch.Generator`` for the draws.

        Returns:
            a `n x dim` long tensor.
        """
        n = _check_int("n", n, 0)
        return _sample_chain(self.initial_distribution, self.transition_matrix, n, self.dim, generator)

    def optimal_solution(self) -> Tensor:
        """A feasible sequence that scores exactly 1.0.

        Motif i is written over ``spacings[i, -1] + 1`` positions, element j repeated up to the offset
        of element j + 1; motifs are laid side by side and the tail repeats the last state. Repeats
        and the transitions inside the sampled motif path are feasible, so the whole sequence is.

        Returns:
            a `dim` long tensor.
        """
        pieces = []
        for motif, offsets in zip(self.motifs, self.spacings, strict=True):
            pieces.append(motif[:-1].repeat_interleave(offsets.diff()))
            pieces.append(motif[-1:])
        body = torch.cat(pieces)
        solution = torch.cat([body, body[-1].repeat(self.dim - body.numel())])
        if float(self(solution[None])[0]) != 1.0:  # pragma: no cover - guaranteed by construction
            raise RuntimeError("The constructed solution does not reach the optimum 1.0.")
        return solution

    def __repr__(self) -> str:
        return (
            f"EhrlichFunction(num_states={self.num_states}, dim={self.dim}, num_motifs={self.num_motifs}, "
            f"motif_length={self.motif_length}, quantization={self.quantization}, seed={self.seed}, "
            f"epistasis_factor={self.epistasis_factor})"
        )
