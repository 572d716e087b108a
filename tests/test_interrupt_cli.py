"""Ctrl-C and SIGTERM to a runner do what StopPipelineExecution does: SIGTERM to the running job, its grace, the
step and the execution Stopped, the runner gone with 128 + the signal, the execution's id and how to go on said,
no traceback; a second Ctrl-C kills the job at once. A Stopped execution is retried like a Failed one.

Real CLIs as subprocesses, real job processes (a processing script that sleeps until it is stopped)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from showcase.local.records import ExecutionRecord, ExecutionStore
from tests.reliability_support import clean_env
from tests.test_executors import SKLEARN_IMAGE

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and process groups (POSIX)")

JOB = """\
import os, pathlib, signal, sys, time
here = pathlib.Path(os.environ["TEST_DIR"])
(here / "job.pid").write_text(str(os.getpid()))
if (here / "done").exists():
    sys.exit(0)
def on_term(number, frame):
    (here / "got-sigterm").write_text("")
    sys.exit(143)
signal.signal(signal.SIGTERM, signal.SIG_IGN if os.environ["ON_SIGTERM"] == "ignore" else on_term)
time.sleep(600)
"""


def slow_definition(tmp_path: Path, on_sigterm: str) -> Path:
    step = {
        "Name": "Slow",
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}},
            "AppSpecification": {"ImageUri": SKLEARN_IMAGE, "ContainerEntrypoint": ["python3", "-c", JOB]},
            "Environment": {"TEST_DIR": str(tmp_path), "ON_SIGTERM": on_sigterm},
            "ProcessingInputs": [],
            "ProcessingOutputConfig": {"Outputs": []},
        },
    }
    after = {"Name": "After", "Type": "Fail", "Arguments": {"ErrorMessage": "reached"}, "DependsOn": ["Slow"]}
    path = tmp_path / "slow.json"
    path.write_text(json.dumps({"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": [step, after]}))
    return path


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds  # a bound on a wait, not a timing assertion
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture()
def runner(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "showcase.cli.local", "--home", str(tmp_path / "home"), *args]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def running_job(tmp_path: Path) -> tuple[int, ExecutionRecord]:
    """The job's PID once it runs, and its execution as a reader sees it then."""
    pid = int(wait_for(lambda: (tmp_path / "job.pid").is_file() and (tmp_path / "job.pid").read_text(), "the job"))
    records = ExecutionStore(tmp_path / "home" / "executions")
    (record,) = records.list()
    return pid, record


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_ctrl_c_stops_the_job_ends_the_execution_stopped_and_says_how_to_go_on(
    tmp_path: Path, runner: Callable[..., subprocess.Popen[str]]
) -> None:
    process = runner("start", "--definition", str(slow_definition(tmp_path, "exit")))
    job, record = running_job(tmp_path)
    assert record.status == "Executing"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)  # the job ends on SIGTERM at once: well within its grace

    assert process.returncode == 130
    assert (tmp_path / "got-sigterm").is_file()  # SIGTERM first, as StopTrainingJob: the job could save its work
    assert wait_for(lambda: gone(job), "the job's process to go", 10)
    assert "Traceback" not in stderr
    execution = record.execution_id
    assert f"execution {execution} Stopped (SIGINT)" in stderr
    assert f"`showcase describe {execution}`" in stderr and f"`showcase retry {execution}`" in stderr
    stopped = ExecutionStore(tmp_path / "home" / "executions").load(execution)
    assert stopped.status == "Stopped" and stopped.failure_reason is None
    assert stopped.step("Slow").status == "Stopped" and stopped.step("After").status == "NotStarted"

    (tmp_path / "done").write_text("")  # the job now ends at once, and After is reached
    retried = runner("retry", execution)
    out, stderr = retried.communicate(timeout=120)
    assert retried.returncode == 1, stderr  # it ran to the Fail step: a Stopped execution is retried
    assert f"execution {execution}: Failed: reached" in out
    record = ExecutionStore(tmp_path / "home" / "executions").load(execution)
    assert record.step("Slow").status == "Succeeded" and record.step("After").status == "Failed"


