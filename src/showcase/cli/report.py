"""Presentation of executions for the CLIs: progress lines and the final step table."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from showcase.reporting import STATUS_STYLES, ExecutionReport, StepReport, how_long, regression_metric, when
from showcase.statuses import StepStatus

FAILED_LOG_LINES = 15


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
                line = f"{when(datetime.now(), 'clock')} {step.name}: {step.status}{reason}"
                print(line, file=self._stream, flush=True)


def styled(status: str) -> str:
    """``status`` in rich markup, in its style from STATUS_STYLES (plain when it has none)."""
    style = STATUS_STYLES[status].terminal if status in STATUS_STYLES else ""
    return f"[{style}]{status}[/]" if style else status


def step_table(steps: Sequence[StepReport]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    for column in ("step", "status", "started", "ended", "duration", "failure reason"):
        table.add_column(column, overflow="fold")
    for step in steps:
        row = [
            step.name,
            styled(step.status),
            when(step.start, "clock"),
            when(step.end, "clock"),
            how_long(step.duration),
            step.failure_reason or "",
        ]
        table.add_row(*row)
    return table


def print_execution(report: ExecutionReport, *, stream: TextIO = sys.stdout) -> None:
    """The step table, where the logs are, the last lines of each failed step's log, and the outcome."""
    console = Console(file=stream, soft_wrap=False, width=None if stream.isatty() else 140)
    console.print(step_table(report.steps))
    logs = {str(Path(step.log_path).parent) for step in report.steps if step.log_path}
    if len(logs) == 1:
        console.print(f"step logs: {logs.pop()}", markup=False, highlight=False)
    for step in report.steps:
        if step.status == StepStatus.FAILED and step.log_path and Path(step.log_path).is_file():
            console.print(f"last lines of {step.log_path}:", markup=False, highlight=False)
            for line in tail(Path(step.log_path), FAILED_LOG_LINES):
                console.print(f"  {line}", markup=False, highlight=False)
    line = f"execution {report.execution_id}: {report.status}"
    if report.failure_reason:
        line += f" ({report.failure_reason})"
    console.print(line, markup=False, highlight=False)


def tail(path: Path, lines: int) -> list[str]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]


def print_registrations(registrations: Sequence[dict[str, Any]], *, stream: TextIO = sys.stdout) -> None:
    """Where each model was registered, its approval status and its regression metrics."""
    for package in registrations:
        print(f"registered {package['ModelPackageArn']} ({package['ModelApprovalStatus']})", file=stream)
        metrics = package.get("Metrics")
        names = ((metrics or {}).get("regression_metrics") or {}).keys()
        figures = [(name, value) for name in names if (value := regression_metric(metrics, name)) is not None]
        if figures:
            print("  test metrics: " + ", ".join(f"{name} {value:.4f}" for name, value in figures), file=stream)
        model = package.get("InferenceSpecification", {}).get("Containers", [{}])[0].get("ModelDataUrl")
        if model:
            print(f"  model: {model}", file=stream)
