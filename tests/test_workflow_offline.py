"""The workflow's train and deploy jobs, offline: train, deploy-staging, test-staging and deploy-prod, their
``run`` steps read from .github/workflows/train_deploy_model.yml and run unchanged in bash, with
``AWS_ENDPOINT_URL`` at ``showcase-local api`` — ``run_pipeline.py`` publishing and running the real pipeline on
the real data (its PrepareData job downloads its input from S3 itself), ``build_config_file.py``,
``aws cloudformation package`` and ``deploy`` of the shipped template (the AWS CLI v1 from PyPI), the wait,
``check_endpoint.py``, ``predict.py`` and the staging test.

The input data is put in the local S3 first at the pipeline's default InputData, as a user would ``aws s3 cp``
it. What the runner stands in for: the steps that ``uses:`` an action (the checkout is a workspace holding copies
of deploy/, predict/ and pipelines/ beside the repository's src/; setup-python is the project's venv;
configure-aws-credentials is dummy credentials in the environment), the two ``pip install`` steps (the venv holds
the versions the requirement files pin: tests/test_requirements.py), the runner machine's SageMaker SDK config
(telemetry off: it would reach for an AWS host), and the reviewer of the environment "production", who approves
(the job's ``if:`` is for a push to main).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.pipeline.shared import AWS_SAMPLE_DATA
from tests.api.conftest import Api, start_api, stop_api
from tests.conftest import REPO
from tests.workflow_runner import Workflow

pytestmark = pytest.mark.e2e

WORKFLOW = REPO / ".github" / "workflows" / "train_deploy_model.yml"
REGION = "eu-west-1"
ROLE = "arn:aws:iam::000000000000:role/showcase-local-execution"
BUCKET = "showcase-ci-bucket"
SECRETS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local-secret-not-checked",
    "SAGEMAKER_EXECUTIONROLE_ARN": ROLE,
    "SAGEMAKER_DEFAULT_S3_BUCKET": BUCKET,
}
NOT_RUN = frozenset({"Install the pipeline's requirements", "Install the deploy requirements"})
LOCAL = {"SHOWCASE_REGION": REGION, "SAGEMAKER_MODEL_SERVER_WORKERS": "1"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the checkout would hold, with its own deploy/ so that the files the jobs write land there."""
    root = tmp_path_factory.mktemp("checkout")
    for directory in ("deploy", "predict", "pipelines"):
        shutil.copytree(REPO / directory, root / directory, ignore=shutil.ignore_patterns("endpoint_config_adj.json"))
    (root / "src").symlink_to(REPO / "src")
    return root


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, workspace: Path) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("home"), env=LOCAL)
    try:
        running.client("s3").create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        yield running
    finally:
        stop_api(running)


@pytest.fixture(scope="module")
def sdk_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = tmp_path_factory.mktemp("sdk-config") / "config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    return config


def put_input_data(api: Api, env: dict[str, str], abalone_path: Path) -> None:
    """The pipeline's default InputData, put in the local S3 with the AWS CLI."""
    bucket, _, key = AWS_SAMPLE_DATA.removeprefix("s3://").partition("/")
    for command in (["mb", f"s3://{bucket}"], ["cp", str(abalone_path), f"s3://{bucket}/{key}"]):
        done = subprocess.run(["aws", "s3", *command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    return Workflow(WORKFLOW, SECRETS)


def client_env(api: Api, sdk_config: Path) -> dict[str, str]:
    return api.env(
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(sdk_config),
    )


def run(
    workflow: Workflow, job: str, workspace: Path, api: Api, sdk_config: Path
) -> list[subprocess.CompletedProcess[str]]:
    base = client_env(api, sdk_config)
    results = workflow.run_job(job, workspace, base, skip=NOT_RUN)
    for result in results:
        assert result.returncode == 0, (
            f"{job}: {result.args[-1][:200]}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return results


def stack(api: Api, name: str) -> dict[str, Any]:
    described: dict[str, Any] = api.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]  # type: ignore[attr-defined]
    return described


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (GitHub's runners have it)")
def test_train_staging_then_its_test_then_production_run_word_for_word_against_the_local_api(
    api: Api, workspace: Path, workflow: Workflow, sdk_config: Path, abalone_path: Path
) -> None:
    put_input_data(api, client_env(api, sdk_config), abalone_path)
    (trained,) = run(workflow, "train", workspace, api, sdk_config)
    assert trained.stdout.strip().splitlines()[-1].endswith(": Succeeded")
    assert "Prepare data" in trained.stdout and "pipeline arn:aws:sagemaker:" in trained.stderr

    staged = run(workflow, "deploy-staging", workspace, api, sdk_config)
    assert len(staged) == 7  # build, note, package, deploy, wait, check, predict
    package = workflow.outputs["deploy-staging"]["model-package-arn"]
    assert package.startswith(f"arn:aws:sagemaker:{REGION}:000000000000:model-package/crayonshowcasepackagegroup/")
    staging = stack(api, "crayon-showcase-endpoint-staging")
    assert staging["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in staging["Outputs"]}["ModelPackageName"] == package
    assert "Successfully created/updated stack - crayon-showcase-endpoint-staging" in staged[3].stdout
    assert staged[5].stdout.startswith("endpoint crayon-showcase-endpoint-staging is InService with endpoint config ")
    predictions = staged[6].stdout.split()
    assert len(predictions) == len((REPO / "predict" / "sample_payload.csv").read_text().split())
    assert all(1.0 < float(value) < 30.0 for value in predictions)  # ring counts

    again = run(
        workflow, "deploy-staging", workspace, api, sdk_config
    )  # nothing new: the change set is empty, the job passes
    assert "No changes to deploy. Stack crayon-showcase-endpoint-staging is up to date" in again[3].stdout
    assert stack(api, "crayon-showcase-endpoint-staging")["StackStatus"] == "CREATE_COMPLETE"

    (tested,) = run(workflow, "test-staging", workspace, api, sdk_config)
    assert tested.stdout.splitlines()[-1] == "staging test of variant AllTraffic: passed"
    assert f"({package}): " in tested.stdout and " rows in " in tested.stdout

    # While production waits for its reviewer, a newer package is approved: production still gets the tested one.
    sagemaker: Any = api.client("sagemaker")
    tested_package = sagemaker.describe_model_package(ModelPackageName=package)
    newer = sagemaker.create_model_package(
        ModelPackageGroupName=tested_package["ModelPackageGroupName"],
        InferenceSpecification=tested_package["InferenceSpecification"],
        ModelApprovalStatus="Approved",
    )["ModelPackageArn"]
    assert newer != package

    deployed = run(workflow, "deploy-prod", workspace, api, sdk_config)
    production = stack(api, "crayon-showcase-endpoint-prod")
    assert production["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in production["Outputs"]}
    assert outputs["ModelPackageName"] == package  # the package staging tested
    assert deployed[6].stdout.split() == predictions  # the same model answers the same payload alike
    endpoints = {e["EndpointName"]: e["EndpointStatus"] for e in sagemaker.list_endpoints()["Endpoints"]}
    assert endpoints == {"crayon-showcase-endpoint-staging": "InService", "crayon-showcase-endpoint-prod": "InService"}
    alarms = api.client("cloudwatch").describe_alarms()["MetricAlarms"]  # type: ignore[attr-defined]
    assert sorted(a["AlarmName"] for a in alarms) == [
        f"crayon-showcase-endpoint-{env}-{kind}"
        for env in ("prod", "staging")
        for kind in ("invocation-5xx-errors", "model-latency-p99")
    ]
