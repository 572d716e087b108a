"""The rollback alarms have one definition, the shipped endpoint template: the alarms a local rollout watches for a
config's parameters are those a CloudFormation stack of the template creates with the same parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from showcase.api.cloudformation.plans import make_plan, pseudo_parameters
from showcase.deployment.template_alarms import SHIPPED_TEMPLATE, template_alarms
from showcase.errors import UsageError
from showcase.serving.rollout_policy import policy_of_parameters

ENDPOINT = "prod"
REQUIRED = {
    "ModelExecutionRoleArn": "arn:aws:iam::000000000000:role/showcase",
    "ModelPackageName": "arn:aws:sagemaker:us-east-1:000000000000:model-package/abalone/1",
    "EndpointName": ENDPOINT,
    "BaselineStatisticsUri": "s3://bucket/baselines/statistics.json",
    "BaselineConstraintsUri": "s3://bucket/baselines/constraints.json",
}


def stack_alarms(parameters: dict[str, str]) -> list[dict[str, Any]]:
    """The PutMetricAlarm requests of a stack of the shipped template: the local CloudFormation's own plan, its
    alarm resources' properties resolved (an alarm refers to parameters only, so nothing is left unknown)."""
    given = [{"ParameterKey": key, "ParameterValue": value} for key, value in {**REQUIRED, **parameters}.items()]
    pseudo = pseudo_parameters("us-east-1", "000000000000", "prod-endpoint", "arn:aws:cloudformation:stack/prod")
    plan = make_plan(SHIPPED_TEMPLATE.read_text(encoding="utf-8"), given, pseudo, None)
    alarms = [
        plan.static[logical]["Properties"]
        for logical in plan.order
        if plan.resource(logical)["Type"] == "AWS::CloudWatch::Alarm"
    ]
    return sorted(alarms, key=lambda request: request["AlarmName"])


def watched(parameters: dict[str, str]) -> list[dict[str, Any]]:
    policy = policy_of_parameters(parameters, ENDPOINT, "config.json")
    assert policy is not None
    return sorted((dict(alarm.request) for alarm in policy.alarms), key=lambda request: request["AlarmName"])


def as_put(request: dict[str, Any]) -> dict[str, Any]:
    """PutMetricAlarm's Threshold is a number; a template's Number parameter resolves to its text."""
    return {**request, "Threshold": float(request["Threshold"])}


@pytest.mark.parametrize(
    ("parameters", "count"),
    [
        ({"DeploymentStrategy": "CANARY"}, 2),
        (
            {
                "DeploymentStrategy": "LINEAR",
                "Invocation5XXErrorRateThreshold": "0.05",
                "ModelLatencyP99ThresholdMicroseconds": "25000",
                "EnableMonitoring": "true",
                "DriftThreshold": "0.2",
                "EnableModelQuality": "true",
                "ModelQualityMseThreshold": "4.5",
            },
            4,
        ),
        ({"DeploymentStrategy": "ALL_AT_ONCE", "EnableMonitoring": "true", "EnableDataCapture": "false"}, 2),
    ],
    ids=["defaults", "every-alarm", "monitoring-without-capture"],
)
def test_the_alarms_a_rollout_watches_are_those_the_template_creates(parameters: dict[str, str], count: int) -> None:
    created = [as_put(request) for request in stack_alarms(parameters)]
    assert len(created) == count
    assert watched(parameters) == created


def test_an_alarm_threshold_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    template = tmp_path / "template.yml"
    template.write_text(
        """
Parameters:
  EndpointName: {Type: String}
  Limit: {Type: String, Default: lots}
Resources:
  Errors:
    Type: AWS::CloudWatch::Alarm
    Properties: {AlarmName: !Sub "${EndpointName}-5xx", Threshold: !Ref Limit}
""",
        encoding="utf-8",
    )
    with pytest.raises(
        UsageError, match=r"^config.json: alarm Errors Threshold must be a number of at least 0, got 'lots'$"
    ):
        template_alarms({}, ENDPOINT, "config.json", template)
