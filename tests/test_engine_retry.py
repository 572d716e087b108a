"""Retry policies within a step, and retrying a Failed execution from its failed steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from showcase.errors import ShowcaseError, StepFailed
from showcase.local.jobs import JobContext
from showcase.local.retry import MAX_SLEEP_SECONDS, exception_types
from tests.local_fakes import Harness, definition, get, processing, training

SERVICE = {"ExceptionType": ["Step.SERVICE_FAULT"], "IntervalSeconds": 0.1, "BackoffRate": 2.0, "MaxAttempts": 3}


def flaky(failures: list[BaseException]) -> Any:
    def run(context: JobContext) -> dict[str, Any]:
        if failures:
            raise failures.pop(0)
        return {"ProcessingOutputConfig": context.arguments["ProcessingOutputConfig"]}

    return run


@pytest.fixture()
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def test_a_matching_policy_retries_with_backoff(harness: Harness) -> None:
    harness.executors["Processing"].behaviours["A"] = flaky([RuntimeError("x"), RuntimeError("y")])
    record = harness.engine.start(
        definition([processing("A", RetryPolicies=[SERVICE])]), pipeline_name="P", parameters={}
    )
    assert record.step("A").status == "Succeeded"
    assert record.step("A").attempts == 3
    assert harness.sleeps == [pytest.approx(0.1), pytest.approx(0.2)]
    log = Path(record.step("A").log_path or "").read_text()
    assert "attempt 2 failed" in log and "retrying in 0.2 s" in log


def test_max_attempts_bounds_the_retries(harness: Harness) -> None:
    harness.executors["Processing"].behaviours["A"] = flaky([RuntimeError(str(n)) for n in range(9)])
    policy = {**SERVICE, "MaxAttempts": 2, "IntervalSeconds": 100}
    record = harness.engine.start(
        definition([processing("A", RetryPolicies=[policy])]), pipeline_name="P", parameters={}
    )
    assert record.step("A").status == "Failed"
    assert record.step("A").attempts == 3
    assert harness.sleeps == [MAX_SLEEP_SECONDS, MAX_SLEEP_SECONDS]


def test_a_job_failure_is_not_retried(harness: Harness) -> None:
    harness.executors["Processing"].behaviours["A"] = flaky([StepFailed("ClientError: bad script")])
    policy = {**SERVICE, "ExceptionType": ["Step.SERVICE_FAULT", "SageMaker.JOB_INTERNAL_ERROR"]}
    record = harness.engine.start(
        definition([processing("A", RetryPolicies=[policy])]), pipeline_name="P", parameters={}
    )
    assert record.step("A").failure_reason == "ClientError: bad script"
    assert harness.sleeps == []


def test_a_policy_for_other_exception_types_does_not_retry(harness: Harness) -> None:
    harness.executors["Processing"].behaviours["A"] = flaky([RuntimeError("bug")])
    policy = {**SERVICE, "ExceptionType": ["SageMaker.CAPACITY_ERROR"]}
    record = harness.engine.start(
        definition([processing("A", RetryPolicies=[policy])]), pipeline_name="P", parameters={}
    )
    assert record.step("A").status == "Failed"
    assert harness.sleeps == []


def test_failure_mapping() -> None:
    declared = StepFailed("no capacity")
    declared.exception_type = "SageMaker.CAPACITY_ERROR"  # type: ignore[attr-defined]
    assert exception_types(declared) == {"SageMaker.CAPACITY_ERROR"}
    assert exception_types(StepFailed("AlgorithmError")) == frozenset()
    assert exception_types(MemoryError()) == {"SageMaker.CAPACITY_ERROR"}
    assert exception_types(OSError("disk full")) == {"SageMaker.RESOURCE_LIMIT"}
    assert exception_types(ValueError()) == {"Step.SERVICE_FAULT", "SageMaker.JOB_INTERNAL_ERROR"}


def two_steps() -> dict[str, Any]:
    train = training("Train", get("Steps.Prep.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"))
    return definition([processing("Prep"), train])


def test_retrying_an_execution_reruns_only_the_failed_steps(harness: Harness) -> None:
    def broken(context: JobContext) -> dict[str, Any]:
        raise StepFailed("AlgorithmError: out of memory")

    harness.executors["Training"].behaviours["Train"] = broken
    failed = harness.engine.start(two_steps(), pipeline_name="P", parameters={})
    assert failed.status == "Failed"
    del harness.executors["Training"].behaviours["Train"]
    retried = harness.engine.retry(failed.execution_id)
    assert retried.execution_id == failed.execution_id
    assert retried.status == "Succeeded" and retried.failure_reason is None
    assert harness.executors["Processing"].called("Prep") == 1
    assert harness.executors["Training"].called("Train") == 2
    train_input = harness.executors["Training"].calls[-1].arguments["InputDataConfig"][0]["DataSource"]
    assert train_input["S3DataSource"]["S3Uri"] == f"s3://bucket/{failed.execution_id}/Prep/out"
    assert retried.step("Train").attempts == 2
    work_dirs = [call.work_dir.name for call in harness.executors["Training"].calls]
    assert work_dirs == ["attempt-1", "attempt-2"]
    log = Path(retried.step("Train").log_path or "").read_text()
    assert log.count("--- ") == 2  # both runs in one log


def test_only_a_failed_or_stopped_execution_can_be_retried(harness: Harness) -> None:
    record = harness.engine.start(two_steps(), pipeline_name="P", parameters={})
    with pytest.raises(
        ShowcaseError, match=f"execution {record.execution_id} is Succeeded; only a Failed or Stopped execution"
    ):
        harness.engine.retry(record.execution_id)
