"""Which model package to deploy: the newest Approved one of a group. Pure logic over a lister.

The lister is anything with boto3's ``list_model_packages`` and ``describe_model_package_group`` (keyword
arguments and response shapes): the local ``Registry`` as it is, or SageMaker through
``showcase.aws.registry.SageMakerLister``, which turns botocore's errors into ours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from showcase.errors import NoApprovedPackage, NoSuchModelPackageGroup, UsageError
from showcase.paging import paginate
from showcase.statuses import ApprovalStatus

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 100  # ListModelPackages' own limit for MaxResults
MISSING_GROUP_HINT = "check the group's name and region, or run the pipeline, which creates it"


class ModelPackageLister(Protocol):
    """The two calls of boto3's SageMaker client this module makes, with the arguments it passes."""

    def list_model_packages(
        self,
        *,
        ModelPackageGroupName: str | None = ...,
        ModelApprovalStatus: str | None = ...,
        SortBy: str = ...,
        SortOrder: str = ...,
        MaxResults: int = ...,
        NextToken: str | None = ...,
    ) -> Mapping[str, Any]: ...

    def describe_model_package_group(self, *, ModelPackageGroupName: str) -> Mapping[str, Any]:
        """Raises NoSuchModelPackageGroup for a group that does not exist."""
        ...


def latest_approved_package(
    lister: ModelPackageLister, group_name: str, *, page_size: int = MAX_PAGE_SIZE
) -> Mapping[str, Any]:
    """The ``ModelPackageSummary`` of the newest Approved package in ``group_name``.

    Every page is read and the newest is picked by CreationTime, rather than trusting the first row:
    a lister that ignores SortOrder must not deploy an old model. Raises NoApprovedPackage, or
    NoSuchModelPackageGroup when the group does not exist (ListModelPackages answers both with an empty list).
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
        try:
            lister.describe_model_package_group(ModelPackageGroupName=group_name)
        except NoSuchModelPackageGroup as exc:
            raise NoSuchModelPackageGroup(group_name, MISSING_GROUP_HINT) from exc
        raise NoApprovedPackage(group_name)
    newest = max(approved, key=_newest_first_key)
    logger.info(
        "newest Approved package of %s is %s (of %d approved)", group_name, newest["ModelPackageArn"], len(approved)
    )
    return newest


def _approved_summaries(lister: ModelPackageLister, group_name: str, page_size: int) -> Iterator[Mapping[str, Any]]:
    return paginate(
        lister.list_model_packages,
        "ModelPackageSummaryList",
        ModelPackageGroupName=group_name,
        ModelApprovalStatus=ApprovalStatus.APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",  # the API's default is Ascending: the oldest first
        MaxResults=page_size,
    )


def _newest_first_key(summary: Mapping[str, Any]) -> tuple[datetime | str, int]:
    # CreationTime is a datetime from boto3; the version breaks ties between packages made in the same tick.
    return summary["CreationTime"], int(summary.get("ModelPackageVersion") or 0)
