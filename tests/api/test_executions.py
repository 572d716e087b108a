"""Pipeline executions through boto3: started in the background, read back in SageMaker's words, stopped, retried,
and the same records the ``showcase-local`` CLI reads. Every wait is a bounded poll; nothing asserts on time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError

from showcase.local import list_executions
from showcase.processes import pid_alive
from showcase.settings import load
from tests.api.conftest import REPO, Api
from tests.api.definitions import BUCKET, ROLE, definition, gated, put_scripts, script_step

T = TypeVar("T")
FLAKY = "import pathlib, sys\nsys.exit(0 if pathlib.Path('/opt/ml/processing/input/code/ok.txt').exists() else 3)\n"


def until(read: Callable[[], T], done: Callable[[T], bool], what: str, timeout: float = 120.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def clients(api: Api) -> tuple[Any, Any]:
    put_scripts(api.client("s3"))
    return api.client("sagemaker"), api.client("s3")


def status(sagemaker: Any, arn: str) -> str:
    return str(sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"])


def finished(sagemaker: Any, arn: str) -> str:
    return until(lambda: status(sagemaker, arn), lambda s: s not in ("Executing", "Stopping"), f"execution {arn}")


def steps(sagemaker: Any, arn: str) -> dict[str, dict[str, Any]]:
    listed = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    return {step["StepName"]: step for step in listed}


def create(sagemaker: Any, name: str, document: str) -> None:
    sagemaker.create_pipeline(PipelineName=name, PipelineDefinition=document, RoleArn=ROLE)


def test_start_answers_at_once_and_the_execution_runs_in_the_background(api: Api, clients: tuple[Any, Any]) -> None:
    sagemaker, s3 = clients
    nap = script_step("Nap", "code/sleep.py", ["3"])
    write = script_step("Write", "code/write.py", ["hello", "world"], DependsOn=["Nap"])
    create(sagemaker, "Background", definition([nap, write]))
    arn = sagemaker.start_pipeline_execution(PipelineName="Background")["PipelineExecutionArn"]
    assert status(sagemaker, arn) == "Executing"
    running = until(lambda: steps(sagemaker, arn), lambda s: s.get("Nap", {}).get("StepStatus") == "Executing", "Nap")
    assert "Write" not in running  # not started yet: SageMaker does not list it
    job = running["Nap"]["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[1]
    assert sagemaker.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"] == "InProgress"
    assert finished(sagemaker, arn) == "Succeeded"
    done = steps(sagemaker, arn)
    assert [done[name]["StepStatus"] for name in ("Nap", "Write")] == ["Succeeded", "Succeeded"]
    assert list(sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"][0]) >= [
        "StepName"
    ]
    described = sagemaker.describe_processing_job(ProcessingJobName=job)
    assert described["ProcessingJobStatus"] == "Completed"
    execution_id = arn.rsplit("/", 1)[1]
    result = s3.get_object(Bucket=BUCKET, Key=f"out/{execution_id}/Write/result.txt")["Body"].read()
    assert result == b"hello world"
    listed = subprocess.run(
        [sys.executable, "-m", "showcase", "--home", str(api.home), "describe", execution_id],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert listed.returncode == 0 and "Succeeded" in listed.stdout and "Background" in listed.stdout


def test_conditions_fail_steps_parameters_and_the_definition_run(clients: tuple[Any, Any]) -> None:
    sagemaker, _ = clients
    create(sagemaker, "Gated", gated(5.0))
    low = sagemaker.start_pipeline_execution(
        PipelineName="Gated", PipelineParameters=[{"Name": "Score", "Value": "2.5"}]
    )["PipelineExecutionArn"]
    assert finished(sagemaker, low) == "Failed"
    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=low)["FailureReason"] == "score 2.5 is too low"
    listed = steps(sagemaker, low)
    assert listed["Gate"]["Metadata"] == {"Condition": {"Outcome": "False"}}
    assert listed["TooLow"]["StepStatus"] == "Failed"
    assert listed["TooLow"]["Metadata"] == {"Fail": {"ErrorMessage": "score 2.5 is too low"}}
    high = sagemaker.start_pipeline_execution(
        PipelineName="Gated", PipelineParameters=[{"Name": "Score", "Value": "9"}], PipelineExecutionDisplayName="high"
    )["PipelineExecutionArn"]
    assert finished(sagemaker, high) == "Succeeded"
    assert list(steps(sagemaker, high)) == ["Gate"]  # the Fail step on the branch not taken is not listed
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=high)["PipelineParameters"]
    assert parameters == [{"Name": "Score", "Value": "9.0"}]
    ran = sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=high)["PipelineDefinition"]
    assert json.loads(ran) == json.loads(gated(5.0))
    summaries = sagemaker.list_pipeline_executions(PipelineName="Gated")["PipelineExecutionSummaries"]
    assert [(s["PipelineExecutionArn"], s["PipelineExecutionStatus"]) for s in summaries] == [
        (high, "Succeeded"),
        (low, "Failed"),
    ]
    assert summaries[0]["PipelineExecutionDisplayName"] == "high"
    assert summaries[1]["PipelineExecutionFailureReason"] == "score 2.5 is too low"


def test_what_the_runtime_cannot_run_is_refused_before_anything_runs(api: Api, clients: tuple[Any, Any]) -> None:
    sagemaker, _ = clients
    before = len(list_executions(load(api.home)))
    missing = script_step("Lost", "code/not-uploaded.py", [])
    create(sagemaker, "Unrunnable", definition([missing]))
    with pytest.raises(ClientError) as caught:
        sagemaker.start_pipeline_execution(PipelineName="Unrunnable")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "code/not-uploaded.py" in caught.value.response["Error"]["Message"]
    create(sagemaker, "BadParameter", gated(1.0))
    with pytest.raises(ClientError) as caught:
        sagemaker.start_pipeline_execution(
            PipelineName="BadParameter", PipelineParameters=[{"Name": "Score", "Value": "x"}]
        )
    assert (
        caught.value.response["Error"]["Code"] == "ValidationException"
        and "Score" in caught.value.response["Error"]["Message"]
    )
    with pytest.raises(ClientError) as caught:
        sagemaker.start_pipeline_execution(
            PipelineName="BadParameter",
            SelectiveExecutionConfig={
                "SelectedSteps": [{"StepName": "Gate"}],
                "SourcePipelineExecutionArn": "arn:aws:sagemaker:us-east-1:000000000000:pipeline/x/execution/y",
            },
        )
    assert "SelectiveExecutionConfig" in caught.value.response["Error"]["Message"]
    assert len(list_executions(load(api.home))) == before


def test_a_cache_hit_is_succeeded_with_the_execution_it_reuses(clients: tuple[Any, Any]) -> None:
    sagemaker, _ = clients
    create(sagemaker, "Cached", definition([script_step("Write", "code/write.py", ["same"], cache=True)]))
    first = sagemaker.start_pipeline_execution(PipelineName="Cached")["PipelineExecutionArn"]
    assert finished(sagemaker, first) == "Succeeded"
    second = sagemaker.start_pipeline_execution(PipelineName="Cached")["PipelineExecutionArn"]
    assert finished(sagemaker, second) == "Succeeded"
    hit = steps(sagemaker, second)["Write"]
    assert hit["StepStatus"] == "Succeeded"
    assert hit["CacheHitResult"] == {"SourcePipelineExecutionArn": first}
    assert "CacheHitResult" not in steps(sagemaker, first)["Write"]


def test_retry_runs_the_failed_step_again_under_the_same_arn(clients: tuple[Any, Any]) -> None:
    sagemaker, s3 = clients
    s3.put_object(Bucket=BUCKET, Key="code/flaky/flaky.py", Body=FLAKY.encode())
    step = script_step("Flaky", "code/flaky/flaky.py", [])
    step["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = f"s3://{BUCKET}/code/flaky"  # the whole prefix
    create(sagemaker, "Flaky", definition([step]))
    arn = sagemaker.start_pipeline_execution(PipelineName="Flaky")["PipelineExecutionArn"]
    assert finished(sagemaker, arn) == "Failed"
    with pytest.raises(ClientError) as caught:
        sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    s3.put_object(Bucket=BUCKET, Key="code/flaky/ok.txt", Body=b"")  # what the step lacked
    assert sagemaker.retry_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionArn"] == arn
    assert finished(sagemaker, arn) == "Succeeded"
    assert steps(sagemaker, arn)["Flaky"]["AttemptCount"] == 2
    with pytest.raises(ClientError) as caught:
        sagemaker.retry_pipeline_execution(PipelineExecutionArn=arn)
    assert "only a Failed one is retried" in caught.value.response["Error"]["Message"]


def test_stop_sends_the_runner_sigterm(api: Api, clients: tuple[Any, Any]) -> None:
    """The execution's final word (Stopped, with its steps) is the runner's own handling of SIGTERM."""
    sagemaker, _ = clients
    create(sagemaker, "Stoppable", definition([script_step("Long", "code/sleep.py", ["20"])]))
    arn = sagemaker.start_pipeline_execution(PipelineName="Stoppable")["PipelineExecutionArn"]
    until(lambda: steps(sagemaker, arn), lambda s: s.get("Long", {}).get("StepStatus") == "Executing", "Long")
    record = next(r for r in list_executions(load(api.home)) if r.execution_arn == arn)
    assert sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionArn"] == arn
    until(lambda: pid_alive(record.pid, record.runner_started), lambda alive: not alive, "the runner")
    final = finished(sagemaker, arn)
    assert final != "Succeeded"
    assert steps(sagemaker, arn)["Long"]["StepStatus"] not in ("Executing", "Succeeded")


def test_executions_started_by_the_cli_are_listed_too(api: Api, clients: tuple[Any, Any], tmp_path: Any) -> None:
    sagemaker, _ = clients
    file = tmp_path / "cli.json"
    file.write_text(gated(0.0))
    started = subprocess.run(
        [sys.executable, "-m", "showcase", "--home", str(api.home), "start", "--definition", str(file),
         "--pipeline-name", "FromTheCli"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    summaries = sagemaker.list_pipeline_executions(PipelineName="FromTheCli")["PipelineExecutionSummaries"]
    assert [s["PipelineExecutionStatus"] for s in summaries] == ["Succeeded"]
    arn = summaries[0]["PipelineExecutionArn"]
    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Succeeded"
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn.replace("fromthecli", "another"))
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"


def test_parallelism_configuration_bounds_the_steps_run_at_once(clients: tuple[Any, Any]) -> None:
    """Two independent steps run side by side by default (two at once); MaxParallelExecutionSteps 1 runs them
    one after the other."""
    sagemaker, _ = clients
    pair = definition([script_step("Left", "code/sleep.py", ["1"]), script_step("Right", "code/sleep.py", ["1"])])
    sagemaker.create_pipeline(
        PipelineName="OneAtATime", PipelineDefinition=pair, RoleArn=ROLE,
        ParallelismConfiguration={"MaxParallelExecutionSteps": 1},
    )  # fmt: skip
    create(sagemaker, "SideBySide", pair)
    for name, overlapping in (("OneAtATime", False), ("SideBySide", True)):
        arn = sagemaker.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"]
        assert finished(sagemaker, arn) == "Succeeded"
        jobs = [
            sagemaker.describe_processing_job(
                ProcessingJobName=step["Metadata"]["ProcessingJob"]["Arn"].rsplit("/")[-1]
            )
            for step in steps(sagemaker, arn).values()
        ]  # each job's own start and end, taken around its process
        first, second = sorted(jobs, key=lambda job: job["ProcessingStartTime"])
        assert (second["ProcessingStartTime"] < first["ProcessingEndTime"]) is overlapping, name


def test_the_same_start_request_again_is_the_same_execution(api: Api, clients: tuple[Any, Any]) -> None:
    """botocore retries a request that timed out with the same ClientRequestToken: one execution, one answer."""
    sagemaker, _ = clients
    create(sagemaker, "Idempotent", gated(0.0))
    token = "start-once-000000000000000000000000001"
    first = sagemaker.start_pipeline_execution(PipelineName="Idempotent", ClientRequestToken=token)
    again = sagemaker.start_pipeline_execution(PipelineName="Idempotent", ClientRequestToken=token)
    assert first["PipelineExecutionArn"] == again["PipelineExecutionArn"]
    other = sagemaker.start_pipeline_execution(PipelineName="Idempotent")
    assert other["PipelineExecutionArn"] != first["PipelineExecutionArn"]
    runs = [r for r in list_executions(load(api.home)) if r.pipeline_name == "Idempotent"]
    assert len(runs) == 2
