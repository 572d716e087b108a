"""Execution records: what ran, when, with which outcome, persisted as JSON under ``executions_root/<id>/``.

Each execution directory holds ``execution.json`` (the whole record, written atomically when the execution
starts, is retried and ends), ``journal.jsonl`` (each change of a step since then, one line appended per change:
a run writes in proportion to what changes, not to the size of the record), ``runner.lock`` (held by the process
running the execution, for as long as it runs it), ``definition.json`` and ``parameters.json`` (what a retry runs
again) and ``steps/<step>.log``; a Tuning step's trials log to ``work/<step>/trials/<training job name>.log``
(beside the step's ``attempt-<n>`` directories).

Reading a record replays the journal over ``execution.json`` (a last line cut short by a killed runner is
ignored); the end of a run folds it back in. A record still ``Executing`` (or ``Stopping``) whose lock no process
holds is reported as its runner left it: ``Failed`` ("interrupted"), or ``Stopped``. Readers never wait for the
lock. A record written before there were locks and journals is read as it is, its runner told by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import string
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from showcase.errors import FileWriteError, NoSuchResource, ShowcaseError
from showcase.files import write_json_atomically
from showcase.processes import LOCKS, ProcessLock, lock_holder, pid_alive, process_started
from showcase.reporting import ExecutionReport, StepReport, duration
from showcase.settings import DEFAULT_ACCOUNT
from showcase.statuses import DONE, ExecutionStatus, StepStatus

ID_ALPHABET = string.ascii_lowercase + string.digits
RECORD_FILE = "execution.json"
JOURNAL_FILE = "journal.jsonl"
LOCK_FILE = "runner.lock"
_READ_ATTEMPTS = 5


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

    def lock_path(self, execution_id: str) -> Path:
        return self.directory(execution_id) / LOCK_FILE

    def hold(self, execution_id: str) -> ProcessLock:
        """The execution's lock, for this process to run it; a ShowcaseError (the state refuses it: exit 1) naming the
        process that runs it already."""
        self.directory(execution_id).mkdir(parents=True, exist_ok=True)
        taken = ProcessLock.take(self.lock_path(execution_id))
        if isinstance(taken, int):
            runner = f"process {taken}" if taken else "another process"
            stop = f" (kill -INT {taken})" if taken else ""
            raise ShowcaseError(f"execution {execution_id} is running in {runner}; wait for it or stop it{stop}")
        return taken

    def save(self, record: ExecutionRecord) -> None:
        """Write the whole record, then drop the journal it now holds (a reader never sees a change twice)."""
        self._write(record.execution_id, RECORD_FILE, record.to_json())
        (self.directory(record.execution_id) / JOURNAL_FILE).unlink(missing_ok=True)

    def save_change(self, record: ExecutionRecord, step: StepRecord | None = None) -> None:
        """Append one change to the journal: the execution's status and failure reason, and ``step``'s new state.

        One ``write`` of one line, in proportion to the step, not to the record; the caller serialises changes.
        """
        entry: dict[str, Any] = {"execution": {"status": record.status, "failure_reason": record.failure_reason}}
        if step is not None:
            entry["step"] = step.to_json()
        line = (json.dumps(entry, default=str, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.directory(record.execution_id) / JOURNAL_FILE, _APPEND, 0o644)
        try:
            while line:
                line = line[os.write(fd, line) :]
        except OSError as exc:
            message = f"cannot write the journal of execution {record.execution_id}: {exc.strerror or exc}"
            raise FileWriteError(message, path=str(self.directory(record.execution_id) / JOURNAL_FILE)) from exc
        finally:
            os.close(fd)

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

    def load(self, execution_id: str, *, holding: bool = False) -> ExecutionRecord:
        """The record as it stands; ``holding``: this process holds its lock (a retry about to run it)."""
        directory = self.directory(execution_id)
        if not (directory / RECORD_FILE).is_file():
            raise NoSuchResource(
                f"no execution {execution_id!r} under {self.root}; "
                "`showcase list` shows the executions there (use --home for another home)"
            )
        for _ in range(_READ_ATTEMPTS):
            record, snapshot = _read(directory)
            if record.status not in _RUNNING or holding:
                break
            if self._runner_alive(record, directory):
                return record
            if _inode(directory / RECORD_FILE) == snapshot:  # not ended between the read and the look at the lock
                record.interrupt()
                return record
        if record.status in _RUNNING and holding and not _other_runner_alive(record):
            record.interrupt()
        return record

    def _runner_alive(self, record: ExecutionRecord, directory: Path) -> bool:
        if LOCKS and (directory / LOCK_FILE).exists():
            return lock_holder(directory / LOCK_FILE) is not None
        return pid_alive(record.pid, record.runner_started)  # a record from before there were locks

    def list(self) -> list[ExecutionRecord]:
        """Every execution, newest first (unreadable directories are left out)."""
        records = []
        for path in self.root.glob(f"*/{RECORD_FILE}") if self.root.is_dir() else []:
            try:
                records.append(self.load(path.parent.name))
            except (OSError, ValueError, TypeError, KeyError):
                continue
        return sorted(records, key=lambda record: record.start, reverse=True)

    def sweep_temp_files(self) -> int:
        """Delete the temporary files of record writes a killed runner left behind, in executions no process runs
        (their lock taken for the moment it takes); return how many."""
        removed = 0
        for directory in {path.parent for path in self.root.glob("*/.*.tmp")} if self.root.is_dir() else ():
            if not (directory / LOCK_FILE).exists():  # a runner from before there were locks: an hour is safe
                removed += _remove(directory.glob(".*.tmp"), older_than=time.time() - 3600)
                continue
            taken = ProcessLock.take(directory / LOCK_FILE)
            if isinstance(taken, int):
                continue  # running: its writes are its own
            with taken:
                removed += _remove(directory.glob(".*.tmp"))
        return removed


_RUNNING = (ExecutionStatus.EXECUTING, ExecutionStatus.STOPPING)
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def _remove(paths: Iterable[Path], older_than: float | None = None) -> int:
    removed = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            if older_than is None or path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
    return removed


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _read(directory: Path) -> tuple[ExecutionRecord, tuple[int, int] | None]:
    """The record: its last snapshot with the journal replayed over it, read again when a new snapshot replaced the
    one read meanwhile (the journal read would then belong to it); with the snapshot's identity."""
    for _ in range(_READ_ATTEMPTS):
        with (directory / RECORD_FILE).open("rb") as handle:
            stat = os.fstat(handle.fileno())
            record = ExecutionRecord.from_json(json.loads(handle.read()))
        try:
            journal = (directory / JOURNAL_FILE).read_bytes()
        except FileNotFoundError:
            journal = b""
        if _inode(directory / RECORD_FILE) == (stat.st_dev, stat.st_ino):
            break
    _replay(record, journal)
    return record, (stat.st_dev, stat.st_ino)


def _replay(record: ExecutionRecord, journal: bytes) -> None:
    """Apply each complete journal line in order; a last line without its newline (a torn write) is ignored."""
    lines = journal.split(b"\n")
    for line in lines[:-1]:  # what follows the last newline is empty, or a line cut short
        entry = json.loads(line)
        execution = entry.get("execution") or {}
        if "status" in execution:
            record.status = ExecutionStatus(execution["status"])
        if "failure_reason" in execution:
            record.failure_reason = execution["failure_reason"]
        if "step" in entry:
            record.put_step(StepRecord.from_json(entry["step"]))


def _other_runner_alive(record: ExecutionRecord) -> bool:
    """For a process that holds the lock: whether the record's runner is another process, still alive (a runner
    from before there were locks, which never took one)."""
    return record.pid != os.getpid() and pid_alive(record.pid, record.runner_started)


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
