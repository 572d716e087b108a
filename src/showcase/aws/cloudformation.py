"""Read-only look-ups that check a deployed endpoint stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from showcase.aws.boundary import aws_call, client
from showcase.errors import AwsError


def cloudformation_client(region: str | None = None) -> Any:
    return client("cloudformation", region=region)


def describe_stack(cloudformation: Any, stack_name: str) -> Mapping[str, Any]:
    with aws_call(f"DescribeStacks for stack {stack_name!r}"):
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    if not stacks:
        raise AwsError(f"DescribeStacks for stack {stack_name!r} returned no stack")
    stack: Mapping[str, Any] = stacks[0]
    return stack


def describe_endpoint(sagemaker: Any, endpoint_name: str) -> Mapping[str, Any]:
    with aws_call(f"DescribeEndpoint for endpoint {endpoint_name!r}"):
        endpoint: Mapping[str, Any] = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    return endpoint
