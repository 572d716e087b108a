"""Callback steps run locally: the message in SQS's shape on the queue the step names, the wait until its token is
completed (by `showcase callback`, with success and outputs or a failure), the outputs read by a later Lambda
step, and Ctrl-C: the "Stopping" message and the step Stopped. Real CLIs as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.callbacks import Callbacks
from showcase.cli.progress import StepDetails
from showcase.local.records import ExecutionStore
from showcase.queues import Queues
from showcase.settings import Settings
from tests.reliability_support import clean_env
from tests.test_interrupt_cli import wait_for

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "lambda"


def cli(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "showcase", "--home", str(home), *args]


def env() -> dict[str, str]:
    return clean_env(PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'src'}")


@pytest.fixture()
def started(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """``showcase run`` of the Lambda and Callback pipeline, in the background; killed if a test leaves it."""
    processes: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        code = tmp_path / "deploy.zip"
        with zipfile.ZipFile(code, "w") as archive:
            archive.write(FIXTURES / "deploy.py", "deploy.py")
        kwargs = json.dumps({"callback": True, "code_zip": str(code)})
        command = cli(tmp_path / "home", "run", "-n", "tests.lambda_pipeline", "-k", kwargs)
        process = subprocess.Popen(
            command, cwd=REPO, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def waiting_token(home: Path) -> dict[str, Any]:
    found: list[dict[str, Any]] = wait_for(lambda: Callbacks(home).waiting(), "the Callback step to wait", 120)
    return found[0]


def complete(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(home, "callback", *args), env=env(), text=True, capture_output=True, timeout=60)


def test_the_step_sends_its_message_and_waits_until_the_cli_completes_it(
    tmp_path: Path, started: Callable[[], subprocess.Popen[str]]
) -> None:
    home = tmp_path / "home"
    runner = started()
    waiting = waiting_token(home)
    token = waiting["CallbackToken"]
    (message,) = Queues(home).receive("showcase-approvals")
    body = json.loads(message["Body"])
    assert body == {
        "token": token,
        "pipelineExecutionArn": waiting["PipelineExecutionArn"],
        "arguments": {"label": "abalone-showcase-describe"},
        "status": "Executing",
    }
    listed = complete(home)
    assert token in listed.stdout and "Approve" in listed.stdout

    done = complete(home, token, "--success", "Approved=true")
    assert done.returncode == 0, done.stderr
    assert f"step Approve of execution {waiting['ExecutionId']} succeeded" in done.stdout
    _, stderr = runner.communicate(timeout=120)
    assert runner.returncode == 0, stderr
    record = ExecutionStore(home / "executions").load(waiting["ExecutionId"])
    assert record.step("Approve").properties["OutputParameters"] == {"Approved": True}
    deploy = record.step("Deploy").properties["OutputParameters"]
    assert deploy == {"Deployed": "abalone-showcase-describe@True", "Stage": "staging"}

    again = complete(home, token, "--failure", "too late")
    assert again.returncode == 1 and f"of token {token} is not waiting: it is Succeeded" in again.stderr


def test_a_callback_failed_by_hand_fails_its_step_with_that_reason(
    tmp_path: Path, started: Callable[[], subprocess.Popen[str]]
) -> None:
    home = tmp_path / "home"
    runner = started()
    waiting = waiting_token(home)
    done = complete(home, waiting["CallbackToken"], "--failure", "rejected by review", "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == {"PipelineExecutionArn": waiting["PipelineExecutionArn"]}
    runner.communicate(timeout=120)
    assert runner.returncode == 1
    (record,) = ExecutionStore(home / "executions").list()
    assert record.status == "Failed"
    assert record.step("Approve").failure_reason == "rejected by review"
    assert record.step("Deploy").status == "NotStarted"


def test_ctrl_c_sends_the_stopping_message_and_ends_the_step_stopped(
    tmp_path: Path, started: Callable[[], subprocess.Popen[str]]
) -> None:
    home = tmp_path / "home"
    runner = started()
    token = waiting_token(home)["CallbackToken"]
    runner.send_signal(signal.SIGINT)
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 130 and "Traceback" not in stderr
    bodies = [json.loads(message["Body"]) for message in Queues(home).receive("showcase-approvals", max_messages=10)]
    assert [(body["token"], body["status"]) for body in bodies] == [(token, "Executing"), (token, "Stopping")]
    (record,) = ExecutionStore(home / "executions").list()
    assert record.status == "Stopped" and record.step("Approve").status == "Stopped"
    late = complete(home, token, "--success")
    assert late.returncode == 1 and "is not waiting: it is Stopped" in late.stderr


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("abc",), 2, "is not a valid CallbackToken"),
        (("abcdefghij",), 2, "say how the step ends"),
        (("abcdefghij", "--success", "x"), 2, "expected Name=Value"),
        (("abcdefghij", "--failure", "no"), 1, "no Callback step has the token abcdefghij"),
    ],
)
def test_a_wrong_callback_command_is_one_line(tmp_path: Path, args: tuple[str, ...], code: int, says: str) -> None:
    done = complete(tmp_path / "home", *args)
    assert done.returncode == code and says in done.stderr and "Traceback" not in done.stderr


def test_a_token_whose_runner_was_killed_is_not_waiting_and_says_to_retry(
    tmp_path: Path, started: Callable[[], subprocess.Popen[str]]
) -> None:
    home = tmp_path / "home"
    runner = started()
    waiting = waiting_token(home)
    runner.kill()
    runner.communicate(timeout=60)
    assert Callbacks(home).waiting() == []
    late = complete(home, waiting["CallbackToken"], "--success")
    assert late.returncode == 1, late.stderr
    assert f"the runner of execution {waiting['ExecutionId']} is gone" in late.stderr
    assert f"showcase retry {waiting['ExecutionId']}" in late.stderr


def test_the_live_table_shows_the_command_that_completes_a_waiting_step(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", input_data=None, max_parallel_steps=1)
    waiting = {"ExecutionId": "abcdefabcdef", "StepName": "Approve", "SqsQueueUrl": "https://sqs/q"}
    Callbacks(settings.home).wait_for("TokEn12345", waiting)
    details = StepDetails(settings, None)
    shown = details("abcdefabcdef", "Approve", "Callback", "Executing")
    assert shown == "waiting: showcase callback TokEn12345 --success ..."
    assert details("abcdefabcdef", "Other", "Callback", "Executing") == ""
