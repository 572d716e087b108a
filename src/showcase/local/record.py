"""An execution's record and its steps' records: what ran, when, with which outcome (``records`` keeps them).

A step's record changes only through its own methods (``skip``, ``queue``, ``begin``, ``finish``, ``reset``); an
execution's through ``reopen``, ``request_stop``, ``close`` and ``interrupt``. Both are written as JSON with ISO 8601
times (``showcase.clock.timestamp``).
"""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from showcase.clock import now, timestamp
from showcase.processes import process_started
from showcase.reporting import ExecutionReport, StepReport, duration
from showcase.settings import DEFAULT_ACCOUNT, DEFAULT_REGION
from showcase.statuses import DONE, ExecutionStatus, StepStatus

ID_ALPHABET = string.ascii_lowercase + string.digits


def new_execution_id() -> str:
    """Twelve lowercase alphanumerics, like SageMaker's pipeline execution ids."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


@dataclass
class StepRecord:
    name: str
    type: str
    status: StepStatus = StepStatus.NOT_STARTED
    start: datetime | None = None
    end: datetime | None = None
    failure_reason: str | None = None
    log_path: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    cache_key: str | None = None
    cached_from: str | None = None
    """For a Cached step: the execution whose properties it reuses."""
    arguments: dict[str, Any] = field(default_factory=dict)
    """A job step's resolved Arguments, as last run (or matched in the cache): lineage for later steps."""

    @property
    def duration(self) -> float | None:
        return duration(self.start, self.end)

    def report(self) -> StepReport:
        """This step as the CLIs and the dashboard show it."""
        return StepReport(
            self.name, self.status, self.type, self.start, self.end, self.failure_reason, self.log_path,
            jobs=tuple(_trial_report(summary) for summary in self.properties.get("TrainingJobSummaries") or []),
        )  # fmt: skip

    # -- the changes a step goes through, in order -----------------------------------------------

    def skip(self) -> None:
        """A dependency was skipped, or the step sits on the branch its Condition did not take."""
        self.status = StepStatus.SKIPPED

    def queue(self) -> None:
        """Ready, and handed to a worker (not yet reported: the step is Executing once it begins)."""
        self.status = StepStatus.STARTING

    def begin(self, log_path: str) -> None:
        self.status, self.start, self.end, self.log_path = StepStatus.EXECUTING, now(), None, log_path

    def finish(self, outcome: Outcome) -> None:
        self.status, self.end = outcome.status, now()
        self.properties, self.failure_reason = outcome.properties, outcome.failure_reason
        self.cache_key, self.cached_from = outcome.cache_key, outcome.cached_from
        self.attempts += outcome.attempts
        self.arguments = outcome.arguments

    def reset(self) -> None:
        """Back to NotStarted, for a retry of its execution."""
        self.status, self.failure_reason, self.start, self.end = StepStatus.NOT_STARTED, None, None, None

    def to_json(self) -> dict[str, Any]:
        return dict(_encode(asdict(self)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepRecord:
        return cls(**_decode(cls, data, StepStatus))


@dataclass
class Outcome:
    """How one run of a step ended: what its record takes from it."""

    status: StepStatus
    properties: dict[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None
    cache_key: str | None = None
    cached_from: str | None = None
    attempts: int = 0
    arguments: dict[str, Any] = field(default_factory=dict)
    """A job step's resolved arguments (kept in its record for the lineage of later steps)."""


@dataclass
class ExecutionRecord:
    execution_id: str
    execution_arn: str
    pipeline_name: str
    status: ExecutionStatus = ExecutionStatus.EXECUTING
    start: datetime = field(default_factory=now)
    end: datetime | None = None
    failure_reason: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    runner_started: int | None = field(default_factory=lambda: process_started(os.getpid()))
    """When the runner process started (Linux clock ticks since boot): tells a reused PID apart."""

    def step(self, name: str) -> StepRecord:
        """The step named ``name`` (KeyError when there is none), found through an index of ``steps``."""
        index = self.__dict__.get("_index")
        if index is None or index[0] is not self.steps or len(index[1]) != len(self.steps):
            index = (self.steps, {step.name: step for step in self.steps})
            self.__dict__["_index"] = index  # not a field: never saved, never compared
        found: StepRecord | None = index[1].get(name)
        if found is None or found.name != name:
            raise KeyError(name)
        return found

    def put_step(self, step: StepRecord) -> None:
        """Give the step of the same name ``step``'s state (a journal line's)."""
        current = self.step(step.name)
        for item in fields(StepRecord):
            setattr(current, item.name, getattr(step, item.name))

    @property
    def duration(self) -> float | None:
        return duration(self.start, self.end)

    def report(self) -> ExecutionReport:
        """This execution as the CLIs show it."""
        steps = tuple(step.report() for step in self.steps)
        return ExecutionReport(self.execution_id, self.status, self.failure_reason or "", steps)

    def to_json(self) -> dict[str, Any]:
        return dict(_encode(asdict(self)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionRecord:
        steps = [StepRecord.from_json(step) for step in data.get("steps", [])]
        return cls(**{**_decode(cls, data, ExecutionStatus), "steps": steps})

    def reopen(self) -> None:
        """Executing again in this process, for a retry: the steps that did not succeed (nor were skipped) start
        over."""
        for step in self.steps:
            if step.status not in DONE and step.status != StepStatus.SKIPPED:
                step.reset()
        self.status, self.failure_reason, self.end = ExecutionStatus.EXECUTING, None, None
        self.pid, self.runner_started = os.getpid(), process_started(os.getpid())

    def request_stop(self) -> None:
        """Stopping, as after StopPipelineExecution: no step starts, the running ones are being stopped."""
        self.status = ExecutionStatus.STOPPING

    def close(self) -> None:
        """Ended: Stopped when it was stopping, else Failed when a step failed, else Succeeded."""
        if self.status == ExecutionStatus.STOPPING:
            self.status = ExecutionStatus.STOPPED
        else:
            self.status = ExecutionStatus.FAILED if self.failure_reason is not None else ExecutionStatus.SUCCEEDED
        self.end = now()

    def interrupt(self) -> None:
        """Its runner died before it ended: Failed, and so is every step that was running; Stopped (and its running
        steps with it) when it was being stopped."""
        if self.status == ExecutionStatus.STOPPING:
            self.status = ExecutionStatus.STOPPED
            for step in self.steps:
                if step.status in (StepStatus.STARTING, StepStatus.EXECUTING, StepStatus.STOPPING):
                    step.status = StepStatus.STOPPED
            return
        reason = f"interrupted: the process running it (PID {self.pid}) ended before the execution did"
        self.status, self.failure_reason = ExecutionStatus.FAILED, reason
        for step in self.steps:
            if step.status in (StepStatus.STARTING, StepStatus.EXECUTING, StepStatus.STOPPING):
                step.status, step.failure_reason = StepStatus.FAILED, "interrupted"


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return timestamp(value) if isinstance(value, datetime) else value


def _decode(cls: type, data: dict[str, Any], status: type[StepStatus | ExecutionStatus]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    out = {key: value for key, value in data.items() if key in known}
    for key in ("start", "end"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    if "status" in out:
        out["status"] = status(out["status"])
    return out


def execution_arn(
    pipeline_name: str, execution_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """As SageMaker writes it: the region and account the execution runs in (the home's settings)."""
    return f"arn:aws:sagemaker:{region}:{account}:pipeline/{pipeline_name.lower()}/execution/{execution_id}"


def _trial_report(summary: dict[str, Any]) -> StepReport:
    """One tuning trial (a ``TrainingJobSummaries`` entry) as a step of type Training."""
    objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
    started, ended = summary.get("TrainingStartTime"), summary.get("TrainingEndTime")
    return StepReport(
        summary["TrainingJobName"],
        summary["TrainingJobStatus"],
        "Training",
        datetime.fromisoformat(started) if isinstance(started, str) else None,
        datetime.fromisoformat(ended) if isinstance(ended, str) else None,
        summary.get("FailureReason"),
        detail=f"{objective['MetricName']} {objective['Value']:.5g}" if objective else None,
    )
