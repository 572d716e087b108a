"""The SageMaker SDK v2, unchanged, driving a real pipeline, the registry and an endpoint through the API
(``tests/api/sdk_v2_flow.py`` run by the SDK v2 environment's Python, with only AWS_ENDPOINT_URL pointing here).
The SDK v3 and boto3 run the same kind of flow in test_sdk."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.local import list_executions
from showcase.registry import Registry
from showcase.settings import load
from showcase.store import ObjectStore
from tests.api.conftest import REPO, Api, start_api, stop_api
from tests.sdk_v2_support import TELEMETRY_OFF, sdk_v2_python

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("sdk-v2-home"), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        yield running
    finally:
        stop_api(running)


def test_a_pipeline_registry_and_endpoint_through_the_sdk_v2(api: Api, abalone_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(TELEMETRY_OFF)  # the SDK's telemetry would reach for the network
    env = api.env(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_SUPPRESS_V2_WARNING="1", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [str(sdk_v2_python()), "-m", "tests.api.sdk_v2_flow", str(abalone_path)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["created"] == seen["updated"] and seen["created"].endswith(":pipeline/sdkv2flow")
    assert seen["description"] == "second"
    assert seen["status"] == "Succeeded"
    assert seen["steps"] == {
        "Split": ["Succeeded", ["ProcessingJob"]],
        "Fit": ["Succeeded", ["TrainingJob"]],
        "Publish-RegisterModel": ["Succeeded", ["RegisterModel"]],
    }
    assert (seen["package_status_before"], seen["package_status_after"]) == ("PendingManualApproval", "Approved")
    assert seen["endpoint_status"] == "InService"
    assert 1.0 < float(seen["prediction"]) < 30.0  # rings of an abalone
    assert seen["endpoints_after_delete"] == []
    # What the SDK v2 did is the home's: the CLI's records, the registry and the store hold it.
    records = list_executions(load(api.home))
    assert [(r.pipeline_name, r.execution_arn, r.status) for r in records] == [
        ("SdkV2Flow", seen["execution_arn"], "Succeeded")
    ]
    packages = Registry.from_settings(load(api.home)).list_model_packages(ModelPackageGroupName="sdk-v2-flow-group")
    assert [p["ModelApprovalStatus"] for p in packages["ModelPackageSummaryList"]] == ["Approved"]
    uploaded = ObjectStore(api.home / "store").list("s3://sdk-v2-flow-bucket/")
    assert any(uri.endswith("/preprocess.py") for uri in uploaded)  # the SDK v2's code upload, through S3
