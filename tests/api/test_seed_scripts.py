"""The seed's scripts, unchanged, against ``showcase api``: what runs on AWS runs here with only
``AWS_ENDPOINT_URL`` (and dummy credentials) in the environment.

``pipelines/run_pipeline.py`` without ``--local`` builds with the SDK, uploads the code through S3, upserts,
starts, polls and reports; its preprocessing job reads its input from S3 itself. Then ``deploy/build_config_file.py``
without ``--local`` picks the newest Approved package, boto3 creates the endpoint from that config, and
``predict/predict.py`` answers from it. A pipeline in the style of the Projects model-build template, whose
preprocessing script downloads its input with boto3, runs both with ``--local`` and through the API, alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.settings import load
from showcase.store import ObjectStore
from tests.api.conftest import REPO, Api, start_api, stop_api

pytestmark = pytest.mark.e2e
ROLE = "arn:aws:iam::000000000000:role/SeedScripts"
SDK_CONFIG = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
SAMPLE_DATA = "s3://sagemaker-sample-files/datasets/tabular/uci_abalone/abalone.csv"
"""The seed pipeline's default InputData, which its preprocessing job reads itself."""
TEMPLATE = "tests.parity.abalone_download.pipeline"
TEMPLATE_DATA = "s3://abalone-input/dataset/abalone-dataset.csv"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("seed-home"), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        yield running
    finally:
        stop_api(running)


@pytest.fixture(scope="module")
def env(api: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's shell pointed at the API: the project's environment active (the AWS CLI on PATH), telemetry off
    (it would reach for the network)."""
    config = tmp_path_factory.mktemp("sdk-config") / "config.yaml"
    config.write_text(SDK_CONFIG)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return api.env(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), PATH=path, PYTHONPATH=str(REPO))


def run(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(command), env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr
    return result


def run_pipeline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = str(REPO / "pipelines" / "run_pipeline.py")
    return run(env, sys.executable, script, "--quiet-definition", "--poll", "0.5", *args)


def test_run_pipeline_without_local_then_build_config_an_endpoint_and_predict(
    api: Api, env: dict[str, str], abalone_path: Path, tmp_path: Path
) -> None:
    run(env, "aws", "s3", "mb", "s3://sagemaker-sample-files")
    run(env, "aws", "s3", "cp", str(abalone_path), SAMPLE_DATA)
    run(env, "aws", "s3", "mb", "s3://seed-scripts")
    kwargs = json.dumps({"region": "us-east-1", "default_bucket": "seed-scripts"})
    result = run_pipeline(env, "-n", "showcase.pipeline", "-r", ROLE, "-k", kwargs)
    arn = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/crayonshowcasepipeline"  # the home's region, as AWS's
    assert f"pipeline {arn} published" in result.stderr and f"execution {arn}/execution/" in result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith(": Succeeded")
    for step in ("Prepare data", "Train XGBoost", "Evaluate model", "RegisterModel"):
        assert any(line.startswith(step) and "Succeeded" in line for line in result.stdout.splitlines()), step
    assert any(uri.endswith("/preprocess.py") for uri in ObjectStore(api.home / "store").list("s3://seed-scripts/"))

    sagemaker: Any = api.client("sagemaker")
    (package,) = sagemaker.list_model_packages(ModelPackageGroupName="crayonShowcasePackageGroup")[
        "ModelPackageSummaryList"
    ]
    sagemaker.update_model_package(ModelPackageArn=package["ModelPackageArn"], ModelApprovalStatus="Approved")
    config_file = tmp_path / "endpoint_config_adj.json"
    run(
        env, sys.executable, str(REPO / "deploy" / "build_config_file.py"),
        "--model-execution-role", ROLE, "--model-package-group-name", "crayonShowcasePackageGroup",
        "--import-endpoint-config", str(REPO / "deploy" / "endpoint_config.json"),
        "--template", str(REPO / "deploy" / "endpoint-cloudformation.yml"),
        "--export-endpoint-config", str(config_file),
    )  # fmt: skip
    parameters = json.loads(config_file.read_text())["Parameters"]
    assert parameters["ModelPackageName"] == package["ModelPackageArn"]

    name = parameters["EndpointName"]
    sagemaker.create_model(
        ModelName="seed-model",
        ExecutionRoleArn=parameters["ModelExecutionRoleArn"],
        Containers=[{"ModelPackageName": parameters["ModelPackageName"]}],
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="seed-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "seed-model",
                "InitialInstanceCount": int(parameters["EndpointInstanceCount"]),
                "InstanceType": parameters["EndpointInstanceType"],
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="seed-config")
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
        )
        predicted = run(env, sys.executable, str(REPO / "predict" / "predict.py"), "--endpoint-name", name)
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
    rows = (REPO / "predict" / "sample_payload.csv").read_text().strip().splitlines()
    predictions = [float(line) for line in predicted.stdout.split()]
    assert len(predictions) == len(rows) and all(1.0 < rings < 30.0 for rings in predictions)


def test_a_script_that_downloads_its_input_runs_alike_with_local_and_through_the_api(
    api: Api, env: dict[str, str], abalone_path: Path, tmp_path: Path
) -> None:
    home = tmp_path / "local-home"
    ObjectStore(load(home).store_root).put_bytes(TEMPLATE_DATA, abalone_path.read_bytes())
    local_env = {k: v for k, v in env.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    kwargs = {"input_data": TEMPLATE_DATA}
    run_pipeline({**local_env, "SHOWCASE_HOME": str(home)}, "--local", "-n", TEMPLATE, "-k", json.dumps(kwargs))
    local_store = ObjectStore(load(home).store_root)
    local_train = "s3://showcase-local/AbaloneDownload/train/train.csv"  # the local build's default bucket

    run(env, "aws", "s3", "mb", "s3://abalone-input")
    run(env, "aws", "s3", "cp", str(abalone_path), TEMPLATE_DATA)
    run(env, "aws", "s3", "mb", "s3://abalone-download")
    kwargs = {**kwargs, "region": "us-east-1", "role": ROLE, "default_bucket": "abalone-download"}
    result = run_pipeline(env, "-n", TEMPLATE, "-r", ROLE, "-k", json.dumps(kwargs))
    assert result.stdout.strip().splitlines()[-1].endswith(": Succeeded")
    api_store = ObjectStore(api.home / "store")
    assert api_store.get_bytes("s3://abalone-download/AbaloneDownload/train/train.csv") == local_store.get_bytes(
        local_train
    )
    assert any(uri.endswith("/output/model.tar.gz") for uri in api_store.list("s3://abalone-download/"))
