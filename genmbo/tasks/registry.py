"""Tasks by name. `genmbo tasks` lists the named ones; patterns build others of any size.

Listed multi-objective tasks (`genmbo.tasks.multi_objective`): ``branin-currin``, ``moses-qed-sa``,
``ehrlich-pair-s<states>-d<length>-m<motifs each>-l<motif length>-q<quantization>[-seed<n>]``. Patterns:
``ackley-<dim>``, ``levy-<dim>``, ``rosenbrock-<dim>``; ``ehrlich-s<states>-d<length>-m<motifs>
-l<motif length>-q<quantization>[-seed<n>]``; ``moses-<oracle>`` for every molecular oracle; and
``<task>@n<N>``, any of them with `N` labeled rows and the rest of its visible designs unlabeled
(`genmbo.tasks.small_data`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import cache

from genmbo.errors import GenmboError
from genmbo.tasks.base import Task

MOLECULAR_ORACLE_NAMES = (
    "qed",
    "penalized_logp",
    "osimertinib_mpo",
    "fexofenadine_mpo",
    "ranolazine_mpo",
    "perindopril_mpo",
    "amlodipine_mpo",
    "sitagliptin_mpo",
    "zaleplon_mpo",
    "celecoxib_rediscovery",
)
LISTED_EHRLICH = ("ehrlich-s20-d32-m2-l4-q4", "ehrlich-s32-d64-m4-l4-q4")
LISTED_SYNTHETIC = ("ackley-32", "levy-32", "rosenbrock-32")
LISTED_MULTI_OBJECTIVE = ("branin-currin", "moses-qed-sa", "ehrlich-pair-s20-d32-m2-l4-q4")
ALIASES = {"ehrlich": LISTED_EHRLICH[0]}

_SYNTHETIC_PATTERN = re.compile(r"^(ackley|levy|rosenbrock)-(\d+)$")
_SMALL_DATA_PATTERN = re.compile(r"^(.+)@n(\d+)$")
_EHRLICH_PATTERN = re.compile(r"^ehrlich-s(\d+)-d(\d+)-m(\d+)-l(\d+)-q(\d+)(?:-seed(\d+))?$")
_EHRLICH_PAIR_PATTERN = re.compile(r"^ehrlich-pair-s(\d+)-d(\d+)-m(\d+)-l(\d+)-q(\d+)(?:-seed(\d+))?$")


def task_names() -> list[str]:
    """Every listed task, in the order `genmbo tasks` prints them."""
    molecular = ["moses-" + name.replace("_", "-") for name in MOLECULAR_ORACLE_NAMES]
    return ["tfbind8", *LISTED_EHRLICH, *molecular, *LISTED_SYNTHETIC, *LISTED_MULTI_OBJECTIVE]


def _builder(name: str) -> Callable[[], Task] | None:
    match = _SMALL_DATA_PATTERN.match(name)
    if match:
        base = match.group(1)
        if _builder(ALIASES.get(base, base)) is None:
            return None
        from genmbo.tasks.small_data import SmallDataTask

        return lambda: SmallDataTask(get_task(base), int(match.group(2)))
    if name == "branin-currin":
        from genmbo.tasks.multi_objective import BraninCurrinTask

        return BraninCurrinTask
    if name == "moses-qed-sa":
        from genmbo.tasks.multi_objective import MoleculeQedSaTask

        return MoleculeQedSaTask
    if name == "tfbind8":
        from genmbo.tasks.tfbind8 import TFBind8

        return TFBind8
    if name.startswith("moses-"):
        oracle = name.removeprefix("moses-").replace("-", "_")
        if oracle in MOLECULAR_ORACLE_NAMES:
            from genmbo.tasks.molecular import MolecularTask

            return lambda: MolecularTask(oracle)
    match = _SYNTHETIC_PATTERN.match(name)
    if match:
        from genmbo.tasks.synthetic import SyntheticTask

        return lambda: SyntheticTask(match.group(1), int(match.group(2)))
    match = _EHRLICH_PAIR_PATTERN.match(name)
    if match:
        from genmbo.tasks.multi_objective import EhrlichPairTask

        states, dim, motifs, length, quantization, seed = (int(group or 0) for group in match.groups())
        return lambda: EhrlichPairTask(states, dim, motifs, length, quantization, seed)
    match = _EHRLICH_PATTERN.match(name)
    if match:
        from genmbo.tasks.ehrlich_task import EhrlichTask

        states, dim, motifs, length, quantization, seed = (int(group or 0) for group in match.groups())
        return lambda: EhrlichTask(states, dim, motifs, length, quantization, seed)
    return None


@cache
def get_task(name: str) -> Task:
    """The task called `name` (built once per process); unknown names raise a one-line `GenmboError`."""
    name = ALIASES.get(name.strip().lower(), name.strip().lower())
    builder = _builder(name)
    if builder is None:
        nearest = difflib.get_close_matches(name, task_names(), n=1, cutoff=0.5)
        hint = f" (did you mean '{nearest[0]}'?)" if nearest else ""
        raise GenmboError(f"unknown task '{name}'{hint}; `genmbo tasks` lists them")
    try:
        return builder()
    except ValueError as error:
        raise GenmboError(f"task '{name}': {error}") from None
