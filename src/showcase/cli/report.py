"""Presentation of executions for the CLIs: progress lines and the final step table."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table

from showcase.reporting import ExecutionReport, StepReport

STATUS_STYLE = {
    "Succeeded": "green",
    "Cached": "cyan",
    "Failed": "red",
    "Stopped": "red",
    "Skipped": "dim",
    "Executing": "yellow",
}


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def format_time(epoch: float | None) -> str:
    return "-" if epoch is None else time.strftime("%H:%M:%S", time.localtime(epoch))


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
                print(f"{time.strftime('%H:%M:%S')} {step.name}: {step.status}{reason}", file=self._stream, flush=True)


def step_table(steps: Sequence[StepReport], *, show_logs: bool = False) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    for column in ("step", "status", "started", "ended", "duration", "failure reason"):
        table.add_column(column, overflow="fold")
    if show_logs:
        table.add_column("log", overflow="fold")
    for step in steps:
        row = [
            step.name,
            f"[{STATUS_STYLE.get(step.status, '')}]{step.status}" if step.status in STATUS_STYLE else step.status,
            format_time(step.started),
            format_time(step.ended),
            format_duration(step.duration),
            step.failure_reason or "",
        ]
        if show_logs:
            row.append(step.log_path)
        table.add_row(*row)
    return table


def print_execution(report: ExecutionReport, *, stream: TextIO = sys.stdout, show_logs: bool = False) -> None:
    console = Console(file=stream, soft_wrap=False, width=None if stream.isatty() else 160)
    console.print(step_table(report.steps, show_logs=show_logs))
    line = f"execution {report.execution_id}: {report.status}"
    if report.failure_reason:
        line += f" ({report.failure_reason})"
    console.print(line, markup=False, highlight=False)
