"""``--aws``: the same pages read SageMaker and S3 through boto3, tested against a moto server on loopback.

moto runs no pipeline (an execution is Succeeded at once) and has no ListPipelineExecutionSteps or
RetryPipelineExecution: the step graph is drawn from the definition with every step NotStarted, and a retry
is answered with AWS's own error as a 502 page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from starlette.testclient import TestClient

from showcase.aws.dashboard_source import AwsSource
from showcase.dashboard import create_app
from tests.conftest import REGION, ROLE_ARN
from tests.dashboard.conftest import ORIGIN

GROUP = "awsGroup"
BUCKET = "showcase-aws-bucket"
DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "MseThreshold", "Type": "Float", "DefaultValue": 6.0}],
    "Steps": [
        {"Name": "Prepare", "Type": "Processing", "Arguments": {}},
        {"Name": "Train", "Type": "Training", "Arguments": {"Input": {"Get": "Steps.Prepare.Outputs"}}},
    ],
}


@pytest.fixture()
def aws(aws_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    sagemaker.create_pipeline(PipelineName="awsPipeline", PipelineDefinition=json.dumps(DEFINITION), RoleArn=ROLE_ARN)
    execution = sagemaker.start_pipeline_execution(PipelineName="awsPipeline")["PipelineExecutionArn"]
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    for version, mse in ((1, 5.5), (2, 4.25)):
        prefix = f"run{version}/evaluation"
        metrics = {"regression_metrics": {"mse": {"value": mse}}}
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/evaluation.json", Body=json.dumps(metrics).encode())
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/report.html", Body=f"<h1>report {version}</h1>".encode())
        sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "xgboost:latest", "ModelDataUrl": f"s3://{BUCKET}/run{version}/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": f"s3://{BUCKET}/{prefix}/evaluation.json",
                    }
                }
            },
            CustomerMetadataProperties={"EvaluationReport": f"s3://{BUCKET}/{prefix}/report.html"},
        )
    yield {"execution_id": execution.rsplit("/", 1)[1], "sagemaker": sagemaker}


@pytest.fixture()
def aws_client(aws: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(AwsSource.connect(region=REGION)), base_url=ORIGIN) as test_client:
        yield test_client


def test_executions_and_their_graph(aws_client: TestClient, aws: dict[str, Any]) -> None:
    listing = aws_client.get("/executions").text
    assert f'href="/executions/{aws["execution_id"]}"' in listing and f"AWS · {REGION}" in listing
    page = aws_client.get(f"/executions/{aws['execution_id']}").text
    assert 'data-step="Prepare" data-status="NotStarted"' in page and 'data-step="Train"' in page
    assert aws_client.get("/executions/nosuchexecution").status_code == 404


def test_a_retry_on_a_succeeded_execution_is_refused(aws_client: TestClient, aws: dict[str, Any]) -> None:
    response = aws_client.post(f"/executions/{aws['execution_id']}/retry", headers={"origin": ORIGIN})
    assert response.status_code == 409


def test_model_packages_with_metrics_and_report_from_s3(aws_client: TestClient) -> None:
    page = aws_client.get("/models").text
    assert f'href="/models/{GROUP}/1"' in page and "<td>4.2500</td>" in page and "<td>5.5000</td>" in page
    assert aws_client.get(f"/models/{GROUP}/2/report").text == "<h1>report 2</h1>"
    compare = aws_client.get(f"/models/compare?a={GROUP}/1&b={GROUP}/2").text
    assert "-1.2500" in compare
    assert aws_client.get(f"/models/{GROUP}/9").status_code == 404
    assert aws_client.get("/models/noGroup/1").status_code == 404


def test_approve_and_reject_change_the_account(aws_client: TestClient, aws: dict[str, Any]) -> None:
    url = f"/models/{GROUP}/1/decide"
    form = {"action": "reject", "description": "drifted", "confirmed": "yes"}
    assert aws_client.post(url, data=form, headers={"origin": ORIGIN}).status_code == 200
    arn = aws["sagemaker"].list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"][0]
    described = aws["sagemaker"].describe_model_package(ModelPackageName=arn["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "Rejected"
    refused = aws_client.post(url, data={"action": "approve", "confirmed": "yes"}, headers={"origin": ORIGIN})
    assert refused.status_code == 409 and "was Rejected (drifted); to approve it anyway, go back, tick" in refused.text


def test_endpoints_list_from_the_account(aws_client: TestClient) -> None:
    assert "No endpoints" in aws_client.get("/endpoints").text
    assert aws_client.get("/endpoints/none-here").status_code == 404


def test_an_endpoint_page_says_where_its_monitoring_is(aws_client: TestClient, aws: dict[str, Any]) -> None:
    sagemaker = aws["sagemaker"]
    image = "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": image})
    variant = {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName="watched", EndpointConfigName="c")
    page = aws_client.get("/endpoints/watched").text
    assert "<h2>Monitoring</h2>" in page and "this page does not show them" in page
    assert aws_client.get("/endpoints/watched/monitoring/any/report").status_code == 501
