"""Condition evaluation: one function per condition ``Type`` the SDK emits, dispatched by a table.

Comparisons follow SageMaker: numbers compare as numbers (an Integer parameter against a Float metric),
strings as strings; comparing a number with a string is a step failure, not a silent ``False``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from showcase.errors import StepFailed
from showcase.names import shown

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
    """The values a condition reads (for finding references before running); malformed parts are skipped."""
    for key in ("LeftValue", "RightValue", "QueryValue"):
        if key in condition:
            yield condition[key]
    values = condition.get("Values")
    yield from values if isinstance(values, list) else ()
    inner = condition.get("Condition")
    if isinstance(inner, dict):
        yield from operands(inner)
    listed = condition.get("Conditions")
    for item in listed if isinstance(listed, list) else ():
        if isinstance(item, dict):
            yield from operands(item)


# What each condition type needs besides its Type (the SDK's ConditionComparison, ConditionIn, ConditionNot and
# ConditionOr write exactly these): a condition without them would compare nothing and always hold.
NEEDS = {
    **{kind: ("LeftValue", "RightValue") for kind in CONDITIONS if kind not in ("In", "Not", "Or")},
    "In": ("QueryValue", "Values"),
    "Not": ("Condition",),
    "Or": ("Conditions",),
}


def problems(condition: Any, where: str = "condition") -> Iterator[str]:
    """What is wrong with a condition's shape, found before running; ``where`` names it (``Conditions[0]``)."""
    if not isinstance(condition, dict) or condition.get("Type") not in CONDITIONS:
        kind = condition.get("Type") if isinstance(condition, dict) else condition
        yield f"{where}: unknown condition type {shown(kind)} (known: {', '.join(sorted(CONDITIONS))})"
        return
    kind = condition["Type"]
    missing = [key for key in NEEDS[kind] if key not in condition]
    if missing:
        yield f"{where} ({kind}) needs {' and '.join(NEEDS[kind])}; it has no {' and no '.join(missing)}"
        return
    if kind == "In" and not isinstance(condition["Values"], list):
        yield f"{where} (In): Values must be a list, got {shown(condition['Values'])}"
    if kind == "Not":
        yield from problems(condition["Condition"], f"{where}.Condition")
    if kind == "Or":
        inner = condition["Conditions"]
        if not isinstance(inner, list) or not inner:
            yield f"{where} (Or): Conditions must be a non-empty list of conditions, got {shown(inner)}"
            return
        for index, item in enumerate(inner):
            yield from problems(item, f"{where}.Conditions[{index}]")
