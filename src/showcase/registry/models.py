"""What the registry accepts and how it names things: SageMaker's enums, name rules, ARNs, paging tokens."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from showcase.clock import timestamp
from showcase.errors import RegistryError
from showcase.names import GROUP_NAME, MODEL_NAME, NameRule
from showcase.statuses import ApprovalStatus

SORT_BY = ("Name", "CreationTime")
SORT_ORDERS = ("Ascending", "Descending")
MAX_RESULTS = 100

# CreateModelPackage's request members (botocore's service model); anything else is a caller's mistake.
CREATE_MODEL_PACKAGE_KEYS = frozenset(
    {
        "ModelPackageName",
        "ModelPackageGroupName",
        "ModelPackageDescription",
        "ModelPackageRegistrationType",
        "InferenceSpecification",
        "ValidationSpecification",
        "SourceAlgorithmSpecification",
        "CertifyForMarketplace",
        "Tags",
        "ModelApprovalStatus",
        "MetadataProperties",
        "ModelMetrics",
        "ClientToken",
        "Domain",
        "Task",
        "SamplePayloadUrl",
        "CustomerMetadataProperties",
        "DriftCheckBaselines",
        "AdditionalInferenceSpecifications",
        "SkipModelValidation",
        "SourceUri",
        "SecurityConfig",
        "ModelCard",
        "ModelLifeCycle",
        "ManagedStorageType",
    }
)
# CreateModel's request members (botocore's service model).
CREATE_MODEL_KEYS = frozenset(
    {
        "ModelName",
        "PrimaryContainer",
        "Containers",
        "InferenceExecutionConfig",
        "ExecutionRoleArn",
        "Tags",
        "VpcConfig",
        "EnableNetworkIsolation",
    }
)
# Request members that describe the call rather than the package; DescribeModelPackage does not echo them.
NOT_ECHOED = frozenset({"ModelPackageGroupName", "ModelPackageName", "ClientToken", "Tags"})

_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


def check_group_name(name: object) -> str:
    return _checked(GROUP_NAME, "ModelPackageGroupName", name)


def check_model_name(name: object) -> str:
    return _checked(MODEL_NAME, "ModelName", name)


def _checked(rule: NameRule, what: str, name: object) -> str:
    problem = rule.problem(what, name)
    if problem is not None:
        raise RegistryError(problem)
    assert isinstance(name, str)
    return name


def check_status(status: object, field: str = "ModelApprovalStatus") -> ApprovalStatus:
    if status not in tuple(ApprovalStatus):
        raise RegistryError(f"{field} must be one of {', '.join(ApprovalStatus)}; got {status!r}")
    return ApprovalStatus(status)


def check_choice(value: object, field: str, allowed: Iterable[str]) -> str:
    choices = tuple(allowed)
    if value not in choices:
        raise RegistryError(f"{field} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


_ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def check_life_cycle(value: object) -> dict[str, str]:
    """UpdateModelPackage's ModelLifeCycle: Stage and StageStatus (EntityName), StageDescription (<= 1024)."""
    if not isinstance(value, dict) or not set(value) <= {"Stage", "StageStatus", "StageDescription"}:
        raise RegistryError(f"ModelLifeCycle must be {{Stage, StageStatus, StageDescription}}, got {value!r}")
    for key in ("Stage", "StageStatus"):
        if not isinstance(value.get(key), str) or not _ENTITY_NAME.match(value[key]):
            raise RegistryError(
                f"ModelLifeCycle.{key} must be 1 to 63 letters, digits and single hyphens, got {value.get(key)!r}"
            )
    description = value.get("StageDescription", "")
    if not isinstance(description, str) or len(description) > 1024:
        raise RegistryError("ModelLifeCycle.StageDescription must be text of at most 1024 characters")
    return {key: str(item) for key, item in value.items()}


def check_max_results(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RESULTS:
        raise RegistryError(f"MaxResults must be a whole number from 1 to {MAX_RESULTS}, got {value!r}")
    return value


def check_region_account(region: str, account: str) -> None:
    if not _REGION.match(region):
        raise RegistryError(f"region must look like 'us-east-1', got {region!r}")
    if not _ACCOUNT.match(account):
        raise RegistryError(f"account must be 12 digits, got {account!r}")


def to_text(moment: datetime) -> str:
    """ISO 8601 with microseconds, UTC: sorts as text in time order."""
    return timestamp(moment)


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: object) -> int:
    try:
        if not isinstance(token, str):
            raise ValueError("not a string")
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError("bad offset")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise RegistryError(
            f"NextToken {token!r} was not returned by this registry; pass the NextToken of the previous page"
        ) from exc
    return offset


def dumps(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=_not_json)
    except TypeError as exc:
        raise RegistryError(f"the request must be JSON-serialisable: {exc}") from exc


def _not_json(value: object) -> Any:
    if isinstance(value, datetime):
        return to_text(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
