"""run_pipeline.py against SageMaker's API, served by a moto server on a loopback port.

What moto does not do, and so what these tests cannot show: moto runs no pipeline execution
(StartPipelineExecution records it and DescribePipelineExecution reports it Succeeded at once;
no step runs), and ListPipelineExecutionSteps is not implemented (it answers HTTP 500), so the
step table stays empty here; the local runtime's tests cover step reporting.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import REGION, ROLE_ARN

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "pipelines" / "run_pipeline.py"
BUCKET = "showcase-artifacts"


def run(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def publish_args(**extra: Any) -> list[str]:
    kwargs = {"region": REGION, "role": ROLE_ARN, "default_bucket": BUCKET, **extra}
    return ["-n", "showcase.pipeline", "-r", ROLE_ARN, "-k", json.dumps(kwargs), "--poll", "0.1"]


@pytest.fixture()
def sagemaker(aws_env: dict[str, str]) -> Any:
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return boto3.client("sagemaker", region_name=REGION)


def test_publish_start_and_report(aws_env: dict[str, str], sagemaker: Any) -> None:
    result = run(
        aws_env,
        *publish_args(),
        "-d",
        "first",
        "-t",
        '[{"Key": "createdBy", "Value": "tests"}]',
        "-p",
        "MseThreshold=5.5",
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout[: result.stdout.rindex("}") + 1])

    described = sagemaker.describe_pipeline(PipelineName="crayonShowcasePipeline")
    assert json.loads(described["PipelineDefinition"]) == printed
    assert described["RoleArn"] == ROLE_ARN
    assert described["PipelineDescription"] == "first"
    tags = sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {"Key": "createdBy", "Value": "tests"} in tags

    executions = sagemaker.list_pipeline_executions(PipelineName="crayonShowcasePipeline")["PipelineExecutionSummaries"]
    assert len(executions) == 1
    arn = executions[0]["PipelineExecutionArn"]
    assert f"execution {arn}: Succeeded" in result.stdout
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert parameters == [{"Name": "MseThreshold", "Value": "5.5"}]

    # The code the definition points at was uploaded where it says, byte for byte.
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["evaluate.py", "preprocess.py"]
    for key in keys:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert body == (REPO / "src" / "showcase" / key.rsplit("/", 1)[1]).read_bytes()
        assert f"s3://{BUCKET}/{key}" in json.dumps(printed)


def test_second_run_updates_the_pipeline(aws_env: dict[str, str], sagemaker: Any) -> None:
    assert run(aws_env, *publish_args(), "-d", "first", "--quiet-definition").returncode == 0
    second = run(aws_env, *publish_args(), "-d", "second", "--quiet-definition", "-t", '[{"Key": "run", "Value": "2"}]')
    assert second.returncode == 0, second.stderr
    described = sagemaker.describe_pipeline(PipelineName="crayonShowcasePipeline")
    assert described["PipelineDescription"] == "second"
    assert {"Key": "run", "Value": "2"} in sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    executions = sagemaker.list_pipeline_executions(PipelineName="crayonShowcasePipeline")
    assert len(executions["PipelineExecutionSummaries"]) == 2


def test_runs_from_the_pipelines_folder_too(aws_env: dict[str, str], sagemaker: Any) -> None:
    result = run(
        aws_env, *publish_args(pipeline_name="from-pipelines-dir"), "--quiet-definition", cwd=REPO / "pipelines"
    )
    assert result.returncode == 0, result.stderr
    assert sagemaker.describe_pipeline(PipelineName="from-pipelines-dir")["PipelineName"] == "from-pipelines-dir"


def test_no_wait_returns_after_starting(aws_env: dict[str, str], sagemaker: Any) -> None:
    result = run(aws_env, *publish_args(), "--quiet-definition", "--no-wait")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stderr and "execution " not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "showcase.pipeline", "-k", "{}"], "-r/--role-arn is required"),
        (["-n", "no.such.module", "-r", ROLE_ARN], "-n/--module-name 'no.such.module': cannot import it"),
        (
            ["-n", "showcase.pipeline", "-r", ROLE_ARN, "-k", "{not json"],
            "argument -k/--kwargs: expected a JSON object",
        ),
        (["-n", "showcase.pipeline", "-r", ROLE_ARN, "-k", "[]"], "expected a JSON object, got list"),
        (["-n", "showcase.pipeline", "-r", ROLE_ARN, "-t", '{"Key": "a"}'], "argument -t/--tags: expected a JSON list"),
        (
            ["-n", "showcase.pipeline", "-r", ROLE_ARN, "-k", '{"region": "eu-west-1", "colour": 1}'],
            "accepts no 'colour'",
        ),
        (["-n", "showcase.pipeline", "-r", ROLE_ARN, "-k", "{}"], "needs 'region'"),
        (["-n", "showcase.pipeline", "-r", ROLE_ARN, "-p", "NoEquals"], "expected Name=Value"),
        ([*publish_args()[:6], "-p", "Colour=red"], "declares no parameter 'Colour'"),
        ([*publish_args()[:6], "-p", "SplitSeed=abc"], "parameter 'SplitSeed' is Integer (e.g. 42), got 'abc'"),
        (["-n", "showcase.pipeline", "-r", ROLE_ARN, "--timeout", "soon"], "argument --timeout: invalid float value"),
    ],
)
def test_bad_input_is_one_line(aws_env: dict[str, str], args: list[str], message: str) -> None:
    result = run(aws_env, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_aws_error_is_reported_in_one_line(aws_env: dict[str, str]) -> None:
    """No bucket: the code upload fails; the message names the object and AWS's error code."""
    result = run(aws_env, *publish_args(default_bucket="no-such-bucket"), "--quiet-definition")
    assert result.returncode == 1
    assert "uploading pipeline code to s3://no-such-bucket/" in result.stderr
    assert "NoSuchBucket" in result.stderr
    assert "Traceback" not in result.stderr
