"""Calls to a SageMaker endpoint through ``sagemaker-runtime``."""

from __future__ import annotations

from typing import Any

from showcase.aws.boundary import aws_call, client

CSV = "text/csv"


def runtime_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A ``sagemaker-runtime`` client; with no ``endpoint_url`` boto3 honours AWS_ENDPOINT_URL itself."""
    return client("sagemaker-runtime", region=region, endpoint_url=endpoint_url)


def invoke_csv(runtime: Any, endpoint_name: str, body: str) -> str:
    """Send CSV rows to an endpoint and return its CSV answer as text."""
    with aws_call(f"InvokeEndpoint on endpoint {endpoint_name!r}"):
        response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType=CSV, Accept=CSV, Body=body)
        payload: bytes = response["Body"].read()
    return payload.decode("utf-8")
