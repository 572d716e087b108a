"""A job's process dies with the runner that started it: a SIGKILLed runner leaves no orphan behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

RUNNER = """
import sys
from pathlib import Path
from showcase.local.processes.commands import clean_environment
from showcase.local.processes.subprocesses import run_logged
with open(sys.argv[1], "w") as log:
    job = [sys.executable, "-c", "import time; time.sleep(120)"]
    run_logged(job, env=clean_environment({}), cwd=Path("."), log=log)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_runner_takes_its_job_with_it(tmp_path: Path) -> None:
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path / "job.log")], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        jobs: list[psutil.Process] = []
        while not jobs:
            assert time.monotonic() < deadline, "the runner never started its job"
            jobs = [p for p in psutil.Process(runner.pid).children() if "time.sleep(120)" in " ".join(p.cmdline())]
            time.sleep(0.05)
        (job,) = jobs
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
        _, alive = psutil.wait_procs([job], timeout=10)
        assert alive == [], "the job outlived its runner"
    finally:
        if runner.poll() is None:
            runner.kill()
