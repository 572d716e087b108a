"""Approving and rejecting a model package: the one rule the CLI and the dashboard share.

SageMaker allows any status change; this adds one guard: a Rejected package is approved only with ``force``.
Setting the status a package already has changes nothing. ``client`` is anything with boto3's
``describe_model_package`` and ``update_model_package``: the local Registry or ``boto3.client("sagemaker")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from showcase.errors import UsageError
from showcase.registry.models import check_status
from showcase.statuses import ApprovalStatus


class ApprovalRefused(UsageError):
    """Approving a Rejected package without ``force``; carries the package's ARN.

    ``refusal`` says what was refused; the message adds how to force it from the command line, and the
    dashboard says instead how to force it on its page.
    """

    def __init__(self, refusal: str, *, model_package_arn: str) -> None:
        super().__init__(f"{refusal}; pass --force to approve it anyway")
        self.refusal = refusal
        self.model_package_arn = model_package_arn


class ApprovalClient(Protocol):
    def describe_model_package(self, *, ModelPackageName: str) -> Mapping[str, Any]: ...

    def update_model_package(
        self, *, ModelPackageArn: str, ModelApprovalStatus: str | None = ..., ApprovalDescription: str | None = ...
    ) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Decision:
    arn: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def set_approval(
    client: ApprovalClient, package: str, status: str, description: str | None, *, force: bool = False
) -> Decision:
    """Set ``package``'s approval status (with ``description`` as its ApprovalDescription)."""
    status = check_status(status)
    current = client.describe_model_package(ModelPackageName=package)
    arn, before = current["ModelPackageArn"], current["ModelApprovalStatus"]
    if before == status:
        return Decision(arn, before, status)
    if before == ApprovalStatus.REJECTED and status == ApprovalStatus.APPROVED and not force:
        why = f" ({current['ApprovalDescription']})" if current.get("ApprovalDescription") else ""
        raise ApprovalRefused(f"{arn} was Rejected{why}", model_package_arn=arn)
    # An empty description clears the reason for the previous status rather than leaving it on the new one.
    client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=description or "")
    return Decision(arn, before, status)
