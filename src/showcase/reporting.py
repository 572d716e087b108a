"""How executions, steps and model packages are shown, on every surface (the CLIs, the dashboard) and for
every backend (the local runtime, SageMaker): one step model, one duration, one time formatter, one table
of status styles, one metrics lookup.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from showcase.statuses import ApprovalStatus, EndpointStatus, ExecutionStatus, JobStatus, MonitoringStatus, StepStatus


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
    """A moment in local time: ``date`` (``YYYY-MM-DD HH:MM:SS``, in tables), ``clock`` (``HH:MM:SS``, in progress
    lines) or ``iso`` (ISO 8601 to the second with the local offset, ``2026-11-29T10:00:00+01:00``: in JSON);
    ``-`` when unknown. A moment without a zone is taken as local time.
    """
    if not isinstance(moment, datetime):
        return "-"
    local = moment.astimezone()
    if form == "iso":
        return local.isoformat(timespec="seconds")
    return local.strftime("%H:%M:%S" if form == "clock" else "%Y-%m-%d %H:%M:%S")


def suggest(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` when ``name`` looks like a typo of one of ``choices`` (else empty)."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {choice.lower(): choice for choice in choices}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class StatusStyle:
    tone: str
    """The dashboard's badge class (``s-<tone>``): ok, running, bad, idle or pending."""
    terminal: str = ""
    """The rich style the CLIs print the status in (none: plain)."""


STATUS_STYLES: dict[str, StatusStyle] = {
    StepStatus.SUCCEEDED: StatusStyle("ok", "green"),
    StepStatus.CACHED: StatusStyle("ok", "cyan"),
    ApprovalStatus.APPROVED: StatusStyle("ok", "green"),
    JobStatus.COMPLETED: StatusStyle("ok", "green"),
    EndpointStatus.IN_SERVICE: StatusStyle("ok", "green"),
    "OK": StatusStyle("ok", "green"),  # an alarm's state (serving.alarms)
    StepStatus.EXECUTING: StatusStyle("running", "yellow"),
    StepStatus.STARTING: StatusStyle("running", "yellow"),
    StepStatus.STOPPING: StatusStyle("running", "yellow"),
    JobStatus.IN_PROGRESS: StatusStyle("running", "yellow"),
    MonitoringStatus.PENDING: StatusStyle("running", "yellow"),
    EndpointStatus.CREATING: StatusStyle("running", "yellow"),
    EndpointStatus.UPDATING: StatusStyle("running", "yellow"),
    EndpointStatus.SYSTEM_UPDATING: StatusStyle("running", "yellow"),
    EndpointStatus.ROLLING_BACK: StatusStyle("running", "yellow"),
    EndpointStatus.DELETING: StatusStyle("running", "yellow"),
    StepStatus.FAILED: StatusStyle("bad", "red"),
    ApprovalStatus.REJECTED: StatusStyle("bad", "red"),
    MonitoringStatus.COMPLETED_WITH_VIOLATIONS: StatusStyle("bad", "red"),
    EndpointStatus.UPDATE_ROLLBACK_FAILED: StatusStyle("bad", "red"),
    "RolledBack": StatusStyle("bad", "red"),  # a deployment's outcome (serving.rollout)
    "ALARM": StatusStyle("bad", "red"),
    StepStatus.STOPPED: StatusStyle("idle", "red"),
    StepStatus.SKIPPED: StatusStyle("idle", "dim"),
    StepStatus.NOT_STARTED: StatusStyle("idle", "dim"),
    EndpointStatus.OUT_OF_SERVICE: StatusStyle("idle", "dim"),
    ApprovalStatus.PENDING_MANUAL_APPROVAL: StatusStyle("pending", "magenta"),
}
"""Every status any surface shows (executions, steps, jobs, approvals, endpoints, monitoring runs), and how each
shows it: a badge's tone on the dashboard, a colour on a terminal (the word itself everywhere)."""


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
