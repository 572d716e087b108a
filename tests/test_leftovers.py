"""A runner SIGKILLed mid-job leaves scratch directories (a job's tools, its container view) and may leave a record
write cut short; the next runner on the machine sweeps them, and only those of runners that have ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from showcase.local.processes import container
from tests.reliability_support import clean_env
from tests.test_interrupt_cli import running_job, slow_definition


def test_the_scratch_of_ended_runners_is_swept_and_that_of_live_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(ended.stdout)
    names = [f"showcase-bin-{dead}-x1", f"showcase-view-{dead}-x2", f"showcase-view-probe-{dead}-x3",
             f"showcase-bin-{os.getpid()}-x4", "showcase-bin-notapid-x5", f"other-{dead}-x6"]  # fmt: skip
    for name in names:
        (tmp_path / name / "site").mkdir(parents=True)
    assert container.sweep_scratch() == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names[3:])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and process groups (POSIX)")
def test_a_runner_killed_mid_job_leaves_nothing_the_next_run_does_not_sweep(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    home = tmp_path / "home"
    env = clean_env(TMPDIR=str(scratch))
    command = [sys.executable, "-m", "showcase", "--home", str(home)]
    runner = subprocess.Popen([*command, "start", "--definition", str(slow_definition(tmp_path, "exit"))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # fmt: skip
    try:
        _, record = running_job(tmp_path)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    left = sorted(path.name for path in scratch.iterdir() if path.name.startswith("showcase-"))
    assert any(name.startswith(f"showcase-bin-{runner.pid}-") for name in left), left
    execution = home / "executions" / record.execution_id
    (execution / ".execution.json.k1ll3d.tmp").write_text('{"cut short')  # a record write the kill cut short

    (tmp_path / "done").write_text("")  # the job now ends at once
    retried = subprocess.run([*command, "retry", record.execution_id], capture_output=True, text=True, env=env,
                             timeout=120)  # fmt: skip
    assert retried.returncode == 1, retried.stderr  # it reached the definition's Fail step
    assert [path.name for path in scratch.iterdir() if path.name.startswith("showcase-")] == []
    assert list(execution.glob(".*.tmp")) == []