def test_a_second_ctrl_c_kills_a_job_that_ignores_sigterm_without_waiting_for_its_grace(
    tmp_path: Path, runner: Callable[..., subprocess.Popen[str]]
) -> None:
    process = runner("start", "--definition", str(slow_definition(tmp_path, "ignore")))
    job, record = running_job(tmp_path)
    records = ExecutionStore(tmp_path / "home" / "executions")
    process.send_signal(signal.SIGINT)
    wait_for(lambda: records.load(record.execution_id).step("Slow").status == "Stopping", "the step to be Stopping")
    assert not gone(job)  # it ignores SIGTERM: it would have its 120 s grace
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)  # far less than the 120 s grace: SIGKILL came at once

    assert process.returncode == 130
    assert wait_for(lambda: gone(job), "the job's process to go", 10)
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "SIGINT: stopping its jobs (SIGTERM; SIGKILL after their grace)" in stderr  # progress goes to stderr
    assert "SIGINT again: killing its jobs now (SIGKILL)" in stderr
    assert records.load(record.execution_id).status == "Stopped"


def test_sigterm_to_the_runner_stops_the_execution_too(
    tmp_path: Path, runner: Callable[..., subprocess.Popen[str]]
) -> None:
    process = runner("start", "--definition", str(slow_definition(tmp_path, "exit")))
    job, record = running_job(tmp_path)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert (tmp_path / "got-sigterm").is_file() and wait_for(lambda: gone(job), "the job's process to go", 10)
    assert f"execution {record.execution_id} Stopped (SIGTERM)" in stderr and "Traceback" not in stderr
    assert ExecutionStore(tmp_path / "home" / "executions").load(record.execution_id).status == "Stopped"


def test_a_retry_of_an_execution_a_runner_is_running_is_refused_in_one_line(
    tmp_path: Path, runner: Callable[..., subprocess.Popen[str]]
) -> None:
    process = runner("start", "--definition", str(slow_definition(tmp_path, "exit")))
    _, record = running_job(tmp_path)
    refused = runner("retry", record.execution_id)
    _, stderr = refused.communicate(timeout=60)
    assert refused.returncode == 1  # the command line is right; the execution's state refuses it
    assert stderr.strip() == (
        f"error: execution {record.execution_id} is running in process {process.pid}; wait for it or stop it "
        f"(kill -INT {process.pid})"
    )
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130


@pytest.mark.e2e
def test_ctrl_c_during_run_pipeline_local_stops_training_and_says_how_to_go_on(
    tmp_path: Path, abalone_path: Path
) -> None:
    """``pipelines/run_pipeline.py --local`` (the seed's script): Ctrl-C while the built-in algorithm trains."""
    home = tmp_path / "home"
    env = clean_env(SHOWCASE_INPUT_DATA=str(abalone_path))
    command = [sys.executable, str(REPO / "pipelines" / "run_pipeline.py"), "-n", "showcase.pipeline", "--local",
               "--quiet-definition", "--home", str(home), "-p", "NumRound=200000", "-p", "Eta=0.01"]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = ExecutionStore(home / "executions")

    def training() -> ExecutionRecord | None:
        found = records.list() if records.root.is_dir() else []
        log = found and found[0].step("TrainModel").log_path
        return found[0] if log and Path(log).is_file() and "]#011train-rmse:" in Path(log).read_text() else None

    try:
        record = wait_for(training, "TrainModel to train", 240)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert f"execution {record.execution_id} Stopped (SIGINT)" in stderr
    assert f"`showcase retry {record.execution_id}`" in stderr
    stopped = records.load(record.execution_id)
    assert stopped.status == "Stopped" and stopped.step("TrainModel").status == "Stopped"
    assert stopped.step("EvaluateModel").status == "NotStarted"
    log = Path(stopped.step("TrainModel").log_path or "").read_text()
    assert "stopped (SIGTERM) after" in log  # the algorithm ended its round and saved, as on StopTrainingJob
