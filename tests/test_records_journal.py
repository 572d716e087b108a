"""Execution records are written in proportion to what changes: one journal line per step change beside the
snapshot written at the start and the end; a reader replays the journal (a torn last line ignored), and a record
written before there were journals reads as it did. The engine looks again only at the dependents of a step that
ended: its work per step does not grow with the number of steps."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from showcase.local.engine import Engine
from showcase.local.jobs import JobContext
from showcase.local.records import ExecutionRecord, ExecutionStore, StepRecord
from showcase.statuses import StepStatus
from tests.local_fakes import Harness, definition, processing

GATES = 300


def gates(count: int, first: str | None = None) -> list[dict[str, Any]]:
    """A chain of ``count`` Condition steps (no job runs), each depending on the one before."""
    steps = []
    for index in range(count):
        before = f"Gate{index - 1}" if index else first
        check = {"Type": "Equals", "LeftValue": 1, "RightValue": 1}
        steps.append({"Name": f"Gate{index}", "Type": "Condition",
                      "Arguments": {"Conditions": [check], "IfSteps": [], "ElseSteps": []},
                      **({"DependsOn": [before]} if before else {})})  # fmt: skip
    return steps


def test_a_step_change_is_one_journal_line_and_the_snapshot_is_left_alone(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    seen: dict[str, Any] = {}

    def look(context: JobContext) -> dict[str, Any]:
        directory = harness.settings.executions_root / context.execution_id
        seen[context.step_name] = {
            "snapshot": os.stat(directory / "execution.json").st_ino,
            "snapshot_size": os.stat(directory / "execution.json").st_size,
            "journal_size": os.stat(directory / "journal.jsonl").st_size,
            "record": ExecutionStore(harness.settings.executions_root).load(context.execution_id),
        }
        return {"ProcessingOutputConfig": context.arguments["ProcessingOutputConfig"]}

    harness.executors["Processing"].default = look
    steps = [processing("First"), *gates(GATES, first="First"), processing("Last", DependsOn=[f"Gate{GATES - 1}"])]
    record = harness.engine.start(definition(steps), pipeline_name="P", parameters={})
    assert record.status == "Succeeded"

    first, last = seen["First"], seen["Last"]
    assert first["snapshot"] == last["snapshot"]  # not rewritten while the 300 gates ran
    changes = 3 * GATES + 2  # queued, began, ended: each gate; then Last queued and began
    per_change = (last["journal_size"] - first["journal_size"]) / changes
    assert per_change < 600 < first["snapshot_size"]  # a line per change, far smaller than the whole record
    # A reader mid-run sees every change so far.
    live = last["record"]
    assert live.status == "Executing" and live.step(f"Gate{GATES - 1}").status == "Succeeded"
    assert live.step("Last").status == "Executing"
    # The end folds the journal into the snapshot.
    directory = harness.settings.executions_root / record.execution_id
    assert not (directory / "journal.jsonl").exists()
    assert json.loads((directory / "execution.json").read_text())["status"] == "Succeeded"


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    store = ExecutionStore(tmp_path)
    record = ExecutionRecord("abcdefabcdef", "arn", "P", steps=[StepRecord("A", "Processing"), StepRecord("B", "Fail")])
    with store.hold(record.execution_id):
        store.save(record)
        record.step("A").status = StepStatus.SUCCEEDED
        store.save_change(record, record.step("A"))
        record.step("B").status = StepStatus.EXECUTING
        store.save_change(record, record.step("B"))
        journal = tmp_path / record.execution_id / "journal.jsonl"
        whole = journal.read_bytes()
        journal.write_bytes(whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 1] + whole[-40:-12])  # B's line cut short
        loaded = store.load(record.execution_id)
    assert loaded.step("A").status == "Succeeded" and loaded.step("B").status == "NotStarted"


def test_a_record_written_before_journals_and_locks_reads_as_before(tmp_path: Path) -> None:
    """``execution.json`` alone, as earlier versions wrote it: its runner told by PID and start time."""
    directory = tmp_path / "legacy000001"
    directory.mkdir()
    legacy = {
        "execution_id": "legacy000001", "execution_arn": "arn", "pipeline_name": "P", "status": "Executing",
        "start": "2026-11-20T10:00:00+00:00", "end": None, "failure_reason": None, "parameters": {"X": 1},
        "steps": [{"name": "A", "type": "Processing", "status": "Succeeded", "attempts": 1},
                  {"name": "B", "type": "Training", "status": "Executing"}],
        "pid": os.getpid(), "runner_started": ExecutionRecord("x", "a", "p").runner_started,
    }  # fmt: skip
    (directory / "execution.json").write_text(json.dumps(legacy, indent=1))
    store = ExecutionStore(tmp_path)
    alive = store.load("legacy000001")
    assert alive.status == "Executing" and alive.step("A").status == "Succeeded" and alive.parameters == {"X": 1}
    (directory / "execution.json").write_text(json.dumps({**legacy, "pid": 2**22 + 1}))
    dead = store.load("legacy000001")
    assert dead.status == "Failed" and dead.step("B").failure_reason == "interrupted"


def test_the_engine_looks_at_each_step_once_whatever_their_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked: list[str] = []
    readiness = Engine._readiness

    def counted(self: Engine, parsed: Any, record: Any, name: str) -> Any:
        looked.append(name)
        return readiness(self, parsed, record, name)

    monkeypatch.setattr(Engine, "_readiness", counted)
    record = Harness(tmp_path).engine.start(definition(gates(200)), pipeline_name="P", parameters={})
    assert record.status == "Succeeded"
    assert sorted(looked) == sorted(f"Gate{index}" for index in range(200))  # once each, not once per loop
