"""Execution records tell a dead runner apart, even when its PID has been given to another process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from showcase.local.records import ExecutionRecord, ExecutionStore
from showcase.processes import process_started


def executing(tmp_path: Path, **fields: object) -> ExecutionRecord:
    store = ExecutionStore(tmp_path)
    record = ExecutionRecord(execution_id="abc123", execution_arn="arn", pipeline_name="p", **fields)  # type: ignore[arg-type]
    store.save(record)
    return store.load("abc123")


def test_a_live_runner_keeps_its_execution_executing(tmp_path: Path) -> None:
    assert executing(tmp_path).status == "Executing"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process start times come from Linux's /proc")
def test_a_reused_pid_does_not_keep_a_dead_execution_alive(tmp_path: Path) -> None:
    started = process_started(os.getpid())
    assert started is not None
    record = executing(tmp_path, pid=os.getpid(), runner_started=started - 1)
    assert record.status == "Failed"
    assert record.failure_reason is not None and "interrupted" in record.failure_reason
