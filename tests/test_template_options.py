"""The endpoint template with each of its options: cfn-lint clean with the option's parameters, every resource's
properties (resolved as CloudFormation would) accepted by the input shape of the API operation that makes it,
and what each option puts in the endpoint config, the endpoint's DeploymentConfig and the alarms.

cfn-lint runs in process (``cfnlint.api.lint``) with the option's parameter values, so it resolves ``Ref``s and
conditions for that option; it does not evaluate the template's Rules, which ``intrinsics.check_rules`` does here.
"""

from __future__ import annotations

import json
from importlib import resources as package_files
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from showcase.api.cloudformation.providers import ResourceFailed, shaped
from showcase.api.cloudformation.resources import TYPES
from showcase.errors import UsageError
from tests.conftest import ACCOUNT, REGION
from tests.template_support import OPTIONS, PACKAGE, REQUIRED, TEMPLATE, resolved


def lint_with(parameters: dict[str, str]) -> list[str]:
    config = ManualArgs(regions=[REGION], parameters=[{**REQUIRED, **parameters}])
    return [str(match) for match in lint(TEMPLATE.read_text(), config=config)]


@pytest.mark.parametrize("option", OPTIONS)
def test_cfn_lint_is_clean_with_each_option(option: str) -> None:
    assert lint_with(OPTIONS[option]) == []


def test_cfn_lint_reports_a_value_the_template_refuses() -> None:
    problems = lint_with({"DeploymentStrategy": "BLUE_GREEN"})
    assert any("E2900" in problem and "BLUE_GREEN" in problem for problem in problems), problems


@pytest.mark.parametrize("option", OPTIONS)
def test_every_resource_fits_the_input_shape_of_the_operation_that_makes_it(option: str) -> None:
    made = resolved(OPTIONS[option])
    for logical, resource in made.items():
        kind = TYPES[resource["Type"]]
        properties = {kind.name_property: f"{logical}-AbCdEf123456", **resource["Properties"]}
        shaped(kind, kind.create, properties, logical)  # ResourceFailed names a property the operation refuses
        if kind.type_name == "AWS::SageMaker::Endpoint":
            shaped(kind, "UpdateEndpoint", properties, logical)


def test_the_shape_check_names_a_property_the_operation_refuses() -> None:
    config = resolved({})["EndpointConfig"]["Properties"]
    config["ProductionVariants"][0]["InstanceTypo"] = "ml.m5.large"
    with pytest.raises(ResourceFailed, match="EndpointConfig.*InstanceTypo"):
        shaped(TYPES["AWS::SageMaker::EndpointConfig"], "CreateEndpointConfig", config, "EndpointConfig")


