"""An endpoint's status between a deploy process's end and the record of it: still Updating, never InService with
the config it is about to leave (what a waiter, and CloudFormation's wait for the endpoint, would take as done)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from showcase.api import endpoint_processes as processes
from showcase.api.state import Children
from showcase.serving.deployment import EndpointPaths


def test_a_process_whose_end_is_not_yet_recorded_still_counts_as_at_work() -> None:
    children = Children()
    seen: list[bool] = []
    recorded = threading.Event()

    def on_exit(code: int) -> None:
        seen.append(children.running(process.pid))
        recorded.set()

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    children.watch(process, on_exit)
    assert recorded.wait(timeout=60)
    assert seen == [True]  # on_exit ran while the process still counted as running
    assert not children.running(process.pid)


def test_an_update_that_has_ended_but_is_not_recorded_is_still_updating(tmp_path: Path) -> None:
    endpoint = EndpointPaths(tmp_path, "ep")
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(timeout=30)
    record = {"Process": {"pid": ended.pid, "started": None, "kind": "update"}}
    assert processes.status(endpoint, record, lambda pid: pid == ended.pid) == "Updating"
    assert processes.status(endpoint, record, lambda pid: False) == "OutOfService"
