"""SageMaker's model registry as a ``ModelPackageLister``: boto3's client, with botocore's errors turned into ours.

Which package to deploy is decided in ``showcase.registry.latest`` (pure logic); this module only adapts the
client, so the same decision runs on SageMaker and on the local registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from showcase.aws.boundary import aws_call, client
from showcase.errors import AwsError, NoSuchModelPackageGroup
from showcase.registry import latest
from showcase.registry.latest import MAX_PAGE_SIZE, ModelPackageLister


def sagemaker_client(region: str | None = None) -> Any:
    return client("sagemaker", region=region)


class SageMakerLister:
    """The registry look-ups of anything boto3-shaped (``list_model_packages``, ``describe_model_package_group``,
    ``describe_model_package``), through ``aws_call``."""

    def __init__(self, sagemaker: Any) -> None:
        self.sagemaker = sagemaker

    def list_model_packages(self, **request: Any) -> Mapping[str, Any]:
        with aws_call(f"ListModelPackages for model package group {request.get('ModelPackageGroupName')!r}"):
            answer: Mapping[str, Any] = self.sagemaker.list_model_packages(**request)
        return answer

    def describe_model_package_group(self, *, ModelPackageGroupName: str) -> Mapping[str, Any]:
        """SageMaker answers a missing group with ``ValidationException`` "ModelPackageGroup <arn> does not exist."."""
        try:
            with aws_call(f"DescribeModelPackageGroup for model package group {ModelPackageGroupName!r}"):
                answer: Mapping[str, Any] = self.sagemaker.describe_model_package_group(
                    ModelPackageGroupName=ModelPackageGroupName
                )
            return answer
        except AwsError as exc:
            cause = exc.__cause__
            error = cause.response.get("Error", {}) if isinstance(cause, ClientError) else {}
            if error.get("Code") == "ValidationException" and "does not exist" in error.get("Message", ""):
                raise NoSuchModelPackageGroup(ModelPackageGroupName, latest.MISSING_GROUP_HINT) from exc
            raise

    def describe_model_package(self, *, ModelPackageName: str) -> Mapping[str, Any]:
        with aws_call(f"DescribeModelPackage for {ModelPackageName}"):
            answer: Mapping[str, Any] = self.sagemaker.describe_model_package(ModelPackageName=ModelPackageName)
        return answer


def latest_approved_package(sagemaker: Any, group_name: str, *, page_size: int = MAX_PAGE_SIZE) -> Mapping[str, Any]:
    """``registry.latest.latest_approved_package`` on SageMaker (or anything boto3-shaped)."""
    lister: ModelPackageLister = SageMakerLister(sagemaker)
    return latest.latest_approved_package(lister, group_name, page_size=page_size)
