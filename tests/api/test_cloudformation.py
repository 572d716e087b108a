"""CloudFormation on the local API, through boto3: change sets, stack operations and their rollbacks over the real
local endpoints, and what is refused before anything is made.

The stacks here use a small template of the project's resource types (a model, an endpoint config, an endpoint
without DeploymentConfig, an alarm): the local endpoint's update watches no alarm, so the shipped template's
canary update is refused by UpdateEndpoint itself (tests/test_workflow_offline.py runs the shipped template).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from showcase.deployment import alarms
from tests.api.conftest import Api, start_api, stop_api
from tests.serving_support import ROW, register, train_booster

SMALL = """
Parameters:
  Package: {Type: String}
  EndpointName: {Type: String}
  Threshold: {Type: Number, Default: 0.01, MinValue: 0, MaxValue: 1}
  Size: {Type: String, Default: small, AllowedValues: [small, large]}
Conditions:
  Large: !Equals [!Ref Size, large]
Rules:
  NotTooLarge:
    RuleCondition: !Equals [!Ref Size, large]
    Assertions:
      - Assert: !Not [!Equals [!Ref Threshold, "1"]]
        AssertDescription: a large endpoint needs a threshold below 1
Resources:
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: arn:aws:iam::000000000000:role/showcase
      PrimaryContainer: {ModelPackageName: !Ref Package}
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: !GetAtt Model.ModelName
          InitialInstanceCount: !If [Large, 2, 1]
          InstanceType: ml.m5.large
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: !Ref EndpointName
      EndpointConfigName: !GetAtt Config.EndpointConfigName
  Errors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub "${EndpointName}-5xx"
      Namespace: AWS/SageMaker
      MetricName: Invocation5XXErrors
      Dimensions: [{Name: EndpointName, Value: !Ref EndpointName}, {Name: VariantName, Value: AllTraffic}]
      Statistic: Average
      Period: 60
      EvaluationPeriods: 1
      Threshold: !Ref Threshold
      ComparisonOperator: GreaterThanThreshold
Outputs:
  EndpointConfigName: {Value: !GetAtt Config.EndpointConfigName}
  Alarm: {Value: !Ref Errors}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("cloudformation-home"), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        yield running
    finally:
        stop_api(running)


@pytest.fixture(scope="module")
def packages(api: Api) -> dict[str, str]:
    return {
        "a": register(api.home, train_booster(0.0), group="StackGroup"),
        "b": register(api.home, train_booster(5.0), group="StackGroup"),
        "pending": register(api.home, train_booster(1.0), group="StackGroup", status="PendingManualApproval"),
    }


def parameters(**values: str) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def change_set(api: Api, stack: str, kind: str, **values: str) -> dict[str, Any]:
    cloudformation: Any = api.client("cloudformation")
    made = cloudformation.create_change_set(
        StackName=stack, ChangeSetName=f"cs-{time.monotonic_ns()}", ChangeSetType=kind, TemplateBody=SMALL,
        Parameters=parameters(**values),
    )  # fmt: skip
    described: dict[str, Any] = cloudformation.describe_change_set(ChangeSetName=made["Id"], StackName=stack)
    return described


