"""The dashboard's view of this machine: the local runtime's executions, the local registry and endpoints (the
endpoints' records are read by ``dashboard.local_endpoints``).

Reads only; the two writes are the runtime's own retry (in a background thread, as ``showcase retry`` would run
it) and the registry's approval rule (``showcase.registry.approval``, as ``showcase registry approve``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from showcase import local
from showcase.callbacks import Callbacks
from showcase.dashboard.local_endpoints import LocalEndpoints
from showcase.dashboard.source import (
    Conflict,
    DashboardError,
    Endpoint,
    Execution,
    Group,
    NotFound,
    Package,
    approval_conflict,
)
from showcase.errors import RegistryError, ShowcaseError, UsageError
from showcase.local.engine import RETRYABLE
from showcase.local.records import ExecutionRecord, ExecutionStore
from showcase.paging import paginate
from showcase.registry import Registry
from showcase.registry.approval import ApprovalRefused, Decision, set_approval
from showcase.settings import Settings
from showcase.statuses import ApprovalStatus, ExecutionStatus
from showcase.store import ObjectStore, StoreError

logger = logging.getLogger(__name__)


class LocalSource:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = ObjectStore(settings.store_root)
        self._records = ExecutionStore(settings.executions_root)
        self._retries: dict[str, threading.Thread] = {}
        self._endpoints = LocalEndpoints(settings, self.store, self._registry)

    @property
    def title(self) -> str:
        return f"local · {self.settings.home}"

    # -- executions ---------------------------------------------------------------------------------

    def executions(self) -> list[Execution]:
        return [_execution(r, self._definition(r.execution_id)) for r in local.list_executions(self.settings)]

    def execution(self, execution_id: str) -> Execution:
        record = self._record(execution_id)
        return _execution(record, self._definition(execution_id), self._registered(record))

    def _registered(self, record: ExecutionRecord) -> tuple[Package, ...]:
        """The packages the execution's RegisterModel steps registered, as the registry describes them now."""
        registry = self._registry()
        found = []
        for step in record.steps:
            arn = (step.properties or {}).get("ModelPackageArn")
            if registry is None or step.type != "RegisterModel" or not isinstance(arn, str):
                continue
            try:
                described = registry.describe_model_package(ModelPackageName=arn)
                extras = registry.describe_model_package_extras(ModelPackageName=arn)
            except RegistryError:
                continue
            found.append(_package(described, extras["Metrics"], extras["Lineage"]))
        return tuple(found)

    def _definition(self, execution_id: str) -> dict[str, Any] | None:
        try:
            definition, _ = self._records.load_inputs(execution_id)
        except (OSError, ValueError):
            return None
        return definition if isinstance(definition, dict) else None

    def step_log(self, execution_id: str, step_name: str) -> str:
        record = self._record(execution_id)
        trials = {log.stem: log for step in record.steps for log in self._records.trial_logs(execution_id, step.name)}
        if step_name in trials:
            return trials[step_name].read_text(encoding="utf-8", errors="replace")
        if step_name not in {step.name for step in record.steps}:
            raise NotFound(f"execution {execution_id} has no step {step_name!r}")
        path = self._records.log_path(execution_id, step_name)
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    def waiting_callback(self, execution_id: str, step_name: str) -> dict[str, Any] | None:
        return Callbacks(self.settings.home).waiting_on(execution_id, step_name)

    def complete_callback(self, execution_id: str, step: str, outputs: dict[str, str], failure: str | None) -> None:
        try:
            Callbacks(self.settings.home).complete_step(execution_id, step, outputs, failure)
        except ShowcaseError as exc:
            raise Conflict(str(exc)) from exc

    def retry(self, execution_id: str) -> None:
        record = self._record(execution_id)
        running = self._retries.get(execution_id)
        if record.status in (ExecutionStatus.EXECUTING, ExecutionStatus.STOPPING) or (running and running.is_alive()):
            raise Conflict(f"execution {execution_id} is running (process {record.pid}); wait for it or stop it")
        if record.status not in RETRYABLE:
            raise Conflict(
                f"execution {execution_id} is {record.status}; only a Failed or Stopped execution can be retried"
            )
        thread = threading.Thread(target=self._run_retry, args=(execution_id,), name=f"retry-{execution_id}")
        thread.daemon = True
        self._retries[execution_id] = thread
        thread.start()

    def _run_retry(self, execution_id: str) -> None:
        try:
            record = local.retry_execution(execution_id, settings=self.settings)
            logger.info("retry of %s ended %s", execution_id, record.status)
        except ShowcaseError as exc:
            logger.error("retry of %s failed: %s", execution_id, exc)

    def _record(self, execution_id: str) -> ExecutionRecord:
        if not execution_id.isalnum():
            raise NotFound(f"no execution {execution_id!r}")
        try:
            return self._records.load(execution_id)
        except UsageError as exc:
            raise NotFound(str(exc)) from None

    # -- models -------------------------------------------------------------------------------------

    def _registry(self) -> Registry | None:
        if not self.settings.registry_path.is_file():
            return None
        return Registry.from_settings(self.settings)

    def groups(self) -> list[Group]:
        registry = self._registry()
        if registry is None:
            return []
        summaries = registry.list_model_package_groups(MaxResults=100)["ModelPackageGroupSummaryList"]
        found = []
        for summary in summaries:
            name = summary["ModelPackageGroupName"]
            packages = _all_packages(registry, name)
            approved = sum(1 for p in packages if p["ModelApprovalStatus"] == ApprovalStatus.APPROVED)
            found.append(Group(name, summary["CreationTime"], len(packages), approved))
        return found

    def packages(self, group: str) -> list[Package]:
        registry = self._require_registry()
        try:
            registry.describe_model_package_group(ModelPackageGroupName=group)
        except RegistryError as exc:
            raise NotFound(str(exc)) from None
        summaries = _all_packages(registry, group)
        return [self.package(group, int(s["ModelPackageVersion"])) for s in reversed(summaries)]

    def package(self, group: str, version: int) -> Package:
        registry = self._require_registry()
        ref = f"{group}/{version}"
        try:
            described = registry.describe_model_package(ModelPackageName=ref)
            extras = registry.describe_model_package_extras(ModelPackageName=ref)
        except RegistryError as exc:
            raise NotFound(str(exc)) from None
        return _package(described, extras["Metrics"], extras["Lineage"])

    def report(self, group: str, version: int) -> bytes:
        package = self.package(group, version)
        if not package.report_uri:
            raise NotFound(f"model package {package.ref} names no EvaluationReport (registered before reports existed)")
        try:
            return self.store.get_bytes(package.report_uri)
        except StoreError as exc:
            raise NotFound(f"the report of {package.ref} is missing: {exc}") from None

    def set_status(self, group: str, version: int, status: str, description: str, *, force: bool) -> Decision:
        registry = self._require_registry()
        self.package(group, version)  # unknown: NotFound
        try:
            decision = set_approval(registry, f"{group}/{version}", status, description, force=force)
        except ApprovalRefused as exc:
            raise approval_conflict(exc) from None
        except RegistryError as exc:
            raise DashboardError(str(exc)) from None
        return decision

    def _require_registry(self) -> Registry:
        registry = self._registry()
        if registry is None:
            raise NotFound(f"no model registry at {self.settings.registry_path}: run a pipeline with --local first")
        return registry

    # -- endpoints ----------------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        return self._endpoints.endpoints()

    def endpoint(self, name: str) -> Endpoint:
        return self._endpoints.endpoint(name)

    def promote(self, name: str, target: str, approver: str, comment: str) -> str:
        return self._endpoints.promote(name, target, approver, comment)

    def monitoring_report(self, name: str, run_id: str) -> bytes:
        return self._endpoints.monitoring_report(name, run_id)


