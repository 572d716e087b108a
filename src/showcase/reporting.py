"""How executions, steps and model packages are shown, on every surface (the CLIs, the dashboard) and for
every backend (the local runtime, SageMaker): one step model, one duration, one time formatter, one table
of status styles, one metrics lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from showcase.statuses import ApprovalStatus, ExecutionStatus, StepStatus


def duration(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end``; None until both are known."""
    return (end - start).total_seconds() if start is not None and end is not None else None


def how_long(seconds: float | None) -> str:
    """A duration for people: ``12.3 s`` under a minute, ``4 min 05 s`` from then on; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def when(moment: datetime | None, form: Literal["date", "clock", "iso"] = "date") -> str:
    """A moment for people: ``date`` (local ``YYYY-MM-DD HH:MM:SS``), ``clock`` (local ``HH:MM:SS``),
    or ``iso`` (ISO 8601 to the second, in the moment's own zone: for text meant to be grepped); ``-`` when unknown.
    """
    if not isinstance(moment, datetime):
        return "-"
    if form == "iso":
        return moment.isoformat(timespec="seconds")
    return moment.astimezone().strftime("%H:%M:%S" if form == "clock" else "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class StatusStyle:
    tone: str
    """The dashboard's badge class (``s-<tone>``): ok, running, bad, idle or pending."""
    terminal: str = ""
    """The rich style the CLIs print the status in (none: plain)."""


STATUS_STYLES: dict[str, StatusStyle] = {
    StepStatus.SUCCEEDED: StatusStyle("ok", "green"),
    StepStatus.CACHED: StatusStyle("ok", "cyan"),
    ApprovalStatus.APPROVED: StatusStyle("ok"),
    "InService": StatusStyle("ok"),
    "Updating": StatusStyle("running"),  # an endpoint deployment (serving.rollout) and its alarms' states
    "RollingBack": StatusStyle("running"),
    "RolledBack": StatusStyle("bad"),
    "ALARM": StatusStyle("bad"),
    "OK": StatusStyle("ok"),
    StepStatus.EXECUTING: StatusStyle("running", "yellow"),
    StepStatus.STARTING: StatusStyle("running"),
    StepStatus.STOPPING: StatusStyle("running"),
    StepStatus.FAILED: StatusStyle("bad", "red"),
    ApprovalStatus.REJECTED: StatusStyle("bad"),
    StepStatus.STOPPED: StatusStyle("idle", "red"),
    StepStatus.SKIPPED: StatusStyle("idle", "dim"),
    StepStatus.NOT_STARTED: StatusStyle("idle"),
    ApprovalStatus.PENDING_MANUAL_APPROVAL: StatusStyle("pending"),
}
"""Every status any surface shows (executions, steps, approvals, endpoints), and how each shows it."""


def regression_metric(metrics: Mapping[str, Any] | None, name: str) -> float | None:
    """``regression_metrics.<name>.value`` of a SageMaker model-quality document (mse, rmse, mae, r2)."""
    value = ((metrics or {}).get("regression_metrics") or {}).get(name)
    number = value.get("value") if isinstance(value, Mapping) else None
    return float(number) if isinstance(number, int | float) else None


@dataclass(frozen=True)
class StepReport:
    """One step of an execution, as shown to the user."""

    name: str
    status: StepStatus | str
    """A StepStatus, or the word SageMaker answered when it is one this project does not know."""
    type: str = ""
    start: datetime | None = None
    end: datetime | None = None
    failure_reason: str | None = None
    log_path: str | None = None
    """The step's log file, when the backend keeps one on this machine."""
    jobs: tuple[StepReport, ...] = ()
    """The training jobs a Tuning step ran (its trials), best first, each of type Training."""
    detail: str | None = None
    """For a tuning trial: its objective (``validation:rmse 2.2018``)."""

    @property
    def duration(self) -> float | None:
        return duration(self.start, self.end)


@dataclass(frozen=True)
class ExecutionReport:
    """How an execution ended."""

    execution_id: str
    status: ExecutionStatus | str
    failure_reason: str = ""
    steps: tuple[StepReport, ...] = ()
