"""A Lambda or Callback step's ``OutputParameters``: the declared outputs, checked, and the values typed.

SageMaker's rule for turning what a Lambda returns into a typed output is not documented (values are strings in
its API). Here: a String output is the value itself when it is a string and its JSON text otherwise (``true``,
``3``, ``{"a": 1}``); an Integer is an integer or a string holding one; a Float any number or a string holding
one; a Boolean ``true``/``false`` or a string of either (any case). A value of another kind fails the step, naming
the output; so does a declared output that is missing. A Callback's values arrive as strings and are read alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from showcase.local.steps.common import is_expression

TYPES = ("String", "Integer", "Float", "Boolean")


def problems(declared: object) -> list[str]:
    """What is wrong with a step's ``OutputParameters`` list, before the run."""
    if declared is None:
        return []
    if not isinstance(declared, list):
        return [f"OutputParameters must be a list, got {declared!r}"]
    found = []
    for index, item in enumerate(declared):
        if not isinstance(item, dict) or not isinstance(item.get("OutputName"), str) or not item["OutputName"]:
            found.append(f"OutputParameters[{index}] needs an OutputName")
        elif item.get("OutputType", "String") not in TYPES and not is_expression(item.get("OutputType")):
            found.append(f"OutputParameters[{index}].OutputType {item.get('OutputType')!r} is not one of {TYPES}")
    return found


def typed(declared: list[dict[str, Any]], values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``{output name: typed value}`` for each declared output, read from ``values``; ValueError naming the output
    that is missing or cannot be read as its type (``source`` says where the values came from)."""
    outputs: dict[str, Any] = {}
    for item in declared:
        name, kind = item["OutputName"], item.get("OutputType", "String")
        if name not in values:
            raise ValueError(f"output {name!r} is declared in OutputParameters but {source} has no key {name!r}")
        try:
            outputs[name] = _typed(values[name], kind)
        except ValueError:
            raise ValueError(f"output {name!r} of {source} is {values[name]!r}, not a {kind}") from None
    return outputs


def listed(outputs: Mapping[str, Any]) -> list[dict[str, str]]:
    """Outputs as SageMaker lists them in a step's metadata: ``[{Name, Value}]``, values as strings."""
    return [{"Name": name, "Value": as_text(value)} for name, value in outputs.items()]


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _typed(value: Any, kind: str) -> Any:
    if kind == "String":
        return as_text(value)
    if kind == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    if kind == "Integer":
        if isinstance(value, float):
            raise ValueError(value)
        return int(value)
    return float(value)
