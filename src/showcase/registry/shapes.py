"""The registry's requests checked and its answers shaped, as SageMaker's API checks and shapes them."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from showcase.errors import RegistryError
from showcase.registry import models as m


def ignore_or_reject(operation: str, other: Mapping[str, Any], *, ignorable: set[str]) -> None:
    unknown = sorted(set(other) - ignorable)
    if unknown:
        raise RegistryError(f"{operation} got parameter(s) the local registry does not support: {', '.join(unknown)}")


def check_inference_specification(spec: object) -> None:
    if spec is None:
        return
    containers = spec.get("Containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        raise RegistryError("InferenceSpecification.Containers must be a non-empty list")
    for index, container in enumerate(containers):
        if not isinstance(container, dict) or not isinstance(container.get("Image"), str):
            raise RegistryError(f"InferenceSpecification.Containers[{index}].Image must be a string")


def check_model_containers(request: Mapping[str, Any]) -> None:
    primary, containers = request.get("PrimaryContainer"), request.get("Containers")
    if (primary is None) == (containers is None):
        raise RegistryError("CreateModel needs exactly one of PrimaryContainer and Containers")
    listed = [primary] if primary is not None else containers
    if not isinstance(listed, list) or not listed:
        raise RegistryError("Containers must be a non-empty list")
    for index, container in enumerate(listed):
        where = "PrimaryContainer" if primary is not None else f"Containers[{index}]"
        if not isinstance(container, dict):
            raise RegistryError(f"{where} must be an object")
        if not isinstance(container.get("Image"), str) and not isinstance(container.get("ModelPackageName"), str):
            raise RegistryError(f"{where}.Image must be a string (or name a ModelPackageName, whose image it uses)")
        url = container.get("ModelDataUrl")
        if url is not None and (not isinstance(url, str) or not url.startswith("s3://")):
            raise RegistryError(f"{where}.ModelDataUrl must be an s3:// URI, got {url!r}")


def time_filters(after: datetime | None, before: datetime | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if after is not None:
        where.append("created_at > ?")
        params.append(m.to_text(after))
    if before is not None:
        where.append("created_at < ?")
        params.append(m.to_text(before))
    return where, params


def group_summary(row: sqlite3.Row) -> dict[str, Any]:
    summary = {
        "ModelPackageGroupName": row["name"],
        "ModelPackageGroupArn": row["arn"],
        "CreationTime": m.from_text(row["created_at"]),
        "ModelPackageGroupStatus": "Completed",
    }
    if row["description"] is not None:
        summary["ModelPackageGroupDescription"] = row["description"]
    return summary


def package_summary(row: sqlite3.Row) -> dict[str, Any]:
    summary = {
        "ModelPackageName": row["group_name"],
        "ModelPackageGroupName": row["group_name"],
        "ModelPackageVersion": row["version"],
        "ModelPackageArn": row["arn"],
        "CreationTime": m.from_text(row["created_at"]),
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": row["approval_status"],
    }
    if row["description"] is not None:
        summary["ModelPackageDescription"] = row["description"]
    return summary


def with_token(response: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token is not None:
        response["NextToken"] = token
    return response
