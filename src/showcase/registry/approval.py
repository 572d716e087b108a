"""Approving and rejecting a model package: the one rule the CLI and the dashboard share.

SageMaker allows any status change; this adds one guard: a Rejected package is approved only with ``force``.
Setting the status a package already has changes nothing. ``client`` is anything with boto3's
``describe_model_package`` and ``update_model_package``: the local Registry or ``boto3.client("sagemaker")``.

Promotion to a stage (an endpoint a package is deployed to after staging, such as production) is recorded on the
package as SageMaker's ``ModelLifeCycle`` (UpdateModelPackage): ``Stage`` the target endpoint's name,
``StageStatus`` ``PendingApproval`` once asked for and ``Approved`` once someone approved it, ``StageDescription``
who asked or approved, when, and their comment. ModelLifeCycle is SageMaker's own field for a model's stages
(a tag could say the stage, not who approved it and why); ``LastModifiedTime`` dates the change as well. Only an
Approved package can be approved for a stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from showcase import clock
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
        self,
        *,
        ModelPackageArn: str,
        ModelApprovalStatus: str | None = ...,
        ApprovalDescription: str | None = ...,
        ModelLifeCycle: Mapping[str, str] | None = ...,
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


STAGE_PENDING, STAGE_APPROVED = "PendingApproval", "Approved"


@dataclass(frozen=True)
class StageDecision:
    arn: str
    stage: str
    status: str
    description: str


def stage_of(package: Mapping[str, Any]) -> StageDecision | None:
    """The ModelLifeCycle of a described package, or None when it has none."""
    life_cycle = package.get("ModelLifeCycle") or {}
    if not life_cycle.get("Stage"):
        return None
    return StageDecision(
        str(package["ModelPackageArn"]),
        str(life_cycle["Stage"]),
        str(life_cycle.get("StageStatus", "")),
        str(life_cycle.get("StageDescription", "")),
    )


def approved_for(package: Mapping[str, Any], stage: str) -> bool:
    decision = stage_of(package)
    return decision is not None and decision.stage == stage and decision.status == STAGE_APPROVED


def _stamp() -> str:
    return clock.timestamp(timespec="seconds", zulu=True)


def _set_stage(client: ApprovalClient, arn: str, stage: str, status: str, description: str) -> StageDecision:
    life_cycle = {"Stage": stage, "StageStatus": status, "StageDescription": description[:1024]}
    client.update_model_package(ModelPackageArn=arn, ModelLifeCycle=life_cycle)
    return StageDecision(arn, stage, status, life_cycle["StageDescription"])


def request_stage(client: ApprovalClient, package: str, stage: str, *, requested_by: str, note: str) -> StageDecision:
    """Ask for ``package`` to be promoted to ``stage``: PendingApproval, unless it is already Approved for it."""
    current = client.describe_model_package(ModelPackageName=package)
    decision = stage_of(current)
    if decision is not None and decision.stage == stage and decision.status in (STAGE_APPROVED, STAGE_PENDING):
        return decision
    return _set_stage(
        client, current["ModelPackageArn"], stage, STAGE_PENDING, f"{note}; asked by {requested_by} at {_stamp()}"
    )


def approve_stage(client: ApprovalClient, package: str, stage: str, *, approver: str, comment: str) -> StageDecision:
    """Approve ``package`` for ``stage``, recording who, when and why; the package must be Approved itself."""
    current = client.describe_model_package(ModelPackageName=package)
    arn, status = current["ModelPackageArn"], current["ModelApprovalStatus"]
    if status != ApprovalStatus.APPROVED:
        raise UsageError(f"{arn} is {status}: only an Approved package can be approved for {stage}; approve it first")
    if not approver.strip():
        raise UsageError(f"approving {arn} for {stage} needs the approver's name")
    text = f"approved by {approver.strip()} at {_stamp()}" + (f": {comment.strip()}" if comment.strip() else "")
    return _set_stage(client, arn, stage, STAGE_APPROVED, text)
