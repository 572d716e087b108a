"""The SageMaker SDK v3 and boto3, unchanged, driving a real pipeline, the registry and an endpoint through the
API (``tests/api/sdk_flow.py`` in a process of its own, with only AWS_ENDPOINT_URL pointing here).

The SDK v2 needs an environment of its own (it cannot share one with v3): its run of the same kind of flow is
test_sdk_v2's."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.local import list_executions
from showcase.registry import Registry
from showcase.settings import load
from showcase.store import ObjectStore
from tests.api.conftest import REPO, Api, start_api, stop_api

pytestmark = pytest.mark.e2e
SDK_CONFIG = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("sdk-home"), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        yield running
    finally:
        stop_api(running)


def test_a_pipeline_registry_and_endpoint_through_the_sdk(api: Api, abalone_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(SDK_CONFIG)  # the SDK's telemetry would reach for the network
    env = api.env(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_VALIDATE_ROLE="true")
    result = subprocess.run(
        [sys.executable, "-m", "tests.api.sdk_flow", str(abalone_path)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["created"].endswith(":pipeline/sdkflow")
    assert (seen["updated_version"], seen["description"]) == (2, "second")
    assert seen["status"] == "Succeeded"
    assert seen["steps"] == {
        "Split": ["Succeeded", ["ProcessingJob"]],
        "Fit": ["Succeeded", ["TrainingJob"]],
        "Publish": ["Succeeded", ["RegisterModel"]],
    }
    assert seen["training_status"] == "Completed"
    assert ObjectStore(api.home / "store").exists(seen["model_artifacts"])
    assert (seen["package_status_before"], seen["package_status_after"]) == ("PendingManualApproval", "Approved")
    assert 1.0 < float(seen["prediction"]) < 30.0 and seen["variant"] == "AllTraffic"  # rings of an abalone
    assert (seen["config_after_update"], seen["status_after_update"]) == ("sdk-flow-config-b", "InService")
    # What the SDK did is the home's: the CLI's records, the registry and the store hold it.
    records = list_executions(load(api.home))
    assert [(r.pipeline_name, r.execution_arn, r.status) for r in records] == [
        ("SdkFlow", seen["execution_arn"], "Succeeded")
    ]
    packages = Registry.from_settings(load(api.home)).list_model_packages(ModelPackageGroupName="sdk-flow-group")
    assert [p["ModelApprovalStatus"] for p in packages["ModelPackageSummaryList"]] == ["Approved"]
    uploaded = ObjectStore(api.home / "store").list("s3://sdk-flow-bucket/")
    assert any(uri.endswith("/preprocess.py") for uri in uploaded)  # the SDK's code upload, through S3
    assert not (api.home / "endpoints" / "sdk-flow-endpoint" / "server.json").exists()  # deleted: its server is gone