def execute(api: Api, described: dict[str, Any]) -> dict[str, Any]:
    """Execute the change set and wait (bounded) until the stack settles; its description."""
    cloudformation: Any = api.client("cloudformation")
    cloudformation.execute_change_set(ChangeSetName=described["ChangeSetId"], StackName=described["StackName"])
    deadline = time.monotonic() + 240
    while True:
        stack: dict[str, Any] = cloudformation.describe_stacks(StackName=described["StackName"])["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.5)


def events(api: Api, stack: str) -> list[tuple[str, str]]:
    cloudformation: Any = api.client("cloudformation")
    found = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(found)]


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def error(caught: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    assert isinstance(caught.value, ClientError)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def invoke(api: Api, name: str) -> float:
    runtime: Any = api.client("sagemaker-runtime")
    return float(runtime.invoke_endpoint(EndpointName=name, Body=ROW, ContentType="text/csv")["Body"].read())


def test_create_then_replace_the_model_in_an_update_then_delete(api: Api, packages: dict[str, str]) -> None:
    sagemaker: Any = api.client("sagemaker")
    created = change_set(api, "life", "CREATE", Package=packages["a"], EndpointName="life-ep")
    actions = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"] for c in created["Changes"]}
    assert actions == {"Model": "Add", "Config": "Add", "Endpoint": "Add", "Errors": "Add"}
    stack = execute(api, created)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert events(api, "life")[:2] == [("life", "REVIEW_IN_PROGRESS"), ("life", "CREATE_IN_PROGRESS")]
    assert events(api, "life")[-1] == ("life", "CREATE_COMPLETE")
    first_config = outputs(stack)["EndpointConfigName"]
    assert sagemaker.describe_endpoint(EndpointName="life-ep")["EndpointConfigName"] == first_config
    before = invoke(api, "life-ep")
    assert alarms.alarms(api.home)["life-ep-5xx"]["Threshold"] == 0.01

    unchanged = change_set(api, "life", "UPDATE", Package=packages["a"], EndpointName="life-ep")
    assert (unchanged["Status"], unchanged["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert unchanged["StatusReason"].startswith("The submitted information didn't contain changes.")

    update = change_set(api, "life", "UPDATE", Package=packages["b"], EndpointName="life-ep", Threshold="0.05")
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in update["Changes"]}
    assert (changes["Model"]["Action"], changes["Model"]["Replacement"]) == ("Modify", "True")
    assert (changes["Config"]["Replacement"], changes["Endpoint"]["Replacement"]) == ("True", "False")
    assert changes["Errors"]["Replacement"] == "False"
    old_model = sagemaker.describe_endpoint_config(EndpointConfigName=first_config)["ProductionVariants"][0][
        "ModelName"
    ]
    stack = execute(api, update)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert (
        sagemaker.describe_endpoint(EndpointName="life-ep")["EndpointConfigName"]
        == outputs(stack)["EndpointConfigName"]
    )
    assert invoke(api, "life-ep") == pytest.approx(before + 5.0, abs=0.5)
    assert alarms.alarms(api.home)["life-ep-5xx"]["Threshold"] == 0.05  # changed in place, same alarm
    for gone in (lambda: sagemaker.describe_endpoint_config(EndpointConfigName=first_config),
                 lambda: sagemaker.describe_model(ModelName=old_model)):  # fmt: skip
        with pytest.raises(ClientError):
            gone()  # the replaced config and model were cleaned up
    assert ("life", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") in events(api, "life")

    cloudformation: Any = api.client("cloudformation")
    stack_id = stack["StackId"]
    cloudformation.delete_stack(StackName="life")
    cloudformation.get_waiter("stack_delete_complete").wait(
        StackName=stack_id, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    with pytest.raises(ClientError) as caught:
        cloudformation.describe_stacks(StackName="life")
    assert error(caught) == ("ValidationError", "Stack with id life does not exist")
    assert cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert sagemaker.list_endpoints(NameContains="life")["Endpoints"] == []
    assert "life-ep-5xx" not in alarms.alarms(api.home)


def test_an_update_the_endpoint_does_not_take_rolls_back_and_the_old_model_keeps_serving(
    api: Api, packages: dict[str, str]
) -> None:
    stack = execute(api, change_set(api, "undo", "CREATE", Package=packages["a"], EndpointName="undo-ep"))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    served = outputs(stack)["EndpointConfigName"]
    before = invoke(api, "undo-ep")

    stack = execute(api, change_set(api, "undo", "UPDATE", Package=packages["pending"], EndpointName="undo-ep"))

    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    cloudformation: Any = api.client("cloudformation")
    failed = [e for e in cloudformation.describe_stack_events(StackName="undo")["StackEvents"]
              if e["ResourceStatus"] == "UPDATE_FAILED"]  # fmt: skip
    assert [e["LogicalResourceId"] for e in failed] == ["Endpoint"]
    assert "PendingManualApproval, not Approved" in failed[0]["ResourceStatusReason"]
    assert outputs(stack)["EndpointConfigName"] == served
    sagemaker: Any = api.client("sagemaker")
    assert sagemaker.describe_endpoint(EndpointName="undo-ep")["EndpointConfigName"] == served
    assert invoke(api, "undo-ep") == before
    configs = [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]]
    resources = cloudformation.describe_stack_resources(StackName="undo")["StackResources"]
    ours = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    assert ours["Config"] == served and [c for c in configs if c.startswith("Config-")] == [served]
    cloudformation.delete_stack(StackName="undo")


def test_a_create_that_fails_rolls_back_everything_it_made(api: Api, packages: dict[str, str]) -> None:
    stack = execute(api, change_set(api, "broken", "CREATE", Package=packages["pending"], EndpointName="broken-ep"))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"].startswith("The following resource(s) failed to create: [Endpoint].")
    sagemaker: Any = api.client("sagemaker")
    assert sagemaker.list_endpoints(NameContains="broken")["Endpoints"] == []
    cloudformation: Any = api.client("cloudformation")
    assert cloudformation.describe_stack_resources(StackName="broken")["StackResources"] == []
    assert "broken-ep-5xx" not in alarms.alarms(api.home)
    with pytest.raises(ClientError) as caught:
        change_set(api, "broken", "UPDATE", Package=packages["a"], EndpointName="broken-ep")
    assert "is in ROLLBACK_COMPLETE state and can not be updated." in error(caught)[1]
    cloudformation.delete_stack(StackName="broken")
    cloudformation.get_waiter("stack_delete_complete").wait(
        StackName="broken", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Package": "p", "EndpointName": "e", "Typo": "1"}, "Parameters: [Typo] do not exist in the template"),
        ({"Package": "p"}, "Parameters: [EndpointName] must have values"),
        ({"Package": "p", "EndpointName": "e", "Size": "huge"}, "Parameter 'Size' must be one of small, large"),
        ({"Package": "p", "EndpointName": "e", "Threshold": "2"}, "Parameter 'Threshold' must be at most 1"),
        (
            {"Package": "p", "EndpointName": "e", "Size": "large", "Threshold": "1"},
            "a large endpoint needs a threshold below 1",
        ),
    ],
)
def test_what_create_change_set_refuses_leaves_no_stack(api: Api, values: dict[str, str], message: str) -> None:
    cloudformation: Any = api.client("cloudformation")
    with pytest.raises(ClientError) as caught:
        change_set(api, "refused", "CREATE", **values)
    assert error(caught) == ("ValidationError", message)
    with pytest.raises(ClientError):
        cloudformation.describe_stacks(StackName="refused")


def test_a_resource_type_the_local_cloudformation_does_not_make_is_named(api: Api) -> None:
    cloudformation: Any = api.client("cloudformation")
    template = "Resources:\n  Bucket: {Type: AWS::S3::Bucket}\n  Topic: {Type: AWS::SNS::Topic}\n"
    with pytest.raises(ClientError) as caught:
        cloudformation.create_change_set(
            StackName="s3", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=template
        )
    code, message = error(caught)
    assert code == "ValidationError"
    assert message.startswith(
        "Template format error: the local CloudFormation does not make AWS::S3::Bucket, AWS::SNS::Topic;"
    )
    alarm = "{Type: AWS::CloudWatch::Alarm, DependsOn: %s}"
    circular = f"Resources:\n  A: {alarm % 'B'}\n  B: {alarm % 'A'}\n"
    with pytest.raises(ClientError) as caught:
        cloudformation.create_change_set(
            StackName="s3", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=circular
        )
    assert error(caught)[1].startswith("Circular dependency between resources: [")


def test_an_operation_the_api_stopped_during_is_closed_as_failed_and_the_stack_can_be_deleted(
    tmp_path: Path, packages: dict[str, str], api: Api
) -> None:
    """SIGKILL while the endpoint is still starting (a process and a server to bring up, seconds): the next API over
    the home finds the stack CREATE_IN_PROGRESS with no process running it."""
    home = tmp_path / "home"
    shutil.copytree(api.home, home, ignore=shutil.ignore_patterns("endpoints", "cloudformation", "api"))
    first = start_api(home, env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    described = change_set(first, "cut", "CREATE", Package=packages["a"], EndpointName="cut-ep")
    first.client("cloudformation").execute_change_set(ChangeSetName=described["ChangeSetId"])  # type: ignore[attr-defined]
    first.process.kill()
    first.process.wait(timeout=30)
    second = start_api(home, env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        cloudformation: Any = second.client("cloudformation")
        stack = cloudformation.describe_stacks(StackName="cut")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_FAILED"
        assert stack["StackStatusReason"].startswith("The local API stopped during this operation")
        cloudformation.delete_stack(StackName="cut")
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName="cut", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        assert second.client("sagemaker").list_endpoints(NameContains="cut")["Endpoints"] == []  # type: ignore[attr-defined]
    finally:
        stop_api(second)
