"""Pipeline parameter types, and the one check of a run's parameter values against a definition's parameters.

``TYPES`` is the one table of SageMaker's four parameter types: how a given value (a string, as
StartPipelineExecution takes it, or a typed value) becomes one, which JSON values a ``DefaultValue`` may be, and
an example for messages. ``values`` checks overrides against the declared parameters, with one set of messages,
for the local engine and for ``run_pipeline`` before it publishes or runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from showcase.errors import UsageError
from showcase.reporting import suggest


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}[str(value).strip().lower()]


def _integer(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


def _float(value: Any) -> float:
    """A finite float: NaN and infinities are refused (a threshold of NaN would make every comparison false)."""
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


@dataclass(frozen=True)
class ParameterType:
    """One of SageMaker's pipeline parameter types."""

    name: str
    convert: Callable[[Any], Any]
    """A given value (a string, or a typed value) -> the typed value; ValueError, KeyError or TypeError if it is not
    one."""
    json_types: tuple[type, ...]
    """What a definition's ``DefaultValue`` may be, as JSON reads it."""
    example: str

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` converts to this type."""
        try:
            self.convert(value)
        except (ValueError, KeyError, TypeError):
            return False
        return True

    def holds(self, value: Any) -> bool:
        """Whether a ``DefaultValue`` is a value of this type (a Float is finite; a Boolean is no number)."""
        return isinstance(value, self.json_types) and self.accepts(value)


TYPES: dict[str, ParameterType] = {
    kind.name: kind
    for kind in (
        ParameterType("String", str, (str,), "any text"),
        ParameterType("Integer", _integer, (int,), "e.g. 42"),
        ParameterType("Float", _float, (int, float), "a finite number, e.g. 0.5"),
        ParameterType("Boolean", _boolean, (bool,), "true or false"),
    )
}


def values(declared: Mapping[str, str], given: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``{name: typed value}`` for the given overrides of the ``declared`` parameters (name -> type), or
    UsageError naming the first that is not declared or not of its parameter's type."""
    typed: dict[str, Any] = {}
    for name, value in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            close = suggest(name, declared)
            raise UsageError(f"the pipeline declares no parameter {name!r}{close} (declared: {known})")
        kind = TYPES.get(declared[name], TYPES["String"])
        try:
            typed[name] = kind.convert(value)
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"parameter {name!r} is {kind.name} ({kind.example}), got {value!r}") from None
    return typed


def check_overrides(definition: dict[str, Any], overrides: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return ``{name: value}`` for the overrides, or raise UsageError naming the first bad one (``values``).

    Values stay strings (SageMaker's StartPipelineExecution takes strings); each must parse as its
    parameter's declared type.
    """
    given = list(overrides)
    declared = {param["Name"]: param.get("Type", "String") for param in definition.get("Parameters", [])}
    values(declared, given)
    return dict(given)
