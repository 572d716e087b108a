"""The Condition step, which the engine evaluates itself: its ``Conditions`` all hold, or not.

The SDK puts ``Conditions``, ``IfSteps`` and ``ElseSteps`` in the step's ``Arguments``; older definitions put them
on the step itself. The steps of ``IfSteps`` run when the outcome is true, those of ``ElseSteps`` when it is false
(``branches``); the others are Skipped. Its property is ``Outcome``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from showcase.local import conditions
from showcase.local.record import Outcome
from showcase.local.steptype import AwsStep, Resolve, StepType
from showcase.names import shown
from showcase.statuses import StepStatus


class ConditionEvaluator:
    def arguments(self, step: Mapping[str, Any]) -> dict[str, Any]:
        arguments = step.get("Arguments")
        return arguments if isinstance(arguments, dict) and "Conditions" in arguments else dict(step)

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        listed = arguments.get("Conditions", [])
        if not isinstance(listed, list):
            return [f"Conditions must be a list of conditions, got {shown(listed)}"]
        return [problem for index, c in enumerate(listed) for problem in conditions.problems(c, f"Conditions[{index}]")]

    def references(self, arguments: dict[str, Any]) -> Any:
        return [list(conditions.operands(c)) if isinstance(c, dict) else c for c in _listed(arguments)]

    def evaluate(self, arguments: dict[str, Any], resolve: Resolve, log: TextIO) -> Outcome:
        outcome = conditions.evaluate_all(_listed(arguments), resolve)
        log.write(f"conditions evaluated to {str(outcome).lower()}\n")
        return Outcome(StepStatus.SUCCEEDED, {"Outcome": outcome})


def _listed(arguments: dict[str, Any]) -> list[Any]:
    listed = arguments.get("Conditions", [])
    return list(listed) if isinstance(listed, list) else []


STEP = StepType(
    "Condition",
    AwsStep("Condition"),
    evaluator=ConditionEvaluator(),
    branches=(("IfSteps", True), ("ElseSteps", False)),
)
