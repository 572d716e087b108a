"""One runner per execution: the process running an execution holds its lock for as long as it runs it. Readers
see it Executing (never "interrupted") while it runs, a second start or retry of it is refused naming that
process, and once the process is gone, however it ended, the lock is free and the execution can be retried."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from showcase.dashboard.local_source import LocalSource
from showcase.dashboard.source import Conflict
from showcase.errors import ShowcaseError, StepFailed
from showcase.local.records import ExecutionStore
from showcase.processes import ProcessLock, lock_holder
from tests.local_fakes import Harness, definition, processing

REPO = Path(__file__).resolve().parents[1]
RETRY_SLOWLY = """
import sys, time
from pathlib import Path
from tests.local_fakes import Harness
harness = Harness(Path(sys.argv[1]))
harness.executors["Processing"].behaviours["Flaky"] = lambda context: time.sleep(120) or {}
harness.engine.retry(sys.argv[2])
"""


def test_a_retry_while_another_process_retries_it_is_refused_and_readers_see_it_running(tmp_path: Path) -> None:
    harness = Harness(tmp_path)

    def broken(context: object) -> dict[str, object]:
        raise StepFailed("AlgorithmError: out of memory")

    harness.executors["Processing"].behaviours["Flaky"] = broken
    failed = harness.engine.start(definition([processing("Flaky")]), pipeline_name="P", parameters={})
    assert failed.status == "Failed"
    del harness.executors["Processing"].behaviours["Flaky"]

    records = ExecutionStore(harness.settings.executions_root)
    first = subprocess.Popen([sys.executable, "-c", RETRY_SLOWLY, str(tmp_path), failed.execution_id], cwd=REPO)
    try:
        for _ in range(600):  # bounded: ~30 s
            if records.load(failed.execution_id).step("Flaky").status == "Executing":
                break
            assert first.poll() is None, "the first retry ended"
            time.sleep(0.05)
        else:
            pytest.fail("the first retry never started its step")
        # Readers (list, describe, the dashboard) see it running, not "Failed: interrupted".
        shown = records.load(failed.execution_id)
        assert shown.status == "Executing" and shown.failure_reason is None and shown.pid == first.pid
        assert [r.status for r in records.list()] == ["Executing"]
        with pytest.raises(ShowcaseError, match=f"execution {failed.execution_id} is running in process {first.pid}; "
                                             "wait for it or stop it"):  # fmt: skip
            harness.engine.retry(failed.execution_id)
        with pytest.raises(Conflict, match="is running"):
            LocalSource(harness.settings).retry(failed.execution_id)
        assert harness.executors["Processing"].called("Flaky") == 1  # only the first run: the refusals ran nothing
    finally:
        first.kill()
        first.wait()
    # Its process gone, the lock is free: the execution shows interrupted, and a retry runs it.
    record = records.load(failed.execution_id)
    assert record.status == "Failed" and record.failure_reason is not None
    assert record.failure_reason.startswith(f"interrupted: the process running it (PID {first.pid})")
    assert harness.engine.retry(failed.execution_id).status == "Succeeded"


def test_a_lock_is_held_until_released_and_says_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "runner.lock"
    assert lock_holder(path) is None  # no file: nobody
    held = ProcessLock.take(path)
    assert isinstance(held, ProcessLock)
    assert lock_holder(path) == os.getpid()
    assert ProcessLock.take(path) == os.getpid()  # a second take, even in this process, is refused
    held.release()
    assert lock_holder(path) is None
    again = ProcessLock.take(path)
    assert isinstance(again, ProcessLock)
    again.release()


def test_a_killed_holder_frees_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "runner.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom showcase.processes import "
         "ProcessLock\nlock = ProcessLock.take(Path(sys.argv[1]))\nprint('held', flush=True)\ntime.sleep(120)\n",
         str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert lock_holder(path) == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert lock_holder(path) is None
