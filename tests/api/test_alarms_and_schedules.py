"""CloudWatch alarms and Model Monitor's job definitions and schedules on the local API, through boto3 and the AWS CLI:
records in the home, the shapes and errors of the services, and an alarm state set by hand (how AWS suggests
testing what an alarm sets off)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from showcase.deployment import alarms
from tests.api.conftest import Api

AWS = Path(sys.executable).parent / "aws"
LATENCY = {
    "AlarmName": "ep-model-latency-p99",
    "Namespace": "AWS/SageMaker",
    "MetricName": "ModelLatency",
    "Dimensions": [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}],
    "ExtendedStatistic": "p99",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 100000.0,
    "ComparisonOperator": "GreaterThanThreshold",
}


def error(caught: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    assert isinstance(caught.value, ClientError)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_an_alarm_is_put_described_tripped_by_hand_and_deleted(api: Api) -> None:
    cloudwatch: Any = api.client("cloudwatch")
    cloudwatch.put_metric_alarm(**LATENCY)
    (described,) = cloudwatch.describe_alarms(AlarmNames=["ep-model-latency-p99"])["MetricAlarms"]
    assert {key: described[key] for key in LATENCY} == LATENCY
    assert described["StateValue"] == "INSUFFICIENT_DATA"
    assert described["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:ep-model-latency-p99"

    tripped = subprocess.run(
        [str(AWS), "cloudwatch", "set-alarm-state", "--alarm-name", "ep-model-latency-p99", "--state-value", "ALARM",
         "--state-reason", "testing the rollback"],
        env=api.env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert tripped.returncode == 0, tripped.stderr
    assert alarms.alarms(api.home)["ep-model-latency-p99"]["StateValue"] == "ALARM"
    in_alarm = cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert [(a["AlarmName"], a["StateReason"]) for a in in_alarm] == [("ep-model-latency-p99", "testing the rollback")]

    cloudwatch.put_metric_alarm(**{**LATENCY, "Threshold": 50000.0})  # a new threshold keeps the alarm's state
    (again,) = cloudwatch.describe_alarms(AlarmNamePrefix="ep-model")["MetricAlarms"]
    assert (again["Threshold"], again["StateValue"]) == (50000.0, "ALARM")

    cloudwatch.delete_alarms(AlarmNames=["ep-model-latency-p99"])
    assert cloudwatch.describe_alarms(AlarmNames=["ep-model-latency-p99"])["MetricAlarms"] == []
    with pytest.raises(ClientError) as caught:
        cloudwatch.delete_alarms(AlarmNames=["ep-model-latency-p99"])
    assert error(caught)[0] == "ResourceNotFound"


def test_what_put_metric_alarm_refuses(api: Api) -> None:
    cloudwatch: Any = api.client("cloudwatch")
    both = {**LATENCY, "AlarmName": "both", "Statistic": "Average"}
    with pytest.raises(ClientError) as caught:
        cloudwatch.put_metric_alarm(**both)
    assert error(caught) == ("ValidationError", "give exactly one of Statistic and ExtendedStatistic")
    with pytest.raises(ClientError) as caught:
        cloudwatch.set_alarm_state(AlarmName="nothing", StateValue="OK", StateReason="r")
    assert error(caught) == ("ResourceNotFound", "Alarm nothing not found")
    assert "both" not in alarms.alarms(api.home)


DATA_QUALITY = {
    "DataQualityAppSpecification": {"ImageUri": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/analyzer"},
    "DataQualityJobInput": {"EndpointInput": {"EndpointName": "monitored-ep", "LocalPath": "/opt/ml/processing/input"}},
    "DataQualityJobOutputConfig": {
        "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/monitoring", "LocalPath": "/opt/ml/processing/output"}}]
    },
    "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
    "RoleArn": "arn:aws:iam::000000000000:role/showcase",
}


def test_a_schedule_of_a_job_definition_is_kept_and_listed_by_endpoint(api: Api) -> None:
    sagemaker: Any = api.client("sagemaker")
    arn = sagemaker.create_data_quality_job_definition(JobDefinitionName="dq", **DATA_QUALITY)["JobDefinitionArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:data-quality-job-definition/dq"
    with pytest.raises(ClientError) as caught:
        sagemaker.create_data_quality_job_definition(JobDefinitionName="dq", **DATA_QUALITY)
    assert error(caught)[0] == "ResourceInUse"
    config = {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": "dq",
        "MonitoringType": "DataQuality",
    }
    sagemaker.create_monitoring_schedule(
        MonitoringScheduleName="monitored-ep-data-quality", MonitoringScheduleConfig=config
    )
    described = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="monitored-ep-data-quality")
    assert (described["MonitoringScheduleStatus"], described["EndpointName"]) == ("Scheduled", "monitored-ep")
    listed = sagemaker.list_monitoring_schedules(EndpointName="monitored-ep")["MonitoringScheduleSummaries"]
    assert [(s["MonitoringScheduleName"], s["MonitoringJobDefinitionName"]) for s in listed] == [
        ("monitored-ep-data-quality", "dq")
    ]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_monitoring_schedule(
            MonitoringScheduleName="wrong-type", MonitoringScheduleConfig={**config, "MonitoringType": "ModelQuality"}
        )
    assert (
        error(caught)[0] == "ResourceNotFound" and "model-quality-job-definition/dq does not exist" in error(caught)[1]
    )
    sagemaker.delete_monitoring_schedule(MonitoringScheduleName="monitored-ep-data-quality")
    sagemaker.delete_data_quality_job_definition(JobDefinitionName="dq")
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_data_quality_job_definition(JobDefinitionName="dq")
    assert error(caught)[0] == "ResourceNotFound"
