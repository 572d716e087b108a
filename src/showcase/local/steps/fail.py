"""The Fail step, which the engine evaluates itself: the execution fails with its ``ErrorMessage``, resolved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from showcase.local.expressions import render
from showcase.local.record import Outcome
from showcase.local.steptype import AwsStep, Resolve, StepType
from showcase.statuses import StepStatus


class FailEvaluator:
    def arguments(self, step: Mapping[str, Any]) -> dict[str, Any]:
        return step["Arguments"] if isinstance(step.get("Arguments"), dict) else {}

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        return []

    def references(self, arguments: dict[str, Any]) -> Any:
        return arguments.get("ErrorMessage", "")

    def evaluate(self, arguments: dict[str, Any], resolve: Resolve, log: TextIO) -> Outcome:
        message = render(resolve(arguments.get("ErrorMessage", "")))
        log.write(f"Fail step: {message}\n")
        return Outcome(StepStatus.FAILED, failure_reason=message)


STEP = StepType("Fail", AwsStep("Fail"), evaluator=FailEvaluator())
