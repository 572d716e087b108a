"""What the staging test asks AWS: which packages an endpoint serves, what each package registered (its test split,
its MSE), and the endpoint's answers to the split, request by request, with the time each took."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from showcase.aws.boundary import aws_call
from showcase.errors import DeploymentCheckFailed, UsageError

TEST_DATA_KEY = "TestData"
"""The package's CustomerMetadataProperties key for the S3 URI of the test split its metrics were measured on."""
CSV = "text/csv"


@dataclass(frozen=True)
class Variant:
    name: str
    package_arn: str


def served_variants(sagemaker: Any, endpoint_name: str) -> list[Variant]:
    """The endpoint's production variants and the model package each one's model serves."""
    with aws_call(f"DescribeEndpoint for endpoint {endpoint_name!r}"):
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    if endpoint.get("EndpointStatus") != "InService":
        raise DeploymentCheckFailed(
            f"endpoint {endpoint_name!r} is {endpoint.get('EndpointStatus')}, expected InService",
            endpoint_name=endpoint_name,
        )
    config_name = endpoint["EndpointConfigName"]
    with aws_call(f"DescribeEndpointConfig for {config_name!r}"):
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants = []
    for variant in config["ProductionVariants"]:
        with aws_call(f"DescribeModel for {variant['ModelName']!r}"):
            model = sagemaker.describe_model(ModelName=variant["ModelName"])
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        if not container.get("ModelPackageName"):
            raise UsageError(
                f"variant {variant['VariantName']} of endpoint {endpoint_name!r} serves model "
                f"{variant['ModelName']!r}, which names no model package: the staging test compares an endpoint "
                "with its registered package"
            )
        variants.append(Variant(variant["VariantName"], container["ModelPackageName"]))
    return variants


def package_evidence(sagemaker: Any, s3: Any, package_arn: str, test_data: str | None) -> tuple[str, float, str]:
    """``(test split URI, its registered MSE, the evaluation report's URI)`` of a package; ``test_data``, when
    given, replaces the package's own TestData."""
    from showcase.deployment.staging import registered_mse

    with aws_call(f"DescribeModelPackage for {package_arn}"):
        package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    statistics = ((package.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}
    if not statistics.get("S3Uri"):
        raise UsageError(
            f"model package {package_arn} registered no ModelMetrics.ModelQuality.Statistics to test against"
        )
    uri = test_data or (package.get("CustomerMetadataProperties") or {}).get(TEST_DATA_KEY)
    if not uri:
        raise UsageError(
            f"model package {package_arn} names no test split (CustomerMetadataProperties.{TEST_DATA_KEY}, which the "
            "pipeline's RegisterModel step writes); pass --test-data s3://... to name it"
        )
    text = read_objects(s3, statistics["S3Uri"])
    try:
        evaluation = json.loads(text)
    except ValueError:
        raise UsageError(f"{statistics['S3Uri']} is not JSON; is it the pipeline's evaluation.json?") from None
    return str(uri), registered_mse(evaluation, statistics["S3Uri"]), statistics["S3Uri"]


def _bucket_and_key(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise UsageError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def read_objects(s3: Any, uri: str) -> str:
    """The text of the object at ``uri``, or of every object under it as a prefix (in key order), as a
    processing job's input reads an S3 prefix."""
    bucket, key = _bucket_and_key(uri)
    keys: list[str] = []
    with aws_call(f"ListObjectsV2 of {uri}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
    chosen = [k for k in keys if k == key] or [k for k in keys if k.startswith(key.rstrip("/") + "/")]
    if not chosen:
        raise UsageError(f"nothing is stored at {uri}")
    parts = []
    for name in sorted(chosen):
        with aws_call(f"GetObject of s3://{bucket}/{name}"):
            parts.append(s3.get_object(Bucket=bucket, Key=name)["Body"].read().decode("utf-8"))
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts)


def invoke_batches(
    runtime: Any, endpoint_name: str, batches: Sequence[Sequence[str]], variant: str | None
) -> tuple[list[float], list[float]]:
    """Every batch through InvokeEndpoint (to ``variant`` when given): the predictions, and each request's round
    trip in milliseconds."""
    predictions: list[float] = []
    latencies: list[float] = []
    extra: Mapping[str, str] = {"TargetVariant": variant} if variant else {}
    for rows in batches:
        body = "\n".join(rows) + "\n"
        started = time.perf_counter()
        with aws_call(f"InvokeEndpoint on endpoint {endpoint_name!r}"):
            answer = runtime.invoke_endpoint(
                EndpointName=endpoint_name, ContentType=CSV, Accept=CSV, Body=body, **extra
            )
            payload = answer["Body"].read().decode("utf-8")
        latencies.append((time.perf_counter() - started) * 1000)
        values = [value.strip() for line in payload.splitlines() for value in line.split(",") if value.strip()]
        if len(values) != len(rows):
            raise DeploymentCheckFailed(
                f"endpoint {endpoint_name!r} answered {len(values)} values for {len(rows)} rows: {payload[:200]!r}",
                endpoint_name=endpoint_name,
            )
        try:
            predictions += [float(value) for value in values]
        except ValueError:
            raise DeploymentCheckFailed(
                f"endpoint {endpoint_name!r} answered something other than numbers: {payload[:200]!r}",
                endpoint_name=endpoint_name,
            ) from None
    return predictions, latencies
