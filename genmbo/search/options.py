"""Each search method's options as a pydantic model, derived from the method's constructor.

The constructor's signature is the one place a method's options and their defaults are written; its type
hints become the model's field types, so a config's search section is checked (unknown keys with the
nearest valid one, types, and the method's own range checks) before any data is read. The flagship's
`policy` is typed as the PGS options it passes on (`policy_options`).
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Literal

from pydantic import ConfigDict, create_model, model_validator

from genmbo.config import SearchChoice
from genmbo.errors import ConfigError


class RejectedOption(ValueError):
    """A method's constructor rejected its options; `option` names the one it rejects alone, if any."""

    def __init__(self, message: str, option: str | None) -> None:
        super().__init__(message)
        self.option = option


class MethodOptions(SearchChoice):
    """One method's options: unknown keys are errors, and the method must accept the values."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)

    @model_validator(mode="after")
    def _method_accepts(self) -> MethodOptions:
        from genmbo.search.registry import SEARCH_METHODS

        method = SEARCH_METHODS[self.method]
        options = self.options()
        try:
            method(**options)
        except (TypeError, ValueError) as error:
            culprit = _rejected_alone(method, options, self.model_fields_set)
            raise RejectedOption(str(error), culprit) from None
        return self


def _rejected_alone(method: type, options: dict[str, Any], given: set[str]) -> str | None:
    """The first given option that `method` rejects with every other option at its default."""
    for name in sorted(given - {"method"}):
        try:
            method(**{name: options[name]})
        except (TypeError, ValueError):
            return name
    return None


@functools.cache
def search_options(name: str) -> type[MethodOptions]:
    """The options model of the search method registered as `name`."""
    from genmbo.search.registry import SEARCH_METHODS, suggestion

    if name not in SEARCH_METHODS:
        raise ConfigError(f"unknown search method {name!r}{suggestion(name, SEARCH_METHODS)}")
    method_class = SEARCH_METHODS[name]
    fields = constructor_fields(method_class)
    if "policy" in fields:  # the flagship's step-size policy: PGS's options over its defaults, or None
        fields["policy"] = (policy_options() | None, policy_options()())
    model = create_model(
        f"{method_class.__name__}Options",
        __base__=MethodOptions,
        __doc__=f"Options of `{method_class.__module__}.{method_class.__name__}`.",
        method=(Literal[name], name),
        **fields,
    )
    return model


@functools.cache
def policy_options() -> type[Any]:
    """PGS's options without a method name and the `spaces` the policy is trained on, defaulting to the
    flagship's `DEFAULT_POLICY` where it sets one (one top-20% pool, sequences only): the flagship's
    `policy` section, so that setting one key keeps the rest."""
    from pydantic import BaseModel

    from genmbo.search.guided_diffusion import DEFAULT_POLICY
    from genmbo.search.pgs import PolicyGuidedGradientSearch
    from genmbo.spaces import SpaceKind

    class Base(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)

    fields = constructor_fields(PolicyGuidedGradientSearch)
    fields["spaces"] = (list[SpaceKind], None)
    for name, value in DEFAULT_POLICY.items():
        fields[name] = (fields[name][0], list(value) if isinstance(value, tuple) else value)
    return create_model("PolicyOptions", __base__=Base, **fields)


def constructor_fields(method_class: type) -> dict[str, tuple[Any, Any]]:
    """`{name: (type, default)}` of the keyword options of `method_class`'s constructor."""
    hints = typing.get_type_hints(method_class.__init__)
    fields = {}
    for parameter in inspect.signature(method_class).parameters.values():
        default = parameter.default
        if isinstance(default, tuple):
            default = list(default)
        fields[parameter.name] = (hints.get(parameter.name, Any), default)
    return fields
