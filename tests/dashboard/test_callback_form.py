"""A waiting Callback step's page has a form that completes it: Complete with its declared outputs, or Fail with a
reason. Clicked in Debian's headless Chromium (Playwright) against a real dashboard server over a home where an
execution waits on its token."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from showcase.callbacks import Callbacks
from showcase.dashboard import create_app
from showcase.dashboard.app import HTTP_LIMITS
from showcase.dashboard.local_source import LocalSource
from showcase.local import ExecutionRecord, run_definition
from showcase.serving.bounds import uvicorn_config
from showcase.settings import Settings
from tests.dashboard.test_browser import browser, page, shoot  # noqa: F401  (fixtures)
from tests.test_interrupt_cli import wait_for

DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [],
    "Steps": [
        {
            "Name": "Review",
            "Type": "Callback",
            "Arguments": {"model": "abalone"},
            "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/reviews",
            "OutputParameters": [{"OutputName": "Score", "OutputType": "Float"}],
        },
        {
            "Name": "Good",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "GreaterThanOrEqualTo",
                        "LeftValue": {"Get": "Steps.Review.OutputParameters['Score']"},
                        "RightValue": 0.5,
                    }
                ],
                "IfSteps": [],
                "ElseSteps": [{"Name": "Bad", "Type": "Fail", "Arguments": {"ErrorMessage": "low score"}}],
            },
        },
    ],
}


@pytest.fixture()
def home(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", input_data=None, max_parallel_steps=2)


@pytest.fixture()
def base_url(home: Settings) -> Iterator[str]:
    server = uvicorn.Server(uvicorn_config(create_app(LocalSource(home)), HTTP_LIMITS, host="127.0.0.1", port=0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the dashboard server", 10)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


def running(home: Settings) -> Callable[[], ExecutionRecord]:
    """Run the definition in a thread; its record, once it ends."""
    ended: list[ExecutionRecord] = []
    thread = threading.Thread(
        target=lambda: ended.append(run_definition(DEFINITION, pipeline_name="Reviewed", settings=home)), daemon=True
    )
    thread.start()

    def record() -> ExecutionRecord:
        thread.join(timeout=60)
        return ended[0]

    return record


def test_complete_a_waiting_callback_with_its_outputs_by_clicking(page: Any, base_url: str, home: Settings) -> None:  # noqa: F811
    record = running(home)
    waiting = wait_for(lambda: Callbacks(home.home).waiting(), "the Callback step to wait")[0]
    page.goto(f"{base_url}/executions/{waiting['ExecutionId']}/steps/Review")
    assert page.locator("#callback-token").inner_text() == waiting["CallbackToken"]
    shoot(page, "callback-waiting")
    page.fill("input[name='output:Score']", "0.75")
    page.click("#callback-success")
    page.wait_for_url(f"**/executions/{waiting['ExecutionId']}/steps/Review")
    finished = record()
    assert finished.status == "Succeeded"
    assert finished.step("Review").properties["OutputParameters"] == {"Score": 0.75}
    assert finished.step("Good").properties["Outcome"] is True


def test_fail_a_waiting_callback_with_a_reason_by_clicking(page: Any, base_url: str, home: Settings) -> None:  # noqa: F811
    record = running(home)
    waiting = wait_for(lambda: Callbacks(home.home).waiting(), "the Callback step to wait")[0]
    page.goto(f"{base_url}/executions/{waiting['ExecutionId']}/steps/Review")
    page.fill("#callback-reason", "the reviewer found a leak")
    page.click("#callback-failure")
    page.wait_for_url(f"**/executions/{waiting['ExecutionId']}/steps/Review")
    finished = record()
    assert finished.status == "Failed"
    assert finished.step("Review").failure_reason == "the reviewer found a leak"
    page.goto(f"{base_url}/executions/{waiting['ExecutionId']}/steps/Review")
    assert page.locator("#callback").count() == 0
