"""Pipeline parameter types, and overrides checked against a definition's declared parameters."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
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


# A declared parameter type -> how a value (a string from the command line, or a typed value) becomes one.
# The local engine converts with it; run_pipeline checks overrides with it before publishing or running.
CONVERT: dict[str, Callable[[Any], Any]] = {
    "String": str,
    "Integer": _integer,
    "Float": _float,
    "Boolean": _boolean,
}
EXAMPLES = {
    "String": "any text",
    "Integer": "e.g. 42",
    "Float": "a finite number, e.g. 0.5",
    "Boolean": "true or false",
}


def check_overrides(definition: dict[str, Any], overrides: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return ``{name: value}`` for the overrides, or raise UsageError naming the first bad one.

    Values stay strings (SageMaker's StartPipelineExecution takes strings); each must parse as its
    parameter's declared type.
    """
    declared = {param["Name"]: param.get("Type", "String") for param in definition.get("Parameters", [])}
    result: dict[str, str] = {}
    for name, value in overrides:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(
                f"--parameter {name}: the pipeline declares no parameter {name!r}{suggest(name, declared)} "
                f"(declared: {known})"
            )
        kind = declared[name]
        try:
            CONVERT[kind](value)
        except (ValueError, KeyError, TypeError):
            article = "an" if kind[0] in "AEIOU" else "a"
            expected = f"{article} {kind} value ({EXAMPLES[kind]})"
            raise UsageError(f"--parameter {name}={value}: expected {expected}") from None
        result[name] = value
    return result
