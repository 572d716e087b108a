"""The newest Approved model package of a group, from anything shaped like boto3's SageMaker client.

Only ``list_model_packages`` (and, when it finds nothing Approved, ``describe_model_package_group``) is
called, with boto3's keyword arguments and response shape, so the local registry can be passed in place of
``boto3.client("sagemaker")``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from showcase.aws.boundary import aws_call, client
from showcase.errors import AwsError, NoApprovedPackage, NoSuchModelPackageGroup, UsageError
from showcase.statuses import ApprovalStatus

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 100  # ListModelPackages' own limit for MaxResults


MISSING_GROUP_HINT = "check the group's name and region, or run the pipeline, which creates it"


class ModelPackageLister(Protocol):
    def list_model_packages(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def describe_model_package_group(self, **kwargs: Any) -> Mapping[str, Any]: ...


def sagemaker_client(region: str | None = None) -> Any:
    return client("sagemaker", region=region)


def _approved_summaries(
    lister: ModelPackageLister, group_name: str, page_size: int
) -> Iterator[Mapping[str, Any]]:
    request: dict[str, Any] = {
        "ModelPackageGroupName": group_name,
        "ModelApprovalStatus": ApprovalStatus.APPROVED,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",  # the API's default is Ascending: the oldest first
        "MaxResults": page_size,
    }
    while True:
        with aws_call(f"ListModelPackages for model package group {group_name!r}"):
            page = lister.list_model_packages(**request)
        yield from page.get("ModelPackageSummaryList", [])
        token = page.get("NextToken")
        if not token:
            return
        request["NextToken"] = token


def _newest_first_key(summary: Mapping[str, Any]) -> tuple[datetime | str, int]:
    # CreationTime is a datetime from boto3; the version breaks ties between packages made in the same tick.
    return summary["CreationTime"], int(summary.get("ModelPackageVersion") or 0)


def latest_approved_package(
    lister: ModelPackageLister, group_name: str, *, page_size: int = MAX_PAGE_SIZE
) -> Mapping[str, Any]:
    """The ``ModelPackageSummary`` of the newest Approved package in ``group_name``.

    Every page is read and the newest is picked by CreationTime, rather than trusting the first row:
    a lister that ignores SortOrder must not deploy an old model. Raises NoApprovedPackage.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise UsageError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    approved = [
        summary
        for summary in _approved_summaries(lister, group_name, page_size)
        # Defensive: a lister that ignores the status filter must not deploy a rejected model.
        if summary.get("ModelApprovalStatus", ApprovalStatus.APPROVED) == ApprovalStatus.APPROVED
    ]
    if not approved:
        _require_group(lister, group_name)
        raise NoApprovedPackage(group_name)
    newest = max(approved, key=_newest_first_key)
    logger.info(
        "newest Approved package of %s is %s (of %d approved)",
        group_name,
        newest["ModelPackageArn"],
        len(approved),
    )
    return newest


def _require_group(lister: ModelPackageLister, group_name: str) -> None:
    """Raise NoSuchModelPackageGroup unless the group exists.

    ListModelPackages answers a missing group with an empty list; DescribeModelPackageGroup tells the two apart
    (SageMaker: ``ValidationException`` "ModelPackageGroup <arn> does not exist.").
    """
    try:
        with aws_call(f"DescribeModelPackageGroup for model package group {group_name!r}"):
            lister.describe_model_package_group(ModelPackageGroupName=group_name)
    except NoSuchModelPackageGroup as exc:  # the local registry's answer
        raise NoSuchModelPackageGroup(group_name, MISSING_GROUP_HINT) from exc
    except AwsError as exc:
        cause = exc.__cause__
        error = cause.response.get("Error", {}) if isinstance(cause, ClientError) else {}
        if error.get("Code") == "ValidationException" and "does not exist" in error.get("Message", ""):
            raise NoSuchModelPackageGroup(group_name, MISSING_GROUP_HINT) from exc
        raise