def routing(parameters: dict[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = resolved(parameters)["Endpoint"]["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    return policy


def test_canary_by_default_a_tenth_then_the_rest_after_five_minutes() -> None:
    policy = routing({})
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "WaitIntervalInSeconds": "300",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": "10"},
    }
    assert (policy["TerminationWaitInSeconds"], policy["MaximumExecutionTimeoutInSeconds"]) == ("0", "3600")


def test_linear_and_all_at_once_are_chosen_by_a_parameter() -> None:
    assert routing(OPTIONS["linear"])["TrafficRoutingConfiguration"] == {
        "Type": "LINEAR",
        "WaitIntervalInSeconds": "120",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": "25"},
    }
    assert routing(OPTIONS["all-at-once"])["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": "300",
    }


def rollback_alarms(parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The alarms the endpoint's AutoRollbackConfiguration names, by name, with their resolved properties."""
    made = resolved(parameters)
    named = made["Endpoint"]["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    alarms = {r["Properties"]["AlarmName"]: r["Properties"] for r in made.values() if r["Type"].endswith("Alarm")}
    assert sorted(alarm["AlarmName"] for alarm in named) == sorted(alarms), "every alarm rolls back, no other"
    return alarms


def test_the_5xx_and_latency_alarms_watch_the_variant_in_sagemaker_s_metric_names() -> None:
    alarms = rollback_alarms({})
    endpoint = REQUIRED["EndpointName"]
    errors, latency = alarms[f"{endpoint}-invocation-5xx-errors"], alarms[f"{endpoint}-model-latency-p99"]
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]
    assert {k: errors[k] for k in ("Namespace", "MetricName", "Statistic", "Period", "Threshold", "Dimensions")} == {
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Statistic": "Average",
        "Period": 60,
        "Threshold": "0.01",
        "Dimensions": dimensions,
    }
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == (
        "ModelLatency",
        "p99",
        "100000",
    )
    assert latency["Dimensions"] == dimensions
    assert {errors["TreatMissingData"], latency["TreatMissingData"]} == {"notBreaching"}


def test_monitoring_adds_the_drift_alarm_over_its_schedule() -> None:
    made = resolved(OPTIONS["monitoring"])
    schedule = made["MonitoringSchedule"]["Properties"]["MonitoringScheduleName"]
    drift = rollback_alarms(OPTIONS["monitoring"])[f"{REQUIRED['EndpointName']}-data-quality-drift"]
    expression, *metrics = drift["Metrics"]
    assert (expression["Expression"], expression["ReturnData"]) == ("MAX(METRICS())", True)
    assert [m["MetricStat"]["Metric"]["MetricName"] for m in metrics] == [
        f"feature_baseline_drift__c{i}" for i in range(7)
    ]
    for metric in metrics:
        assert metric["MetricStat"]["Metric"]["Namespace"] == "aws/sagemaker/Endpoints/data-metrics"
        assert metric["MetricStat"]["Metric"]["Dimensions"] == [
            {"Name": "Endpoint", "Value": REQUIRED["EndpointName"]},
            {"Name": "MonitoringSchedule", "Value": schedule},
        ]


def test_model_quality_adds_its_job_schedule_and_mse_alarm() -> None:
    made = resolved(OPTIONS["model-quality"])
    definition = made["ModelQualityJobDefinition"]["Properties"]
    assert definition["ModelQualityAppSpecification"]["ProblemType"] == "Regression"
    assert definition["ModelQualityJobInput"]["GroundTruthS3Input"] == {"S3Uri": "s3://b/ground-truth"}
    assert definition["ModelQualityJobInput"]["EndpointInput"]["InferenceAttribute"] == "0"
    assert "ModelQualityBaselineConfig" not in definition
    schedule = made["ModelQualitySchedule"]["Properties"]
    assert schedule["MonitoringScheduleConfig"]["MonitoringType"] == "ModelQuality"
    mse = rollback_alarms(OPTIONS["model-quality"])[f"{REQUIRED['EndpointName']}-model-quality-mse"]
    assert (mse["Namespace"], mse["MetricName"], mse["Threshold"]) == (
        "aws/sagemaker/Endpoints/model-metrics",
        "mse",
        "9",
    )
    assert {"Name": "MonitoringSchedule", "Value": schedule["MonitoringScheduleName"]} in mse["Dimensions"]
    default = resolved({"EnableModelQuality": "true"})["ModelQualityJobDefinition"]["Properties"]
    ground_truth = default["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"]
    assert ground_truth == f"s3://sagemaker-{REGION}-{ACCOUNT}/ground-truth/{REQUIRED['EndpointName']}"


def test_a_shadow_variant_beside_the_one_production_variant() -> None:
    made = resolved(OPTIONS["shadow"])
    config = made["EndpointConfig"]["Properties"]
    assert [v["VariantName"] for v in config["ProductionVariants"]] == ["AllTraffic"]
    (shadow,) = config["ShadowProductionVariants"]
    assert (shadow["VariantName"], shadow["ModelName"]) == ("Shadow", "ShadowModel-AbCdEf123456")
    assert made["ShadowModel"]["Properties"]["PrimaryContainer"] == {"ModelPackageName": f"{PACKAGE}/4"}
    assert "ShadowProductionVariants" not in resolved({})["EndpointConfig"]["Properties"]


def test_weighted_production_variants() -> None:
    made = resolved(OPTIONS["weights"])
    variants = made["EndpointConfig"]["Properties"]["ProductionVariants"]
    assert [(v["VariantName"], v["ModelName"], v["InitialVariantWeight"]) for v in variants] == [
        ("AllTraffic", "Model-AbCdEf123456", "0.8"),
        ("Challenger", "ChallengerModel-AbCdEf123456", "0.2"),
    ]
    assert made["ChallengerModel"]["Properties"]["PrimaryContainer"] == {"ModelPackageName": f"{PACKAGE}/4"}
    (alone,) = resolved({})["EndpointConfig"]["Properties"]["ProductionVariants"]
    assert alone["InitialVariantWeight"] == 1


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({**OPTIONS["shadow"], **OPTIONS["weights"]}, "beside one production variant only.*not both"),
        (
            {**OPTIONS["model-quality"], "EnableDataCapture": "false"},
            "EnableModelQuality is true but EnableDataCapture",
        ),
    ],
)
def test_the_template_s_rules_refuse_what_sagemaker_would(parameters: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolved(parameters)


def test_the_resource_types_follow_their_cloudformation_schemas() -> None:
    """Create-only properties (a change replaces the resource) and what Ref returns, as cfn-lint's copy of the
    CloudFormation resource schemas states them."""
    schemas = package_files.files("cfnlint.data.schemas")
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    for type_name, kind in TYPES.items():
        schema = json.loads((schemas / "resources" / f"{providers[type_name]}.json").read_text())
        writable_create_only = {path.rsplit("/", 1)[1] for path in schema.get("createOnlyProperties", [])} - {
            path.rsplit("/", 1)[1] for path in schema.get("readOnlyProperties", [])
        }
        assert kind.create_only == writable_create_only, type_name
        assert [kind.ref_attribute] == [path.rsplit("/", 1)[1] for path in schema["primaryIdentifier"]], type_name
        assert kind.name_property in schema["properties"], type_name
