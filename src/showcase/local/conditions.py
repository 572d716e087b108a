"""Condition evaluation: one function per condition ``Type`` the SDK emits, dispatched by a table.

Comparisons follow SageMaker: numbers compare as numbers (an Integer parameter against a Float metric),
strings as strings; comparing a number with a string is a step failure, not a silent ``False``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from showcase.errors import StepFailed

Resolve = Callable[[Any], Any]
Evaluator = Callable[[dict[str, Any], Resolve], bool]


def evaluate_all(conditions: list[dict[str, Any]], resolve: Resolve) -> bool:
    """A Condition step's outcome: all of its conditions hold."""
    return all(evaluate(condition, resolve) for condition in conditions)


def evaluate(condition: dict[str, Any], resolve: Resolve) -> bool:
    kind = condition.get("Type")
    evaluator = CONDITIONS.get(str(kind))
    if evaluator is None:
        raise StepFailed(f"unknown condition type {kind!r}; known: {', '.join(sorted(CONDITIONS))}")
    return evaluator(condition, resolve)


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def _compare(op: Callable[[Any, Any], bool]) -> Evaluator:
    def run(condition: dict[str, Any], resolve: Resolve) -> bool:
        left = _comparable(resolve(condition.get("LeftValue")))
        right = _comparable(resolve(condition.get("RightValue")))
        try:
            return bool(op(left, right))
        except TypeError:
            raise StepFailed(
                f"condition {condition['Type']} cannot compare {left!r} ({type(left).__name__}) "
                f"with {right!r} ({type(right).__name__})"
            ) from None

    return run


def _equals(condition: dict[str, Any], resolve: Resolve) -> bool:
    left, right = resolve(condition.get("LeftValue")), resolve(condition.get("RightValue"))
    return bool(_comparable(left) == _comparable(right))


def _in(condition: dict[str, Any], resolve: Resolve) -> bool:
    query = _comparable(resolve(condition.get("QueryValue")))
    return any(query == _comparable(resolve(value)) for value in condition.get("Values", []))


def _not(condition: dict[str, Any], resolve: Resolve) -> bool:
    return not evaluate(condition["Condition"], resolve)


def _or(condition: dict[str, Any], resolve: Resolve) -> bool:
    return any(evaluate(inner, resolve) for inner in condition.get("Conditions", []))


CONDITIONS: dict[str, Evaluator] = {
    "Equals": _equals,
    "GreaterThan": _compare(operator.gt),
    "GreaterThanOrEqualTo": _compare(operator.ge),
    "LessThan": _compare(operator.lt),
    "LessThanOrEqualTo": _compare(operator.le),
    "In": _in,
    "Not": _not,
    "Or": _or,
}


def operands(condition: dict[str, Any]) -> Iterator[Any]:
    """The values a condition reads (for finding references before running)."""
    for key in ("LeftValue", "RightValue", "QueryValue"):
        if key in condition:
            yield condition[key]
    yield from condition.get("Values", [])
    if "Condition" in condition:
        yield from operands(condition["Condition"])
    for inner in condition.get("Conditions", []):
        yield from operands(inner)


def problems(condition: Any) -> Iterator[str]:
    """What is wrong with a condition's shape, found before running."""
    if not isinstance(condition, dict) or condition.get("Type") not in CONDITIONS:
        kind = condition.get("Type") if isinstance(condition, dict) else condition
        yield f"unknown condition type {kind!r} (known: {', '.join(sorted(CONDITIONS))})"
        return
    if condition["Type"] == "Not":
        yield from problems(condition.get("Condition"))
    for inner in condition.get("Conditions", []) if condition["Type"] == "Or" else []:
        yield from problems(inner)
