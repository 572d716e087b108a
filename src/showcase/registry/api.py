"""The local model registry, with boto3's SageMaker method names, request keywords and response shapes.

Pass a ``Registry`` wherever code expects ``boto3.client("sagemaker")`` for these calls:
``create_model_package_group``, ``describe_model_package_group``, ``list_model_package_groups``,
``create_model_package``, ``describe_model_package``, ``list_model_packages``, ``update_model_package``;
and for models (what CreateModel makes, what a batch transform or an endpoint config names):
``create_model``, ``describe_model``.
Beyond boto3, ``create_model_package`` also keeps the evaluation metrics document and the lineage
(pipeline execution) of a package, read back with ``describe_model_package_extras``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from showcase.clock import now
from showcase.errors import NoSuchModelPackageGroup, RegistryError
from showcase.names import SHOWN
from showcase.registry import models as m
from showcase.registry import shapes
from showcase.registry.database import Database
from showcase.settings import DEFAULT_ACCOUNT, DEFAULT_REGION, Settings
from showcase.statuses import ApprovalStatus

logger = logging.getLogger(__name__)

_PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:([^:]+):([0-9]{12}):model-package/([^/]+)/([0-9]+)$")
_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[^:]+:[0-9]{12}:model-package-group/([^/]+)$")
_GROUP_VERSION = re.compile(r"^([^/]+)/([0-9]+)$")
MAX_VERSION_DIGITS = 9
"""A package version in an ARN or ``<group>/<version>`` has 1-9 digits (botocore shape VersionedArnOrName)."""


class Registry:
    """Model package groups and versioned model packages in one SQLite file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        busy_timeout_s: float = 30.0,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        """``on_wait`` is called when a write finds another writer holding the lock, before waiting for it."""
        m.check_region_account(region, account)
        self.region = region
        self.account = account
        self._db = Database(Path(path), busy_timeout_s=busy_timeout_s, on_wait=on_wait)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, busy_timeout_s: float = 30.0, on_wait: Callable[[], None] | None = None
    ) -> Registry:
        """The registry of the local home ``settings`` names, with its region and account."""
        path, region, account = settings.registry_path, settings.region, settings.account
        return cls(path, region=region, account=account, busy_timeout_s=busy_timeout_s, on_wait=on_wait)

    @property
    def path(self) -> Path:
        return self._db.path

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r}, region={self.region!r}, account={self.account!r})"

    # -- groups -------------------------------------------------------------------------------------

    def create_model_package_group(
        self,
        *,
        ModelPackageGroupName: str,
        ModelPackageGroupDescription: str | None = None,
        **other: Any,
    ) -> dict[str, Any]:
        shapes.ignore_or_reject("CreateModelPackageGroup", other, ignorable={"Tags"})
        name = m.check_group_name(ModelPackageGroupName)
        try:
            with self._db.transaction() as conn:
                self._insert_group(conn, name, ModelPackageGroupDescription, or_ignore=False)
        except RegistryError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise RegistryError(f"model package group {name!r} already exists") from exc
            raise
        return {"ModelPackageGroupArn": self._group_arn(name)}

    def describe_model_package_group(self, *, ModelPackageGroupName: str) -> dict[str, Any]:
        name = self._group_name(ModelPackageGroupName)
        with self._db.reading() as conn:
            row = conn.execute("SELECT * FROM model_package_groups WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NoSuchModelPackageGroup(name)
        return {**shapes.group_summary(row), "CreatedBy": {}}

    def list_model_package_groups(
        self,
        *,
        NameContains: str | None = None,
        SortBy: str = "CreationTime",
        SortOrder: str = "Ascending",
        MaxResults: int = m.MAX_RESULTS,
        NextToken: str | None = None,
        CreationTimeAfter: datetime | None = None,
        CreationTimeBefore: datetime | None = None,
    ) -> dict[str, Any]:
        where, params = shapes.time_filters(CreationTimeAfter, CreationTimeBefore)
        if NameContains:
            where.append("instr(lower(name), lower(?)) > 0")
            params.append(NameContains)
        columns = {"Name": "name", "CreationTime": "created_at, name"}
        rows, token = self._page(
            "model_package_groups", where, params, columns, SortBy, SortOrder, MaxResults, NextToken
        )
        return shapes.with_token({"ModelPackageGroupSummaryList": [shapes.group_summary(row) for row in rows]}, token)

    # -- packages -----------------------------------------------------------------------------------

    def create_model_package(
        self,
        *,
        metrics: Mapping[str, Any] | None = None,
        lineage: Mapping[str, Any] | None = None,
        **request: Any,
    ) -> dict[str, Any]:
        """Register a new version in ``ModelPackageGroupName`` (created if missing, as pipelines do).

        ``metrics`` (the evaluation report) and ``lineage`` (pipeline execution, step, model data) are kept
        with the package. The group, the version number and the package are written in one transaction.
        """
        unknown = sorted(set(request) - m.CREATE_MODEL_PACKAGE_KEYS)
        if unknown:
            raise RegistryError(f"CreateModelPackage got unknown parameter(s): {', '.join(unknown)}")
        if "ModelPackageGroupName" not in request:
            raise RegistryError(
                "the local registry keeps versioned model packages only: pass ModelPackageGroupName"
                + (" instead of ModelPackageName" if "ModelPackageName" in request else "")
            )
        name = m.check_group_name(self._group_name(request["ModelPackageGroupName"]))
        status = m.check_status(request.get("ModelApprovalStatus", ApprovalStatus.PENDING_MANUAL_APPROVAL))
        description = request.get("ModelPackageDescription")
        if description is not None and (not isinstance(description, str) or len(description) > 1024):
            raise RegistryError("ModelPackageDescription must be a string of at most 1024 characters")
        shapes.check_inference_specification(request.get("InferenceSpecification"))
        request_json = m.dumps(request)
        metrics_json = None if metrics is None else m.dumps(dict(metrics))
        lineage_json = None if lineage is None else m.dumps(dict(lineage))
        with self._db.transaction() as conn:
            self._insert_group(conn, name, None, or_ignore=True)
            group = conn.execute("SELECT name FROM model_package_groups WHERE name = ?", (name,)).fetchone()[0]
            version = conn.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM model_packages WHERE group_name = ?", (group,)
            ).fetchone()[0]
            arn = self._package_arn(group, version)
            created = m.to_text(now())
            conn.execute(
                "INSERT INTO model_packages (arn, group_name, version, description, approval_status,"
                " created_at, modified_at, request, metrics, lineage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    arn,
                    group,
                    version,
                    description,
                    status,
                    created,
                    created,
                    request_json,
                    metrics_json,
                    lineage_json,
                ),
            )
        logger.info("registered %s (%s)", arn, status)
        return {"ModelPackageArn": arn}

    def describe_model_package(self, *, ModelPackageName: str) -> dict[str, Any]:
        """``ModelPackageName``: a model package ARN or ``<group>/<version>``."""
        row = self._package_row(ModelPackageName)
        request = json.loads(row["request"])
        described = {key: value for key, value in request.items() if key not in m.NOT_ECHOED}
        described.update(shapes.package_summary(row))
        described.update(
            ModelPackageStatusDetails={"ValidationStatuses": [], "ImageScanStatuses": []},
            CertifyForMarketplace=bool(request.get("CertifyForMarketplace", False)),
            CreatedBy={},
            LastModifiedTime=m.from_text(row["modified_at"]),
            LastModifiedBy={},
        )
        if row["approval_description"] is not None:
            described["ApprovalDescription"] = row["approval_description"]
        return described

    def describe_model_package_extras(self, *, ModelPackageName: str) -> dict[str, Any]:
        """Not in boto3: the metrics document and lineage stored with the package (``None`` when absent)."""
        row = self._package_row(ModelPackageName)
        return {
            "ModelPackageArn": row["arn"],
            "Metrics": None if row["metrics"] is None else json.loads(row["metrics"]),
            "Lineage": None if row["lineage"] is None else json.loads(row["lineage"]),
        }

    def list_model_packages(
        self,
        *,
        ModelPackageGroupName: str | None = None,
        ModelApprovalStatus: str | None = None,
        NameContains: str | None = None,
        ModelPackageType: str = "Both",
        SortBy: str = "CreationTime",
        SortOrder: str = "Ascending",
        MaxResults: int = m.MAX_RESULTS,
        NextToken: str | None = None,
        CreationTimeAfter: datetime | None = None,
        CreationTimeBefore: datetime | None = None,
    ) -> dict[str, Any]:
        """Summaries, oldest first unless ``SortOrder="Descending"`` (SageMaker's default, kept)."""
        where, params = shapes.time_filters(CreationTimeAfter, CreationTimeBefore)
        if m.check_choice(ModelPackageType, "ModelPackageType", ("Versioned", "Unversioned", "Both")) == (
            "Unversioned"
        ):
            where.append("0")
        if ModelPackageGroupName is not None:
            where.append("group_name = ?")
            params.append(self._group_name(ModelPackageGroupName))
        if ModelApprovalStatus is not None:
            where.append("approval_status = ?")
            params.append(m.check_status(ModelApprovalStatus))
        if NameContains:
            where.append("instr(lower(group_name), lower(?)) > 0")
            params.append(NameContains)
        columns = {"Name": "group_name, version", "CreationTime": "created_at, version"}
        rows, token = self._page("model_packages", where, params, columns, SortBy, SortOrder, MaxResults, NextToken)
        return shapes.with_token({"ModelPackageSummaryList": [shapes.package_summary(row) for row in rows]}, token)

    def update_model_package(
        self,
        *,
        ModelPackageArn: str,
        ModelApprovalStatus: str | None = None,
        ApprovalDescription: str | None = None,
        CustomerMetadataProperties: Mapping[str, str] | None = None,
        CustomerMetadataPropertiesToRemove: list[str] | None = None,
        ModelLifeCycle: Mapping[str, str] | None = None,
        **other: Any,
    ) -> dict[str, Any]:
        shapes.ignore_or_reject("UpdateModelPackage", other, ignorable={"ClientToken"})
        status = None if ModelApprovalStatus is None else m.check_status(ModelApprovalStatus)
        life_cycle = None if ModelLifeCycle is None else m.check_life_cycle(ModelLifeCycle)
        with self._db.transaction() as conn:
            row = self._find_package(conn, ModelPackageArn)
            request = json.loads(row["request"])
            metadata = {**request.get("CustomerMetadataProperties", {}), **(CustomerMetadataProperties or {})}
            for key in CustomerMetadataPropertiesToRemove or []:
                metadata.pop(key, None)
            if metadata or "CustomerMetadataProperties" in request:
                request["CustomerMetadataProperties"] = metadata
            if life_cycle is not None:
                request["ModelLifeCycle"] = life_cycle
            conn.execute(
                "UPDATE model_packages SET approval_status = COALESCE(?, approval_status),"
                " approval_description = COALESCE(?, approval_description), modified_at = ?, request = ?"
                " WHERE arn = ?",
                (status, ApprovalDescription, m.to_text(now()), m.dumps(request), row["arn"]),
            )
        if status is not None:
            logger.info("%s is now %s", row["arn"], status)
        return {"ModelPackageArn": row["arn"]}

    # -- models -------------------------------------------------------------------------------------

    def create_model(self, **request: Any) -> dict[str, Any]:
        """A model record: its containers (image, ``ModelDataUrl``, environment) under a unique ``ModelName``."""
        unknown = sorted(set(request) - m.CREATE_MODEL_KEYS)
        if unknown:
            raise RegistryError(f"CreateModel got unknown parameter(s): {', '.join(unknown)}")
        name = m.check_model_name(request.get("ModelName"))
        shapes.check_model_containers(request)
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}:model/{name.lower()}"
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO models (name, arn, created_at, request) VALUES (?, ?, ?, ?)",
                    (name, arn, m.to_text(now()), m.dumps(request)),
                )
        except RegistryError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise RegistryError(f"Cannot create already existing model {arn!r}") from exc
            raise
        logger.info("created model %s", name)
        return {"ModelArn": arn}

    def describe_model(self, *, ModelName: str) -> dict[str, Any]:
        """DescribeModel's shape: the request less ``Tags``, with ``ModelArn``, ``CreationTime`` and defaults."""
        with self._db.reading() as conn:
            row = conn.execute("SELECT * FROM models WHERE name = ?", (ModelName,)).fetchone()
        if row is None:
            raise RegistryError(f"Could not find model {ModelName!r}")
        request = json.loads(row["request"])
        described = {key: value for key, value in request.items() if key != "Tags"}
        described.update(
            ModelName=row["name"],
            ModelArn=row["arn"],
            CreationTime=m.from_text(row["created_at"]),
            EnableNetworkIsolation=bool(request.get("EnableNetworkIsolation", False)),
        )
        return described

    def delete_model(self, *, ModelName: str) -> dict[str, Any]:
        """DeleteModel: the model record goes; what serves it already keeps serving, as on SageMaker."""
        with self._db.transaction() as conn:
            deleted = conn.execute("DELETE FROM models WHERE name = ?", (ModelName,)).rowcount
        if not deleted:
            raise RegistryError(f"Could not find model {ModelName!r}")
        logger.info("deleted model %s", ModelName)
        return {}

    # -- internals ----------------------------------------------------------------------------------

    def _group_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package-group/{name.lower()}"

    def _package_arn(self, group: str, version: int) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package/{group.lower()}/{version}"

    @staticmethod
    def _group_name(name_or_arn: object) -> str:
        if not isinstance(name_or_arn, str):
            raise RegistryError(f"ModelPackageGroupName must be a string, got {name_or_arn!r}")
        match = _GROUP_ARN.match(name_or_arn)
        return match.group(1) if match else name_or_arn

    def _insert_group(self, conn: sqlite3.Connection, name: str, description: str | None, *, or_ignore: bool) -> None:
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        conn.execute(
            f"{verb} INTO model_package_groups (name, arn, description, created_at) VALUES (?, ?, ?, ?)",
            (name, self._group_arn(name), description, m.to_text(now())),
        )

    def _package_row(self, name: str) -> sqlite3.Row:
        with self._db.reading() as conn:
            return self._find_package(conn, name)

    def _find_package(self, conn: sqlite3.Connection, name: object) -> sqlite3.Row:
        if not isinstance(name, str):
            raise RegistryError(f"expected a model package ARN or '<group>/<version>', got {name!r}")
        arn_match = _PACKAGE_ARN.match(name)
        if arn_match:
            region, account, group, version = arn_match.groups()
            if (region, account) != (self.region, self.account):
                raise RegistryError(
                    f"model package {name} belongs to {region}/{account}; this registry is {self.region}/{self.account}"
                )
        else:
            plain = _GROUP_VERSION.match(name)
            if not plain:
                raise RegistryError(f"expected a model package ARN or '<group>/<version>', got {name!r}")
            group, version = plain.groups()
        if len(version) > MAX_VERSION_DIGITS or int(version) < 1:
            cut = name if len(name) <= 2 * SHOWN else f"{name[: 2 * SHOWN]}..."
            raise RegistryError(
                f"model package {cut} does not exist: a version is a whole number from 1 to "
                f"{10**MAX_VERSION_DIGITS - 1:,}"
            )
        row = conn.execute(
            "SELECT * FROM model_packages WHERE group_name = ? AND version = ?", (group, int(version))
        ).fetchone()
        if row is None:
            raise RegistryError(f"model package {name} does not exist")
        return row

    def _page(
        self,
        table: str,
        where: list[str],
        params: list[Any],
        columns: Mapping[str, str],
        sort_by: str,
        sort_order: str,
        max_results: int,
        next_token: str | None,
    ) -> tuple[list[sqlite3.Row], str | None]:
        order = columns[m.check_choice(sort_by, "SortBy", m.SORT_BY)]
        direction = "DESC" if m.check_choice(sort_order, "SortOrder", m.SORT_ORDERS) == "Descending" else "ASC"
        limit = m.check_max_results(max_results)
        offset = 0 if next_token is None else m.decode_token(next_token)
        order_sql = ", ".join(f"{column.strip()} {direction}" for column in order.split(","))
        where_sql = f"WHERE {' AND '.join(where)}" if where else ""
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT * FROM {table} {where_sql} ORDER BY {order_sql} LIMIT ? OFFSET ?",
                (*params, limit + 1, offset),
            ).fetchall()
        token = m.encode_token(offset + limit) if len(rows) > limit else None
        return rows[:limit], token
