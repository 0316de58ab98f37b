"""Search methods by name, for configs and the command line: `build_search_method("genetic", kappa=1.0)`.

Unknown names and options are `ConfigError`s with a one-line message that suggests the nearest valid
spelling; so are option values the method rejects (a negative scale, an unknown sampler, a string where a
number belongs).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from typing import Any

from genmbo.errors import ConfigError
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
    """The search method registered as `name`, constructed with `options` (its documented defaults else)."""
    if name not in SEARCH_METHODS:
        raise ConfigError(f"unknown search method {name!r}{_suggestion(name, SEARCH_METHODS)}")
    method_class = SEARCH_METHODS[name]
    accepted = list(inspect.signature(method_class).parameters)
    for option in options:
        if option not in accepted:
            raise ConfigError(
                f"search method {name!r} has no option {option!r}{_suggestion(option, accepted)}"
            )
    try:
        return method_class(**options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"search method {name!r}: {error}") from None


def _suggestion(word: str, choices: Iterable[str]) -> str:
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; choose from {', '.join(choices) or '(none)'}"
