"""Execution records: what ran, when, with which outcome, persisted as JSON under ``executions_root/<id>/``.

Each execution directory holds ``execution.json`` (the record, rewritten atomically on every change),
``definition.json`` and ``parameters.json`` (what a retry runs again) and ``steps/<step>.log``; a Tuning step's
trials log to ``work/<step>/trials/<training job name>.log`` (beside the step's ``attempt-<n>`` directories).
A record still ``Executing`` whose runner process is gone is reported ``Failed`` ("interrupted").
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from showcase.errors import NoSuchResource
from showcase.files import write_json_atomically
from showcase.processes import pid_alive, process_started
from showcase.reporting import ExecutionReport, StepReport, duration
from showcase.settings import DEFAULT_ACCOUNT
from showcase.statuses import DONE, ExecutionStatus, StepStatus

ID_ALPHABET = string.ascii_lowercase + string.digits


def new_execution_id() -> str:
    """Twelve lowercase alphanumerics, like SageMaker's pipeline execution ids."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


def now() -> datetime:
    return datetime.now(timezone.utc)


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
        return next(step for step in self.steps if step.name == name)

    @property
    def duration(self) -> float | None:
        return duration(self.start, self.end)

    def report(self) -> ExecutionReport:
        """This execution as the CLIs show it."""
        steps = tuple(step.report() for step in self.steps)
        return ExecutionReport(self.execution_id, self.status, self.failure_reason or "", steps)

    def to_json(self) -> dict[str, Any]:
        return _encode(asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionRecord:
        steps = [StepRecord(**_decode(StepRecord, step, StepStatus)) for step in data.get("steps", [])]
        return cls(**{**_decode(cls, data, ExecutionStatus), "steps": steps})

    def reopen(self) -> None:
        """Executing again, for a retry: the steps that did not succeed (nor were skipped) start over."""
        for step in self.steps:
            if step.status not in DONE and step.status != StepStatus.SKIPPED:
                step.reset()
        self.status, self.failure_reason, self.end = ExecutionStatus.EXECUTING, None, None
        self.pid, self.runner_started = os.getpid(), process_started(os.getpid())

    def close(self) -> None:
        """Ended: Failed when a step failed, else Succeeded."""
        self.status = ExecutionStatus.FAILED if self.failure_reason is not None else ExecutionStatus.SUCCEEDED
        self.end = now()

    def interrupt(self) -> None:
        """Its runner died before it ended: Failed, and so is every step that was running."""
        reason = f"interrupted: the process running it (PID {self.pid}) ended before the execution did"
        self.status, self.failure_reason = ExecutionStatus.FAILED, reason
        for step in self.steps:
            if step.status in (StepStatus.STARTING, StepStatus.EXECUTING):
                step.status, step.failure_reason = StepStatus.FAILED, "interrupted"


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return value.isoformat() if isinstance(value, datetime) else value


def _decode(cls: type, data: dict[str, Any], status: type[StepStatus | ExecutionStatus]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    out = {key: value for key, value in data.items() if key in known}
    for key in ("start", "end"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    if "status" in out:
        out["status"] = status(out["status"])
    return out


def execution_arn(pipeline_name: str, execution_id: str) -> str:
    return f"arn:aws:sagemaker:local:{DEFAULT_ACCOUNT}:pipeline/{pipeline_name.lower()}/execution/{execution_id}"


class ExecutionStore:
    """The execution records under one ``executions_root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def directory(self, execution_id: str) -> Path:
        return self.root / execution_id

    def log_path(self, execution_id: str, step_name: str) -> Path:
        return self.directory(execution_id) / "steps" / f"{step_name}.log"

    def trial_logs(self, execution_id: str, step_name: str) -> list[Path]:
        """A Tuning step's trial logs (one per training job), in trial order; empty for other steps."""
        return sorted((self.directory(execution_id) / "work" / step_name / "trials").glob("*.log"))

    def save(self, record: ExecutionRecord) -> None:
        self._write(record.execution_id, "execution.json", record.to_json())

    def save_inputs(self, execution_id: str, definition: dict[str, Any], parameters: dict[str, Any]) -> None:
        self._write(execution_id, "definition.json", definition)
        self._write(execution_id, "parameters.json", parameters)

    def _write(self, execution_id: str, name: str, document: Any) -> None:
        self.directory(execution_id).mkdir(parents=True, exist_ok=True)
        write_json_atomically(self.directory(execution_id) / name, document, indent=1)

    def load_inputs(self, execution_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        directory = self.directory(execution_id)
        definition = json.loads((directory / "definition.json").read_text(encoding="utf-8"))
        return definition, json.loads((directory / "parameters.json").read_text(encoding="utf-8"))

    def load(self, execution_id: str) -> ExecutionRecord:
        path = self.directory(execution_id) / "execution.json"
        if not path.is_file():
            raise NoSuchResource(
                f"no execution {execution_id!r} under {self.root}; "
                "`showcase list` shows the executions there (use --home for another home)"
            )
        return _unless_interrupted(ExecutionRecord.from_json(json.loads(path.read_text(encoding="utf-8"))))

    def list(self) -> list[ExecutionRecord]:
        """Every execution, newest first (unreadable directories are left out)."""
        records = []
        for path in self.root.glob("*/execution.json") if self.root.is_dir() else []:
            try:
                records.append(self.load(path.parent.name))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(records, key=lambda record: record.start, reverse=True)


def _unless_interrupted(record: ExecutionRecord) -> ExecutionRecord:
    if record.status == ExecutionStatus.EXECUTING and not pid_alive(record.pid, record.runner_started):
        record.interrupt()
    return record


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
