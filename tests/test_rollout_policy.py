"""Deployment configs and alarms, without a server: UpdateEndpoint's DeploymentConfig checked as SageMaker bounds it,
the steps each routing type takes, the template's alarms from a config's parameters, and CloudWatch's evaluation
rule (M out of N datapoints, missing data, percentiles) over hand-made readings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from showcase.errors import UsageError
from showcase.serving.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Alarm,
    Counters,
    EndpointMetrics,
    Metric,
    evaluate,
    template_alarms,
)
from showcase.serving.deployment import EndpointPaths
from showcase.serving.metrics import WorkerMetrics, bucket_bound, latency_bucket
from showcase.serving.rollout import policy_of, policy_of_parameters, shares_of

ENDPOINT = "prod"
VARIANT = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}]


def blue_green(routing: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, **extra}}


def five_xx(**changes: Any) -> dict[str, Any]:
    return {
        "AlarmName": "prod-5xx",
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Dimensions": VARIANT,
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 0.01,
        "ComparisonOperator": "GreaterThanThreshold",
        **changes,
    }


def test_each_routing_type_takes_its_steps() -> None:
    assert shares_of("ALL_AT_ONCE", None, None) == (1.0,)
    assert shares_of("CANARY", 0.1, None) == (0.1, 1.0)
    assert shares_of("LINEAR", None, 0.2) == (0.2, 0.4, 0.6, 0.8, 1.0)
    assert shares_of("LINEAR", None, 0.3) == (0.3, 0.6, 0.9, 1.0)
    canary = {"Type": "CANARY", "WaitIntervalInSeconds": 300, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}
    policy = policy_of(blue_green(canary), [], endpoint_name=ENDPOINT, instance_count=4)
    assert policy.shares == (0.25, 1.0) and policy.wait_s == 300 and policy.max_execution_s == 3600


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"RollingUpdatePolicy": {"MaximumBatchSize": {}}}, "RollingUpdatePolicy: the local endpoint has no instances"),
        ({}, "has no BlueGreenUpdatePolicy"),
        (blue_green({"Type": "SLOW"}), "Type must be one of ALL_AT_ONCE, CANARY, LINEAR"),
        (blue_green({"Type": "ALL_AT_ONCE"}), "WaitIntervalInSeconds must be a whole number from 0 to 3600, got None"),
        (
            blue_green(
                {"Type": "CANARY", "WaitIntervalInSeconds": 0, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 60}}
            ),
            "CanarySize CAPACITY_PERCENT 60 is 60% of the fleet (1 instance(s)); it must be from 0% to 50%",
        ),
        (
            blue_green(
                {
                    "Type": "LINEAR",
                    "WaitIntervalInSeconds": 0,
                    "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 5},
                }
            ),
            "LinearStepSize CAPACITY_PERCENT 5 is 5% of the fleet",
        ),
        (
            blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}, MaximumExecutionTimeoutInSeconds=60),
            "MaximumExecutionTimeoutInSeconds must be a whole number from 600 to 28800, got 60",
        ),
        (
            {
                **blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}),
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "x"}]},
            },
            "names alarm(s) 'x' that no alarm definition gives",
        ),
    ],
)
def test_a_deployment_config_sagemaker_would_refuse_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        policy_of(config, [], endpoint_name=ENDPOINT)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"MetricName": "CPUUtilization"},
            "watches AWS/SageMaker CPUUtilization, which the local endpoint does not measure",
        ),
        (
            {"Dimensions": [{"Name": "EndpointName", "Value": "other"}]},
            "locally an alarm can watch the endpoint being deployed",
        ),
        ({"Statistic": "Median"}, "statistic 'Median' is not one of"),
        ({"ComparisonOperator": "Above"}, "ComparisonOperator 'Above' is not one of"),
        ({"DatapointsToAlarm": 3}, "DatapointsToAlarm 3 is more than EvaluationPeriods 1"),
    ],
)
def test_an_alarm_the_local_endpoint_cannot_evaluate_is_refused_before_anything(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        Alarm.from_request(five_xx(**change), ENDPOINT)


def test_the_template_parameters_make_the_templates_deployment_config_and_alarms() -> None:
    parameters = {
        "DeploymentStrategy": "LINEAR",
        "LinearStepSizePercent": "50",
        "BakingPeriodSeconds": "30",
        "EnableModelQuality": "true",
        "ModelQualityMseThreshold": "6",
        "EnableMonitoring": "true",
    }
    policy = policy_of_parameters(parameters, ENDPOINT, "config.json")
    assert policy is not None and policy.shares == (0.5, 1.0) and policy.wait_s == 30
    assert [alarm.name for alarm in policy.alarms] == [
        "prod-invocation-5xx-errors",
        "prod-model-latency-p99",
        "prod-data-quality-drift",
        "prod-model-quality-mse",
    ]
    assert policy.alarms[3].threshold == 6.0 and policy.alarms[0].threshold == 0.01
    assert policy.config["AutoRollbackConfiguration"]["Alarms"][1] == {"AlarmName": "prod-model-latency-p99"}
    assert policy_of_parameters({}, ENDPOINT, "config.json") is None  # no strategy: the hot swap
    assert len(template_alarms({"EnableModelQuality": "true", "EnableDataCapture": "false"}, ENDPOINT, "c")) == 2
    with pytest.raises(UsageError, match="DeploymentStrategy must be one of ALL_AT_ONCE, CANARY, LINEAR, got 'FAST'"):
        policy_of_parameters({"DeploymentStrategy": "FAST"}, ENDPOINT, "config.json")


class Fixed:
    """A metric source of given datapoints per period (newest first); None is a period without data."""

    def __init__(self, values: list[float | None]) -> None:
        self.values = values

    def datapoint(self, metric: Metric, start: float, end: float) -> tuple[float | None, str]:
        index = round((1000.0 - end) / 60)
        return self.values[index], "fixed"


@pytest.mark.parametrize(
    ("values", "change", "state"),
    [
        ([0.5], {}, ALARM),
        ([0.0], {}, OK),
        ([None], {}, OK),  # TreatMissingData notBreaching
        ([None], {"TreatMissingData": "missing"}, INSUFFICIENT_DATA),
        ([None], {"TreatMissingData": "breaching"}, ALARM),
        ([0.5, 0.0, 0.0], {"EvaluationPeriods": 3, "DatapointsToAlarm": 2}, OK),
        ([0.5, 0.0, 0.5], {"EvaluationPeriods": 3, "DatapointsToAlarm": 2}, ALARM),
    ],
)
def test_the_alarm_rule_is_cloudwatchs(values: list[float | None], change: dict[str, Any], state: str) -> None:
    alarm = Alarm.from_request(five_xx(**{"TreatMissingData": "notBreaching", **change}), ENDPOINT)
    found = evaluate(alarm, {"AWS/SageMaker": Fixed(values)}, now=1000.0)
    assert found.value == state
    if state == ALARM:
        assert found.reason.startswith("Threshold Crossed:") and "greater than the threshold (0.01)" in found.reason


def test_latency_buckets_bound_a_percentile_within_nine_percent() -> None:
    for microseconds in (1.0, 150.0, 999.0, 20_000.0, 3_500_000.0):
        bound = bucket_bound(latency_bucket(microseconds))
        assert microseconds <= bound <= microseconds * 2 ** (1 / 8) + 1e-6
    counters = Counters()
    for microseconds in [100.0] * 98 + [50_000.0, 80_000.0]:
        bucket = latency_bucket(microseconds)
        counters.requests += 1
        counters.latency_us[bucket] = counters.latency_us.get(bucket, 0) + 1
    assert counters.statistic("ModelLatency", "p99") == bucket_bound(latency_bucket(50_000.0))
    assert counters.statistic("ModelLatency", "p50") == bucket_bound(latency_bucket(100.0))
    assert Counters().statistic("ModelLatency", "p99") is None  # no invocations: missing data


def test_endpoint_metrics_are_the_new_fleets_over_the_window(tmp_path: Path) -> None:
    paths = EndpointPaths(tmp_path, ENDPOINT)
    now = [100.0]
    metrics = EndpointMetrics(paths, fleet_id=2, clock=lambda: now[0])
    worker = WorkerMetrics(paths.workers_dir, pid=11)
    for _ in range(10):
        worker.observe(200, 0.001, "1/AllTraffic")  # the old fleet: not this deployment's
    worker.observe(200, 0.001, "2/AllTraffic")
    worker.write()
    metrics.read()
    now[0] = 130.0
    for _ in range(3):
        worker.observe(500, 0.002, "2/AllTraffic")
    worker.write()
    metrics.read()
    window = metrics.window("AllTraffic", 100.0, 130.0)
    assert (window.requests, window.errors_5xx) == (3, 3)
    assert metrics.window("AllTraffic", 0.0, 130.0).requests == 4
    alarm = Alarm.from_request(five_xx(Period=20), ENDPOINT)
    assert evaluate(alarm, {"AWS/SageMaker": metrics}, now=130.0).value == ALARM
    assert "3 of 3 invocations answered 5xx" in evaluate(alarm, {"AWS/SageMaker": metrics}, now=130.0).reason
