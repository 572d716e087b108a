"""Execution records (``showcase.local.record``: what ran, when, with which outcome), persisted as JSON under
``executions_root/<id>/`` by ``ExecutionStore``.

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
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from showcase.errors import FileWriteError, NoSuchResource, ShowcaseError
from showcase.files import write_json_atomically
from showcase.local.record import ExecutionRecord, Outcome, StepRecord, execution_arn, new_execution_id, now
from showcase.processes import LOCKS, ProcessLock, lock_holder, pid_alive
from showcase.statuses import ExecutionStatus

RECORD_FILE = "execution.json"
JOURNAL_FILE = "journal.jsonl"
LOCK_FILE = "runner.lock"
_READ_ATTEMPTS = 5

__all__ = [
    "ExecutionRecord",
    "ExecutionStore",
    "Outcome",
    "StepRecord",
    "execution_arn",
    "new_execution_id",
    "now",
]


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
