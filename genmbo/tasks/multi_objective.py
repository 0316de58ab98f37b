"""Benchmark tasks with several exact objectives, and the Design-Bench split made Pareto-aware.

A `MultiObjectiveTask` measures every design on `objective_names` (each maximized or minimized, as a user's
`--objective` says). Its split follows Design-Bench's principle (Trabucco et al., ICML 2022, Sec. 4: the
best designs never reach a model) with non-dominated sorting in place of a score percentile: the full
data's first fronts (Deb et al., NSGA-II, 2002, Sec. III-A), front after front until they hold at least
`hidden_share` of the rows (40%, our choice), are hidden, so the visible data exclude the full front and
its neighbourhood.

The visible dataset carries the objectives (`OfflineDataset.objectives`) scaled by its own range, so
nothing of the hidden rows reaches a campaign. The task's scalar oracle (`oracle`, used for the
single-number columns of a library) is the equal-weight Chebyshev scalarization of the objectives scaled
by the full data's range (`genmbo.data.objectives`); the benchmark's measure is the hypervolume of the
library's oracle objectives (`objective_oracle`), from the reference point of the visible data, as a share
of the full data's (`genmbo.benchmark.evaluation`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import rdkit
import torch
from botorch.test_functions.multi_objective import BraninCurrin

from genmbo.data.objectives import ObjectiveTable
from genmbo.data.offline import CleaningReport, OfflineDataset
from genmbo.resources import moses_subset_scores, moses_subset_smiles
from genmbo.runtime.cache import cached_array, content_key
from genmbo.selection.pareto_ranking import front_ranks
from genmbo.spaces.continuous import ContinuousSpace
from genmbo.spaces.molecules import MoleculeSpace, canonical_smiles
from genmbo.spaces.sequences import SequenceSpace
from genmbo.tasks.base import Task
from genmbo.tasks.ehrlich import EhrlichFunction
from genmbo.tasks.ehrlich_task import STATE_LETTERS
from genmbo.tasks.molecular_oracles import sa_score, score_molecules, score_smiles


def hidden_fronts_mask(values: np.ndarray, hidden_share: float) -> np.ndarray:
    """Rows of the first fronts of `n x m` maximized values, front after front until at least
    `hidden_share` of the rows are in them."""
    wanted = max(1, int(np.ceil(hidden_share * len(values))))
    ranks = front_ranks(torch.as_tensor(values, dtype=torch.float64), until=wanted).numpy()
    counts = np.bincount(ranks)
    last = int(np.searchsorted(np.cumsum(counts), wanted))
    return ranks <= last


class MultiObjectiveTask(Task):
    """A task whose designs are measured on several objectives; see the module docstring."""

    objective_names: tuple[str, ...]
    objective_minimize: tuple[bool, ...]
    hidden_share: float = 0.4

    @abstractmethod
    def _build_full_measurements(self) -> tuple[list[Any], np.ndarray]:
        """Canonical designs of the full dataset and their exact `n x m` objective values (user's
        orientation: a minimized objective as measured)."""

    @abstractmethod
    def _measure(self, designs: Sequence[Any]) -> np.ndarray:
        """Exact `n x m` objective values (user's orientation) of canonical, valid designs."""

    @cached_property
    def _full(self) -> tuple[list[Any], ObjectiveTable]:
        designs, measured = self._build_full_measurements()
        weights = (1.0,) * len(self.objective_names)
        table = ObjectiveTable.from_measurements(
            self.objective_names, self.objective_minimize, weights, measured
        )
        return list(designs), table

    @property
    def full_objectives(self) -> ObjectiveTable:
        return self._full[1]

    def _build_full_data(self) -> tuple[list[Any], np.ndarray]:
        designs, table = self._full
        return designs, table.scalarized()

    @cached_property
    def full_dataset(self) -> OfflineDataset:
        dataset = super().full_dataset
        dataset.objectives = self.full_objectives
        return dataset

    @cached_property
    def visible(self) -> np.ndarray:
        return ~hidden_fronts_mask(self.full_objectives.values, self.hidden_share)

    def offline_dataset(self, seed: int = 0) -> OfflineDataset:
        """The visible rows, their objectives scaled by their own range (nothing of the hidden rows)."""
        full = self.full_dataset
        indices = np.flatnonzero(self.visible)
        objectives = self.full_objectives.rescaled_rows(indices)
        designs = [full.designs[index] for index in indices]
        report = CleaningReport(rows_read=len(designs), rows_kept=len(designs))
        visible = OfflineDataset(
            self.space.fit(designs), designs, objectives.scalarized(), report=report, objectives=objectives
        )
        return visible

    def _evaluate_true(self, designs: Sequence[Any]) -> np.ndarray:
        table = self.full_objectives
        return table.scalarized(table.maximized(self._measure(designs)))

    def objective_oracle(self, designs: Sequence[Any]) -> np.ndarray:
        """Exact `n x m` objective values, maximized (a minimized objective negated); a design the space
        rejects (or None) gets a row of NaN."""
        values = np.full((len(designs), len(self.objective_names)), np.nan)
        indices, valid = self.parsed(designs)
        if valid:
            values[indices] = self.full_objectives.maximized(self._measure(valid))
        return values

    def summary(self) -> dict[str, Any]:
        row = super().summary()
        row["percentile"] = 100 * (1 - self.hidden_share)
        return row


def objective_task(task: Task) -> MultiObjectiveTask | None:
    """The multi-objective task behind `task` (itself, or the base of a small-data variant), else None."""
    base = getattr(task, "base", task)
    return base if isinstance(base, MultiObjectiveTask) else None


class BraninCurrinTask(MultiObjectiveTask):
    """BoTorch's BraninCurrin (Belakaria et al., NeurIPS 2019): two minimized objectives on [0, 1]^2."""

    name = "branin-currin"
    description = "BoTorch BraninCurrin: Branin and Currin, both minimized, on [0, 1]^2"
    objective_names = ("branin", "currin")
    objective_minimize = (True, True)

    def __init__(self, num_points: int = 10_000, seed: int = 0):
        self.function = BraninCurrin()
        self.num_points, self.seed = num_points, seed

    @cached_property
    def space(self) -> ContinuousSpace:
        bounds = self.function.bounds.numpy()
        return ContinuousSpace(2, bounds[0], bounds[1])

    def _build_full_measurements(self) -> tuple[list[tuple[float, ...]], np.ndarray]:
        generator = torch.Generator().manual_seed(self.seed)
        points = torch.rand(self.num_points, 2, generator=generator, dtype=torch.float64)
        designs = [tuple(row) for row in points.tolist()]
        return designs, self._measure(designs)

    def _measure(self, designs: Sequence[Sequence[float]]) -> np.ndarray:
        points = torch.tensor(np.asarray(designs, dtype=np.float64)).reshape(-1, 2)
        with torch.no_grad():
            return self.function.evaluate_true(points).numpy().astype(np.float64)


class MoleculeQedSaTask(MultiObjectiveTask):
    """QED (maximized) against the SA score (minimized) on the first `FULL_ROWS` molecules of the shipped
    MOSES subset: drug-likeness against synthetic accessibility. QED comes from the shipped scores, SA is
    computed once per RDKit version and cached (`genmbo.runtime.cache`); candidates are scored exactly,
    any RDKit-valid molecule, as in `genmbo.tasks.molecular`."""

    name = "moses-qed-sa"
    description = "QED (max) and SA score (min) on 20,000 MOSES molecules"
    objective_names = ("qed", "sa")
    objective_minimize = (False, True)
    # Non-dominated sorting compares every pair of rows: 20,000 keep the split a few seconds.
    FULL_ROWS = 20_000

    @cached_property
    def space(self) -> MoleculeSpace:
        return MoleculeSpace()

    def _build_full_measurements(self) -> tuple[list[str], np.ndarray]:
        smiles = list(moses_subset_smiles()[: self.FULL_ROWS])
        qed = moses_subset_scores("qed")[: self.FULL_ROWS].astype(np.float64)
        key = content_key("sa_score", rdkit.__version__, smiles)
        sa = cached_array(
            "sa_scores",
            key,
            lambda: score_molecules(sa_score, smiles),
            lambda array: array.shape == qed.shape,
        )
        return smiles, np.column_stack([qed, sa])

    def _measure(self, designs: Sequence[str]) -> np.ndarray:
        qed = score_smiles("qed", list(designs))
        return np.column_stack([qed, score_molecules(sa_score, list(designs))])

    def objective_oracle(self, designs: Sequence[Any]) -> np.ndarray:
        # Any RDKit-valid molecule is scored, even one the prior's SELFIES vocabulary cannot encode.
        canonical = [canonical_smiles(design) if isinstance(design, str) else None for design in designs]
        values = np.full((len(designs), 2), np.nan)
        valid = [index for index, smiles in enumerate(canonical) if smiles is not None]
        if valid:
            measured = self._measure([canonical[index] for index in valid])
            values[valid] = self.full_objectives.maximized(measured)
        return values

    def oracle(self, designs: Sequence[Any]) -> np.ndarray:
        values = self.objective_oracle(designs)
        scores = np.full(len(designs), np.nan)
        finite = np.isfinite(values).all(1)
        scores[finite] = self.full_objectives.scalarized(values[finite])
        return scores


class EhrlichPairTask(MultiObjectiveTask):
    """Two Ehrlich objectives on one sequence space (Stanton et al. 2024, arXiv 2407.00236): one Ehrlich
    function of ``2 m`` motifs whose first ``m`` motifs make objective ``a`` and last ``m`` objective ``b``
    (each the product of its motifs' quantized presence, -inf for an infeasible sequence, both maximized).
    The two share the feasible set and compete for the sequence's positions; the full data are
    `num_points` feasible sequences of the function's Markov process, as in `genmbo.tasks.ehrlich_task`."""

    objective_names = ("ehrlich_a", "ehrlich_b")
    objective_minimize = (False, False)

    def __init__(
        self,
        num_states: int = 20,
        dim: int = 32,
        motifs_each: int = 2,
        motif_length: int = 4,
        quantization: int = 4,
        seed: int = 0,
        num_points: int = 10_000,
    ):
        self.function = EhrlichFunction(num_states, dim, 2 * motifs_each, motif_length, quantization, seed)
        self.motifs_each, self.num_points, self.seed = motifs_each, num_points, seed
        self.name = f"ehrlich-pair-s{num_states}-d{dim}-m{motifs_each}-l{motif_length}-q{quantization}"
        if seed:
            self.name += f"-seed{seed}"
        self.description = (
            f"two Ehrlich objectives of {motifs_each} motifs each (length {motif_length}, quantization "
            f"{quantization}) on {num_states}-state sequences of length {dim}, one feasible set"
        )

    @cached_property
    def space(self) -> SequenceSpace:
        return SequenceSpace(STATE_LETTERS[: self.function.num_states], length=self.function.dim)

    def _build_full_measurements(self) -> tuple[list[str], np.ndarray]:
        generator = torch.Generator().manual_seed(10_000 + self.seed)
        designs = self.space.from_indices(self.function.sample(self.num_points, generator))
        return designs, self._measure(designs)

    def _measure(self, designs: Sequence[str]) -> np.ndarray:
        states = self.space.to_indices(list(designs))
        presence = self.function.motif_presence(states)
        values = torch.stack(
            [presence[:, : self.motifs_each].prod(-1), presence[:, self.motifs_each :].prod(-1)], -1
        )
        feasible = self.function.is_feasible(states)
        values[~feasible] = float("-inf")
        return values.numpy().astype(np.float64)
