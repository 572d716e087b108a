"""Endpoint configs and endpoints through boto3, and InvokeEndpoint through sagemaker-runtime on the API's port:
the local endpoint's real servers, a swap with no failed request, and what is refused before anything starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.api.conftest import Api, start_api, stop_api
from tests.serving_support import ROW, register, serving, train_booster, write_config

WAIT = {"Delay": 1, "MaxAttempts": 120}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("endpoints-home"), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        yield running
    finally:
        stop_api(running)


@pytest.fixture(scope="module")
def models(api: Api) -> dict[str, str]:
    """Models over two Approved packages (predictions 5 apart) and one pending approval."""
    sagemaker: Any = api.client("sagemaker")
    packages = {
        "model-a": register(api.home, train_booster(0.0), group="EndpointGroup"),
        "model-b": register(api.home, train_booster(5.0), group="EndpointGroup"),
        "model-pending": register(api.home, train_booster(1.0), group="EndpointGroup", status="PendingManualApproval"),
    }
    for name, arn in packages.items():
        sagemaker.create_model(ModelName=name, PrimaryContainer={"ModelPackageName": arn})
    for name in packages:
        sagemaker.create_endpoint_config(EndpointConfigName=f"config-{name}", ProductionVariants=[variant(name)])
    return packages


def variant(model: str) -> dict[str, Any]:
    return {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}


def error(caught: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    assert isinstance(caught.value, ClientError)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def runtime(api: Api) -> Any:
    return api.client("sagemaker-runtime")


def predict(api: Api, name: str) -> float:
    answer = runtime(api).invoke_endpoint(EndpointName=name, Body=ROW, ContentType="text/csv")
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    return float(answer["Body"].read().decode())


def test_what_an_endpoint_config_refuses(api: Api, models: dict[str, str]) -> None:
    sagemaker: Any = api.client("sagemaker")
    sagemaker.create_model(ModelName="image-only", PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://b/m"})
    cases = [
        ({"ProductionVariants": [variant("model-a"), {**variant("model-b"), "VariantName": "B"}]}, "one variant"),
        ({"ProductionVariants": [variant("no-such-model")]}, "Could not find model"),
        ({"ProductionVariants": [variant("image-only")]}, "names no ModelPackageName"),
        ({"ProductionVariants": [variant("model-a")], "ShadowProductionVariants": [variant("model-b")]}, "Shadow"),
    ]
    for request, expected in cases:
        with pytest.raises(ClientError) as caught:
            sagemaker.create_endpoint_config(EndpointConfigName="refused", **request)
        assert error(caught)[0] == "ValidationException" and expected in error(caught)[1]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_endpoint_config(EndpointConfigName="config-model-a", ProductionVariants=[variant("model-a")])
    assert "already existing" in error(caught)[1]
    described = sagemaker.describe_endpoint_config(EndpointConfigName="config-model-a")
    assert described["ProductionVariants"][0]["ModelName"] == "model-a"
    listed = sagemaker.list_endpoint_configs(NameContains="config-model", SortBy="Name", SortOrder="Ascending")
    assert [c["EndpointConfigName"] for c in listed["EndpointConfigs"]] == [
        "config-model-a",
        "config-model-b",
        "config-model-pending",
    ]


def test_create_invoke_swap_with_no_failed_request_and_delete(api: Api, models: dict[str, str]) -> None:
    sagemaker: Any = api.client("sagemaker")
    sagemaker.create_endpoint(EndpointName="swap-endpoint", EndpointConfigName="config-model-a")
    assert sagemaker.describe_endpoint(EndpointName="swap-endpoint")["EndpointStatus"] in ("Creating", "InService")
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="swap-endpoint", WaiterConfig=WAIT)
    before = predict(api, "swap-endpoint")
    answers: list[float] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def invoke_all_along() -> None:
        client = api.client("sagemaker-runtime")
        while not stop.is_set():
            try:
                answer = client.invoke_endpoint(EndpointName="swap-endpoint", Body=ROW, ContentType="text/csv")
                answers.append(float(answer["Body"].read().decode()))
            except Exception as exc:  # every failure is collected and asserted on below
                failures.append(exc)

    caller = threading.Thread(target=invoke_all_along)
    caller.start()
    try:
        sagemaker.update_endpoint(EndpointName="swap-endpoint", EndpointConfigName="config-model-b")
        assert sagemaker.describe_endpoint(EndpointName="swap-endpoint")["EndpointStatus"] in ("Updating", "InService")
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="swap-endpoint", WaiterConfig=WAIT)
        described = sagemaker.describe_endpoint(EndpointName="swap-endpoint")
        after = predict(api, "swap-endpoint")
    finally:
        stop.set()
        caller.join(timeout=60)
    assert failures == []
    assert described["EndpointConfigName"] == "config-model-b" and "FailureReason" not in described
    assert after == pytest.approx(before + 5.0, abs=0.5)
    assert answers and set(answers) <= {before, after}
    listed = sagemaker.list_endpoints(NameContains="swap")["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [("swap-endpoint", "InService")]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_endpoint(EndpointName="swap-endpoint", EndpointConfigName="config-model-a")
    assert "already existing" in error(caught)[1]
    sagemaker.delete_endpoint(EndpointName="swap-endpoint")
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="swap-endpoint", WaiterConfig=WAIT)
    with pytest.raises(ClientError) as caught:
        predict(api, "swap-endpoint")
    assert error(caught) == ("ValidationError", "Endpoint swap-endpoint of account 000000000000 not found.")


def test_an_unapproved_package_fails_the_endpoint_with_the_reason(api: Api, models: dict[str, str]) -> None:
    sagemaker: Any = api.client("sagemaker")
    sagemaker.create_endpoint(EndpointName="pending-endpoint", EndpointConfigName="config-model-pending")
    with pytest.raises(WaiterError):
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="pending-endpoint", WaiterConfig=WAIT)
    described = sagemaker.describe_endpoint(EndpointName="pending-endpoint")
    assert described["EndpointStatus"] == "Failed"
    assert "PendingManualApproval, not Approved" in described["FailureReason"]
    sagemaker.delete_endpoint(EndpointName="pending-endpoint")
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_endpoint(EndpointName="pending-endpoint")
    assert error(caught)[0] == "ValidationException"


def test_what_update_and_invoke_refuse(api: Api, models: dict[str, str]) -> None:
    sagemaker: Any = api.client("sagemaker")
    with pytest.raises(ClientError) as caught:
        runtime(api).invoke_endpoint(EndpointName="never-created", Body=ROW, ContentType="text/csv")
    assert error(caught) == ("ValidationError", "Endpoint never-created of account 000000000000 not found.")
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint(EndpointName="never-created", EndpointConfigName="config-model-a")
    assert error(caught)[0] == "ValidationException" and "Could not find endpoint" in error(caught)[1]
    canary = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 60,
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
            }
        }
    }
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint(
            EndpointName="never-created", EndpointConfigName="config-model-a", DeploymentConfig=canary
        )
    assert (
        "CanarySize INSTANCE_COUNT 1 is 100% of the fleet (1 instance(s)); it must be from 0% to 50%"
        in error(caught)[1]
    )
    alarmed = {**canary, "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "some-alarm"}]}}
    alarmed["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"] = {
        "Type": "CAPACITY_PERCENT",
        "Value": 10,
    }
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint(
            EndpointName="never-created", EndpointConfigName="config-model-a", DeploymentConfig=alarmed
        )
    assert "names alarm(s) 'some-alarm' that no alarm definition gives" in error(caught)[1]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_endpoint(EndpointName="bad_name", EndpointConfigName="config-model-a")
    assert error(caught)[0] == "ValidationException"


def test_an_endpoint_served_by_the_cli_is_one_of_the_api_s(api: Api, models: dict[str, str]) -> None:
    config = write_config(api.home / "cli-config.json", models["model-a"], name="cli-endpoint")
    with serving(api.home, config, workers=1) as running:
        sagemaker: Any = api.client("sagemaker")
        described = sagemaker.describe_endpoint(EndpointName="cli-endpoint")
        assert described["EndpointStatus"] == "InService"
        assert [e["EndpointName"] for e in sagemaker.list_endpoints(NameContains="cli")["Endpoints"]] == [
            "cli-endpoint"
        ]
        direct = running.invoke(ROW)
        assert direct[0] == 200 and predict(api, "cli-endpoint") == float(direct[1])
        sagemaker.delete_endpoint(EndpointName="cli-endpoint")
        running.process.wait(timeout=60)  # the API's SIGTERM drained and stopped it
        assert running.process.returncode == 0


def test_update_endpoint_with_a_canary_deployment_config_shifts_bakes_and_reports(
    api: Api, models: dict[str, str]
) -> None:
    sagemaker: Any = api.client("sagemaker")
    sagemaker.create_endpoint(EndpointName="canary-endpoint", EndpointConfigName="config-model-a")
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="canary-endpoint", WaiterConfig=WAIT)
    before = predict(api, "canary-endpoint")
    canary = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 3,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            },
            "MaximumExecutionTimeoutInSeconds": 600,
        }
    }
    sagemaker.update_endpoint(
        EndpointName="canary-endpoint", EndpointConfigName="config-model-b", DeploymentConfig=canary
    )
    seen: list[dict[str, Any]] = []
    for _ in range(600):
        described = sagemaker.describe_endpoint(EndpointName="canary-endpoint")
        seen.append(described)
        if described["EndpointStatus"] == "InService" and described.get("EndpointConfigName") == "config-model-b":
            break
        time.sleep(0.1)
    pending = [d["PendingDeploymentSummary"] for d in seen if "PendingDeploymentSummary" in d]
    assert pending and pending[0]["EndpointConfigName"] == "config-model-b"
    assert {d["EndpointStatus"] for d in seen} <= {"Updating", "InService"} and "Updating" in {
        d["EndpointStatus"] for d in seen
    }
    assert seen[-1]["LastDeploymentConfig"] == canary
    assert predict(api, "canary-endpoint") == pytest.approx(before + 5.0, abs=0.5)
    sagemaker.delete_endpoint(EndpointName="canary-endpoint")
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="canary-endpoint", WaiterConfig=WAIT)
