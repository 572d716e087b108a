"""Stopping an execution, as StopPipelineExecution does: the running jobs are stopped, no further step starts,
the steps end Stopped and so does the execution, which can then be retried. Fake executors; the real CLI and
real jobs are in ``test_interrupt_cli.py``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import JobStopped
from showcase.local.engine import Engine
from showcase.local.jobs import JobContext, JobStop
from showcase.local.records import ExecutionStore
from tests.local_fakes import Harness, definition, get, processing, training

SERVICE = {"ExceptionType": ["Step.SERVICE_FAULT"], "IntervalSeconds": 1, "MaxAttempts": 5}


@pytest.fixture()
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path, max_parallel_steps=2)


def stoppable(started: threading.Event) -> Any:
    """A job that runs until it is stopped, as a job process stopped by SIGTERM ends: ``JobStopped``."""

    def run(context: JobContext) -> dict[str, Any]:
        started.set()
        assert context.stop is not None, "the engine gives every job a stop"
        if not context.stop.wait(30):
            raise AssertionError("never stopped")
        raise JobStopped("ProcessingJob was stopped", step_name=context.step_name)

    return run


def chain() -> dict[str, Any]:
    """Long (runs until stopped) -> Train (reads Long's output); Quick runs beside Long."""
    train = training("Train", get("Steps.Long.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"))
    return definition([processing("Long"), processing("Quick"), train])


def test_a_stop_stops_the_running_job_starts_nothing_more_and_ends_stopped(harness: Harness) -> None:
    started = threading.Event()
    harness.executors["Processing"].behaviours["Long"] = stoppable(started)
    threading.Thread(target=lambda: started.wait(30) and harness.engine.stop(), daemon=True).start()

    record = harness.engine.start(chain(), pipeline_name="P", parameters={})

    assert record.status == "Stopped" and record.failure_reason is None
    assert record.step("Long").status == "Stopped"
    assert record.step("Quick").status == "Succeeded"  # it was running beside it and ended on its own
    assert record.step("Train").status == "NotStarted"  # never started after the stop
    assert harness.executors["Training"].called("Train") == 0
    kinds = [(event.kind, event.step_name, event.status) for event in harness.events]
    assert ("execution_stopping", None, "Stopping") in kinds
    assert ("step_stopping", "Long", "Stopping") in kinds
    assert kinds[-1] == ("execution_finished", None, "Stopped")
    saved = ExecutionStore(harness.settings.executions_root).load(record.execution_id)
    assert saved.status == "Stopped" and saved.step("Long").status == "Stopped"


def test_a_stopped_execution_is_retried_from_the_steps_that_did_not_succeed(harness: Harness) -> None:
    started = threading.Event()
    harness.executors["Processing"].behaviours["Long"] = stoppable(started)
    threading.Thread(target=lambda: started.wait(30) and harness.engine.stop(), daemon=True).start()
    stopped = harness.engine.start(chain(), pipeline_name="P", parameters={})
    del harness.executors["Processing"].behaviours["Long"]

    again = Engine(harness.settings, step_types=harness.step_types, store=harness.store, registry=None)
    retried = again.retry(stopped.execution_id)

    assert retried.status == "Succeeded" and retried.execution_id == stopped.execution_id
    assert harness.executors["Processing"].called("Quick") == 1  # reused, not rerun
    assert harness.executors["Processing"].called("Long") == 2
    assert harness.executors["Training"].called("Train") == 1


def test_a_stop_during_a_retry_wait_is_not_retried(harness: Harness) -> None:
    """A step failing with a retryable error while the execution is stopped is not run again: it ends Stopped."""
    attempts: list[int] = []

    def flaky(context: JobContext) -> dict[str, Any]:
        attempts.append(1)
        harness.engine.stop()
        assert context.stop is not None and context.stop.wait(10)  # the engine passes the stop on to the job
        raise RuntimeError("service fault")

    harness.executors["Processing"].behaviours["A"] = flaky
    record = harness.engine.start(
        definition([processing("A", RetryPolicies=[SERVICE])]), pipeline_name="P", parameters={}
    )
    assert record.status == "Stopped" and record.step("A").status == "Stopped"
    assert attempts == [1]


def test_a_job_stop_within_another_is_set_and_hurried_with_it() -> None:
    step = JobStop()
    trial = JobStop(within=step)
    other = JobStop(within=step)
    other.set()  # stopped on its own (early stopping): the step is not
    assert other.is_set() and not step.is_set() and not trial.is_set()
    step.set()
    assert trial.is_set() and not trial.hurried()
    step.hurry()
    assert trial.hurried()
