"""Search methods by name, for configs and the command line: `build_search_method("genetic", kappa=1.0)`.

Unknown names and options are `ConfigError`s with a one-line message that suggests the nearest valid
spelling; so are option values the method rejects (a negative scale, an unknown sampler, a string where a
number belongs): the options are checked by the method's options model (`genmbo.search.options`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from genmbo.search.base import SearchMethod
from genmbo.search.best_offline import BestOffline
from genmbo.search.ddom import ConditionalDiffusion
from genmbo.search.genetic import GeneticAlgorithm
from genmbo.search.gradient_ascent import GradientAscent
from genmbo.search.guided_diffusion import SurrogateGuidedDiffusion
from genmbo.search.pgs import PolicyGuidedGradientSearch

SEARCH_METHODS: dict[str, type[SearchMethod]] = {
    "best_offline": BestOffline,
    "gradient_ascent": GradientAscent,
    "genetic": GeneticAlgorithm,
    "guided_diffusion": SurrogateGuidedDiffusion,
    "pgs": PolicyGuidedGradientSearch,
    "ddom": ConditionalDiffusion,
}


def build_search_method(name: str, **options: Any) -> SearchMethod:
    """The search method registered as `name`, constructed with `options` (its documented defaults else),
    after they are checked against its options model (`genmbo.search.options`)."""
    from genmbo.config import search_section

    checked = search_section({"method": name, **options}, source=f"search method {name!r}")
    return SEARCH_METHODS[name](**checked.options())


def suggestion(word: str, choices: Iterable[str]) -> str:
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; choose from {', '.join(choices) or '(none)'}"
