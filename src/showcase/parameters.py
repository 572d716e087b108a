"""Pipeline parameter overrides checked against a definition's declared parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from showcase.errors import UsageError

_CHECKS: dict[str, Callable[[str], object]] = {
    "String": lambda text: text,
    "Integer": int,
    "Float": float,
    "Boolean": lambda text: {"true": True, "false": False}[text.lower()],
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
            raise UsageError(f"--parameter {name}: the pipeline declares no parameter {name!r} (declared: {known})")
        kind = declared[name]
        try:
            _CHECKS[kind](value)
        except (ValueError, KeyError):
            article = "an" if kind[0] in "AEIOU" else "a"
            raise UsageError(f"--parameter {name}={value}: expected {article} {kind} value") from None
        result[name] = value
    return result