def _all_packages(registry: Registry, group: str) -> list[dict[str, Any]]:
    return list(paginate(registry.list_model_packages, "ModelPackageSummaryList", ModelPackageGroupName=group))


def _package(described: dict[str, Any], metrics: Any, lineage: Any) -> Package:
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or [{}]
    metadata = dict(described.get("CustomerMetadataProperties") or {})
    return Package(
        group=described["ModelPackageGroupName"],
        version=int(described["ModelPackageVersion"]),
        arn=described["ModelPackageArn"],
        status=described["ModelApprovalStatus"],
        created=described.get("CreationTime"),
        metrics=metrics if isinstance(metrics, dict) else None,
        description=described.get("ModelPackageDescription"),
        approval_description=described.get("ApprovalDescription") or None,
        model_data_url=containers[-1].get("ModelDataUrl"),
        report_uri=metadata.get("EvaluationReport"),
        metadata=metadata,
        lineage=lineage if isinstance(lineage, dict) else None,
    )


def _execution(
    record: ExecutionRecord, definition: dict[str, Any] | None = None, registered: tuple[Package, ...] = ()
) -> Execution:
    return Execution(
        execution_id=record.execution_id,
        pipeline_name=record.pipeline_name,
        status=record.status,
        start=record.start,
        end=record.end,
        failure_reason=record.failure_reason,
        parameters=dict(record.parameters),
        steps=tuple(step.report() for step in record.steps),
        definition=definition,
        registered=registered,
    )
