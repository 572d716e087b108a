"""How an execution's outcome is shown once it ends: the step table, the models it registered, the last line."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from showcase import clock
from showcase.cli.output import Output, Status
from showcase.reporting import ExecutionReport, StepReport, how_long, regression_metric, when
from showcase.statuses import ExecutionStatus

STEP_HEADERS = ("step", "type", "status", "started", "ended", "duration")


class StepChanges:
    """Prints one line each time a step's status changes (a callback for polling backends)."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._seen: dict[str, str] = {}
        self._stream = stream

    def __call__(self, steps: Iterable[StepReport]) -> None:
        for step in steps:
            if self._seen.get(step.name) != step.status:
                self._seen[step.name] = step.status
                reason = f": {step.failure_reason}" if step.failure_reason else ""
                line = f"{when(clock.now(), 'clock')} {step.name}: {step.status}{reason}"
                print(line, file=self._stream, flush=True)


def step_rows(steps: Sequence[StepReport]) -> list[list[Any]]:
    return [
        [step.name, step.type, Status(step.status), when(step.start, "clock"), when(step.end, "clock"),
         how_long(step.duration)]
        for step in steps
    ]  # fmt: skip


def print_execution(
    report: ExecutionReport,
    out: Output | None = None,
    *,
    local: bool = False,
    registrations: Sequence[dict[str, Any]] = (),
) -> None:
    """The step table, where the step logs are, the models registered, and the last line: the outcome, with its
    reason when it failed (said once, here), and for a local execution the commands that inspect and retry it."""
    out = out or Output()
    out.table(STEP_HEADERS, step_rows(report.steps))
    logs = {str(Path(step.log_path).parent) for step in report.steps if step.log_path}
    if len(logs) == 1:
        out.line(f"step logs: {logs.pop()}")
    print_registrations(registrations, out)
    out.line(outcome(report, local=local))


def outcome(report: ExecutionReport, *, local: bool) -> str:
    line = f"execution {report.execution_id}: {report.status}"
    if report.status == ExecutionStatus.SUCCEEDED or (local and report.status == ExecutionStatus.STOPPED):
        return line  # a local stop says how to go on in its own line (showcase.cli.signals.stopped_line)
    if report.failure_reason:
        line += f": {report.failure_reason.rstrip().rstrip('.')}"
    if local:
        failed = next((step.name for step in report.steps if step.status == "Failed"), None)
        ident = report.execution_id
        logs = f"; its log: `showcase logs {ident} {failed}`" if failed else ""
        line += f". Inspect it with `showcase describe {ident}`{logs}; fix the cause, then `showcase retry {ident}`"
    return line


def print_registrations(registrations: Sequence[dict[str, Any]], out: Output | None = None) -> None:
    """Where each model was registered, its approval status and its regression metrics."""
    out = out or Output()
    for package in registrations:
        out.line(f"registered {package['ModelPackageArn']} ({package['ModelApprovalStatus']})")
        metrics = package.get("Metrics")
        names = ((metrics or {}).get("regression_metrics") or {}).keys()
        figures = [(name, value) for name in names if (value := regression_metric(metrics, name)) is not None]
        if figures:
            out.line("  test metrics: " + ", ".join(f"{name} {value:.4f}" for name, value in figures))
        model = package.get("InferenceSpecification", {}).get("Containers", [{}])[-1].get("ModelDataUrl")
        if model:
            out.line(f"  model: {model}")
