"""``@step`` functions run as SageMaker runs them: a Training job whose process runs the SDK's own remote-function
entry point, which reads the pickled function from S3 (the local API) and writes its result there; every other step
type of the SDK runs or is refused, in one line that says why.

The pipelines are tests/function_step_pipeline.py's, built by the SDK v3 (``showcase run -n``) or, through the local
API, by a user's own process that publishes, starts and reads ``execution.result`` (``python -m
tests.function_step_pipeline``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from showcase.local import list_executions
from showcase.local.record import ExecutionRecord
from showcase.local.steps import STEP_TYPES, remote_function
from showcase.local.steps.training import TrainingExecutor
from showcase.registry import Registry
from showcase.settings import load
from showcase.statuses import ExecutionStatus, StepStatus
from showcase.store import ObjectStore
from tests import monitor_transform_pipeline
from tests.api.conftest import Api, start_api, stop_api
from tests.conftest import REPO
from tests.serving_support import NUM_FEATURES, XGBOOST_IMAGE, register, train_booster

MODULE = "tests.function_step_pipeline"
SDK_CONFIG = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"


def run(home: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], ExecutionRecord]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    command = [sys.executable, "-m", "showcase", "--home", str(home), "run", "-n", MODULE, *argv]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    records = list_executions(load(home))
    assert records, result.stderr[-3000:]
    return result, max(records, key=lambda record: record.start or record.execution_id)


def results_json(home: Path, record: ExecutionRecord, step: str) -> Any:
    output = record.step(step).properties["OutputDataConfig"]["S3OutputPath"]
    return json.loads(ObjectStore(home / "store").get_bytes(f"{output}/results.json"))


@pytest.mark.e2e
def test_a_functions_return_value_feeds_the_next_and_a_condition_reads_it_through_results_json(
    tmp_path: Path,
) -> None:
    """prepare -> summarize -> check-total (Std:JsonGet over summarize's results.json) -> report: each function runs
    in a job of its own, through the SDK's entry point; raising MinimumTotal above the total takes the Fail branch."""
    home = tmp_path / "home"
    result, record = run(home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert record.status == ExecutionStatus.SUCCEEDED
    statuses = {step.name: step.status for step in record.steps}
    assert statuses == {
        "prepare": StepStatus.SUCCEEDED,
        "summarize": StepStatus.SUCCEEDED,
        "check-total": StepStatus.SUCCEEDED,
        "report": StepStatus.SUCCEEDED,
        "too-small": StepStatus.SKIPPED,
    }
    assert results_json(home, record, "summarize") == {"Result": {"total": 30, "rows": 5}, "Exception": None}
    spec = record.step("report").properties["AlgorithmSpecification"]
    assert spec["ContainerEntrypoint"][-1].endswith("sagemaker_remote_function_bootstrap/job_driver.sh")
    log = Path(str(record.step("summarize").log_path)).read_text(encoding="utf-8")
    assert f"-m {remote_function.ENTRY_POINT}" in log and "Invoking the function" in log

    result, record = run(home, "-p", "MinimumTotal=31")
    assert record.status == ExecutionStatus.FAILED, result.stderr[-3000:]
    assert record.step("too-small").status == StepStatus.FAILED
    assert record.step("report").status == StepStatus.SKIPPED


@pytest.mark.e2e
def test_a_function_that_raises_fails_its_step_with_the_exception(tmp_path: Path) -> None:
    result, record = run(tmp_path / "home", "-k", '{"variant": "raises"}')
    assert result.returncode == 1
    step = record.step("validate")
    assert step.status == StepStatus.FAILED
    assert step.failure_reason == "ValueError('the data has 0 rows; at least 1 is needed')"


@pytest.mark.e2e
def test_a_functions_dependencies_are_checked_against_this_environment_not_installed(tmp_path: Path) -> None:
    """dependencies= a requirements.txt: checked, not installed; pre_execution_commands: refused, as they would
    change the environment that runs the pipeline."""
    for name, lines in (("met", ["packaging>=20"]), ("unmet", ["packaging>=20", "no-such-package-for-showcase==1.0"])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "requirements.txt").write_text("\n".join(lines) + "\n")
    kwargs = json.dumps({"variant": "dependencies", "requirements_dir": str(tmp_path)})
    result, record = run(tmp_path / "home", "-k", kwargs)
    assert result.returncode == 1
    assert record.step("met").status == StepStatus.SUCCEEDED
    unmet = record.step("unmet")
    assert unmet.status == StepStatus.FAILED
    reason = str(unmet.failure_reason)
    assert "pre_exec_script_and_dependencies/requirements.txt" in reason
    assert (
        "1 requirement(s) this environment does not meet: no-such-package-for-showcase==1.0 (not installed)" in reason
    )
    commands = record.step("commands")
    assert commands.status == StepStatus.FAILED
    assert str(commands.failure_reason).startswith(
        "ClientError: pre_execution_commands and pre_execution_script are not run locally: they would change the "
        "runtime's environment"
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("functions-home"))
    try:
        yield running
    finally:
        stop_api(running)


def through_the_api(api: Api, tmp_path: Path, variant: str) -> dict[str, Any]:
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(SDK_CONFIG)  # the SDK's telemetry would reach for the network
    env = api.env(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config))
    result = subprocess.run(
        [sys.executable, "-m", MODULE, variant], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.e2e
def test_execution_result_reads_each_functions_value_through_the_local_api(api: Api, tmp_path: Path) -> None:
    """The SDK's ``execution.result(step)``: ListPipelineExecutionSteps, DescribeTrainingJob (the job driver's
    entrypoint, the results' S3OutputPath), then payload.pkl and metadata.json from S3, unpickled in the user's
    process."""
    seen = through_the_api(api, tmp_path, "chain")
    assert seen == {
        "status": "Succeeded",
        "results": {
            "prepare": {"values": [0, 1, 4, 9, 16], "rows": 5},
            "summarize": {"total": 30, "rows": 5},
            "report": "5 rows, total 30",
        },
    }


@pytest.mark.e2e
def test_execution_result_of_a_failed_function_is_the_sdks_remote_function_error(api: Api, tmp_path: Path) -> None:
    """DescribeTrainingJob of a failed job still answers its AlgorithmSpecification and OutputDataConfig, as
    SageMaker's does, so the SDK says the step is not Completed (it failed with a KeyError before)."""
    seen = through_the_api(api, tmp_path, "raises")
    assert seen == {
        "status": "Failed",
        "results": {
            "validate": "RemoteFunctionError: Unable to retrieve step output as the step validate is not in "
            "Completed status."
        },
    }


BASE_PYTHON = "236514542706.dkr.ecr.us-east-1.amazonaws.com/sagemaker-base-python-311:1.0"


def function_step(*words: Any, image: str = BASE_PYTHON, channels: tuple[str, ...] = ()) -> dict[str, Any]:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    arguments = ["--s3_base_uri", "s3://b/p", "--client_python_version", python,
                 "--client_sagemaker_pysdk_version", "3.27.0", "--dependency_settings", '{"dependency_file": null}',
                 "--func_step_s3_dir", "2026-01-01-00-00-00-000", *words]  # fmt: skip
    return {
        "AlgorithmSpecification": {
            "TrainingImage": image,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/bash", remote_function.DRIVER],
            "ContainerArguments": arguments,
        },
        "InputDataConfig": [
            {"ChannelName": name, "DataSource": {"S3DataSource": {"S3Uri": f"s3://b/{name}", "S3DataType": "S3Prefix"}}}
            for name in (remote_function.BOOTSTRAP_CHANNEL, *channels)
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://b/p/results"},
    }


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (function_step(), None),
        (
            function_step(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own:1"),
            "not a SageMaker framework image",
        ),
        (function_step("--client_sagemaker_pysdk_version", "2.257.7"), None),
        (function_step("--client_sagemaker_pysdk_version", "2.255.0"), "an HMAC of REMOTE_FUNCTION_SECRET_KEY"),
        (function_step("--client_sagemaker_pysdk_version", "3.1.0"), "build it with sagemaker>=3.2.0"),
        (function_step("--client_sagemaker_pysdk_version", "1.72.0"), "built with the SDK v2 or v3"),
        (function_step("--client_python_version", "3.9"), "built with Python 3.9 and a local job runs with this"),
        (function_step("--dependency_settings", '{"dependency_file": "env.yml"}'), "a conda environment file"),
        (function_step("--job_conda_env", "mine"), "job_conda_env (a conda environment in the image) is not supported"),
        (function_step("--spark_config", "{}"), "spark_config (a Spark application) is not supported"),
        (function_step(channels=("2026-01-01-00-00-00-000",)), "include_local_workdir=True"),
    ],
)
def test_what_a_function_step_cannot_do_here_is_refused_before_it_runs(
    arguments: dict[str, Any], problem: str | None
) -> None:
    found = TrainingExecutor().problems(arguments)
    if problem is None:
        assert found == []
    else:
        assert any(problem in line for line in found), found


def test_a_notebook_job_is_refused_naming_the_scheduler_it_needs() -> None:
    arguments = function_step()
    arguments["AlgorithmSpecification"]["ContainerEntrypoint"] = ["amazon_sagemaker_scheduler"]
    (problem,) = TrainingExecutor().problems(arguments)
    assert problem.startswith("a NotebookJobStep runs a notebook with SageMaker's headless execution scheduler")


def sdk_step_types(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the SDK v3 makes a client when it is imported
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    return {member.value for member in StepTypeEnum}


def test_every_step_type_of_the_sdk_runs_or_is_refused_with_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ``StepTypeEnum`` value of the installed SDK has a declaration: one that runs, or a refusal that the
    definition parser reports in one line."""
    for name in sdk_step_types(monkeypatch):
        declared = STEP_TYPES.get(name)
        assert declared is not None, f"{name} has no declaration"
        assert declared.refused is None or declared.refused.startswith("it "), name


def test_the_docs_step_table_names_every_step_type_as_run_or_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "docs" / "local.md").read_text(encoding="utf-8")
    section = text[text.index("## Step types") :]
    section = section[: section.index("\n#", 4)]
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[3].strip()
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| step type")
    }
    for name in sdk_step_types(monkeypatch):
        declared = STEP_TYPES[name]
        assert rows[name].startswith("refused" if declared.refused else "runs"), name


@pytest.mark.e2e
def test_a_monitored_batch_transform_runs_as_the_transform_and_check_steps_the_sdk_writes(tmp_path: Path) -> None:
    """MonitorBatchTransformStep with a data-quality check: its QualityCheck (before the transform, against a
    baseline a step computed) and its Transform both run, in the order the SDK's DependsOn gives."""
    home = tmp_path / "home"
    arn = register(home, train_booster())
    registry = Registry(home / "registry.sqlite")
    url = registry.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0]
    registry.create_model(ModelName="batch-model", PrimaryContainer={"Image": XGBOOST_IMAGE, **url})
    rows = np.random.default_rng(5).normal(size=(50, NUM_FEATURES)).round(4)
    data = "\n".join(",".join(str(value) for value in row) for row in rows) + "\n"
    ObjectStore(home / "store").put_bytes(f"{monitor_transform_pipeline.INPUT}/rows.csv", data.encode())

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    command = [sys.executable, "-m", "showcase", "--home", str(home), "run", "-n", "tests.monitor_transform_pipeline"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (record,) = list_executions(load(home))
    types = {step.name: (step.type, step.status) for step in record.steps}
    assert types == {
        "Baseline": ("QualityCheck", StepStatus.SUCCEEDED),
        "Scored-monitoring": ("QualityCheck", StepStatus.SUCCEEDED),
        "Scored-transform": ("Transform", StepStatus.SUCCEEDED),
    }
    check, transform = record.step("Scored-monitoring"), record.step("Scored-transform")
    assert check.end is not None and transform.start is not None and check.end <= transform.start
    assert (
        check.properties["BaselineUsedForDriftCheckStatistics"]
        == (record.step("Baseline").properties["CalculatedBaselineStatistics"])
    )
    output = transform.properties["TransformOutput"]["S3OutputPath"]
    predictions = ObjectStore(home / "store").get_bytes(f"{output}/rows.csv.out").decode().split()
    assert len(predictions) == len(rows)
