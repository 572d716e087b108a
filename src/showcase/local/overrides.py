"""Parameter values for one execution: declared defaults, overridden by the caller, typed as declared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from showcase.errors import UsageError
from showcase.local.definition import ParameterSpec
from showcase.parameters import CONVERT, EXAMPLES


def parameter_values(declared: Mapping[str, ParameterSpec], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults updated with ``overrides`` (strings or typed values); UsageError names a bad one."""
    values = {name: spec.default for name, spec in declared.items()}
    for name, raw in overrides.items():
        spec = declared.get(name)
        if spec is None:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"parameter {name!r} is not declared by the pipeline (declared: {known})")
        try:
            values[name] = CONVERT[spec.type](raw)
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"parameter {name!r} is {spec.type} ({EXAMPLES[spec.type]}), got {raw!r}") from None
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise UsageError(f"parameters {', '.join(missing)} have no DefaultValue; give them a value")
    return values
