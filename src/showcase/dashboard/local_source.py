"""The dashboard's view of this machine: the local runtime's executions, the local registry and endpoints.

Reads only; the two writes are the runtime's own retry (in a background thread, as ``showcase retry`` would run
it) and the registry's approval rule (``showcase.registry.approval``, as ``showcase registry approve``).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from markupsafe import Markup

from showcase import local
from showcase.dashboard.source import (
    Capture,
    Conflict,
    DashboardError,
    Endpoint,
    Execution,
    Group,
    ModelQuality,
    Monitoring,
    MonitoringRun,
    NotFound,
    Package,
    Promotion,
    QualityRun,
    Rollout,
    Variant,
    approval_conflict,
)
from showcase.errors import RegistryError, ShowcaseError, UsageError
from showcase.local.engine import RETRYABLE
from showcase.local.records import ExecutionRecord, ExecutionStore
from showcase.monitoring.quality_runs import list_model_quality_runs
from showcase.monitoring.report import feature_plots, quality_svg
from showcase.monitoring.runs import list_runs
from showcase.paging import paginate
from showcase.processes import pid_alive
from showcase.registry import Registry
from showcase.registry.approval import ApprovalRefused, Decision, set_approval, stage_of
from showcase.serving import promotion, rollout
from showcase.serving.deployment import Deployment, EndpointPaths, read_deployment, read_server_info
from showcase.serving.errors import ServingError
from showcase.serving.metrics import BUCKETS_MS, read_worker_files
from showcase.settings import Settings
from showcase.statuses import ApprovalStatus, EndpointStatus, ExecutionStatus
from showcase.store import ObjectStore, StoreError

logger = logging.getLogger(__name__)
RECENT_CAPTURES = 20

RECENT_MONITORING_RUNS = 10
RECENT_DEPLOYMENTS = 5


class LocalSource:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = ObjectStore(settings.store_root)
        self._records = ExecutionStore(settings.executions_root)
        self._retries: dict[str, threading.Thread] = {}

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
        root = self.settings.home / "endpoints"
        names = sorted(p.name for p in root.iterdir() if (p / "deployment.json").is_file()) if root.is_dir() else []
        return [self._endpoint(name, captures=False) for name in names]

    def endpoint(self, name: str) -> Endpoint:
        return self._endpoint(name, captures=True)

    def _endpoint(self, name: str, *, captures: bool) -> Endpoint:
        try:
            paths = EndpointPaths(self.settings.home, name)
        except UsageError:
            raise NotFound(f"no endpoint {name!r}") from None
        deployment = read_deployment(paths)
        if deployment is None:
            raise NotFound(f"no endpoint {name!r} under {self.settings.home / 'endpoints'}")
        server = read_server_info(paths)
        workers = read_worker_files(paths.workers_dir)
        requests = sum(int(w.get("requests", 0)) for w in workers)
        by_status: dict[str, int] = {}
        for worker in workers:
            for code, count in (worker.get("by_status") or {}).items():
                by_status[code] = by_status.get(code, 0) + int(count)
        latency = sum(float(w.get("latency_ms_sum", 0.0)) for w in workers)
        recent: tuple[Capture, ...] = ()
        monitoring = Monitoring()
        records = rollout.list_deployments(paths)
        details: dict[str, Any] = {}
        if captures:
            monitoring = self._monitoring(name)
            if deployment.capture.enabled:
                recent = tuple(self._captures(f"{deployment.capture.destination_uri}/{name}/"))
            details = {
                "rollouts": tuple(_rollout(record) for record in records[:RECENT_DEPLOYMENTS]),
                "model_quality": self._model_quality(name),
                "promotion": self._promotion(name, deployment),
            }
        status: str = EndpointStatus.IN_SERVICE if server else EndpointStatus.OUT_OF_SERVICE
        if records and rollout.in_progress(records[0]):
            status = EndpointStatus(records[0]["Status"])
        return Endpoint(
            name=name,
            status=status,
            model_package_arn=deployment.model_package_arn,
            package_ref=self._ref_of(deployment.model_package_arn),
            requests=requests,
            errors=sum(count for code, count in by_status.items() if not code.startswith("2")),
            mean_latency_ms=latency / requests if requests else None,
            p95_latency_ms=_quantile_ms(workers, 0.95),
            by_status=by_status,
            workers=sum(1 for w in workers if server and pid_alive(int(w.get("pid", 0)))),
            url=server.url if server else None,
            captures=recent,
            monitoring=monitoring,
            variants=_variants(deployment),
            **details,
        )

    def _model_quality(self, name: str) -> ModelQuality:
        runs = list_model_quality_runs(self.store, name)[:RECENT_MONITORING_RUNS]
        shown = tuple(
            QualityRun(
                run_id=str(run["run_id"]),
                status=str(run.get("status", "")),
                until=str(run.get("until", "")),
                pairs=int(run.get("pairs", 0)),
                metrics={key: float(value) for key, value in (run.get("cloudwatch_metrics") or {}).items()},
                violations=tuple(run.get("violations") or ()),
                failure_reason=run.get("failure_reason"),
            )
            for run in runs
        )
        points = [(run.run_id, run.metrics["mse"]) for run in reversed(shown) if "mse" in run.metrics]
        # quality_svg embeds numbers and escaped run ids only: markup to insert as it is.
        return ModelQuality(runs=shown, plot=Markup(quality_svg(points, "mse")) if points else None)

    def _promotion(self, name: str, deployment: Deployment) -> Promotion:
        root = self.settings.home / "endpoints"
        others = sorted(
            p.name for p in root.iterdir() if p.name != name and (p / "deployment.json").is_file()
        ) if root.is_dir() else []  # fmt: skip
        registry = self._registry()
        stage = None
        try:
            described = (
                registry.describe_model_package(ModelPackageName=deployment.model_package_arn) if registry else None
            )
        except RegistryError:
            described = None
        decision = stage_of(described) if described else None
        if decision is not None:
            stage = f"{decision.stage}: {decision.status}" + (
                f" ({decision.description})" if decision.description else ""
            )
        return Promotion(targets=tuple(others), stage=stage)

    def promote(self, name: str, target: str, approver: str, comment: str) -> str:
        try:
            plan = promotion.plan(self.settings, name, target)
            promotion.approve(self.settings, plan, approver=approver, comment=comment)
        except (UsageError, ServingError) as exc:
            raise Conflict(str(exc)) from None
        if plan.already_served:
            return f"approved; endpoint {target} already serves {plan.model_package_arn}"
        promotion.start_in_background(self.settings, name, target)
        return f"approved by {approver}; deploying {plan.model_package_arn} to endpoint {target}"

    def _monitoring(self, name: str) -> Monitoring:
        runs = list_runs(self.store, name)[:RECENT_MONITORING_RUNS]
        shown = tuple(
            MonitoringRun(
                run_id=str(run["run_id"]),
                status=str(run.get("status", "")),
                since=run.get("since"),
                until=str(run.get("until", "")),
                rows=int(run.get("rows", 0)),
                malformed_lines=int(run.get("malformed_lines", 0)),
                violations=tuple(run.get("violations") or ()),
                has_report=bool(run.get("report")),
            )
            for run in runs
        )
        latest = next((run for run in runs if run.get("statistics")), None)
        plots: tuple[tuple[str, str], ...] = ()
        if latest is not None:
            try:
                baseline = json.loads(self.store.get_bytes(latest["baseline_statistics"]))
                current = json.loads(self.store.get_bytes(latest["statistics"]))
                # feature_svg escapes every text it embeds (the feature name): markup to insert as it is.
                plots = tuple((name, Markup(svg)) for name, svg in feature_plots(baseline, current))
            except (StoreError, ValueError, KeyError, TypeError):
                plots = ()
        return Monitoring(runs=shown, plots=plots)

    def monitoring_report(self, name: str, run_id: str) -> bytes:
        for run in list_runs(self.store, name):
            if run.get("run_id") == run_id and run.get("report"):
                try:
                    return self.store.get_bytes(run["report"])
                except StoreError:
                    break
        raise NotFound(f"no monitoring report {run_id!r} for endpoint {name!r}")

    def _ref_of(self, arn: str) -> str | None:
        registry = self._registry()
        try:
            described = registry.describe_model_package(ModelPackageName=arn) if registry else None
        except RegistryError:
            return None
        return f"{described['ModelPackageGroupName']}/{described['ModelPackageVersion']}" if described else None

    def _captures(self, prefix: str) -> list[Capture]:
        """The newest captured requests, newest first across every worker's file.

        Each worker appends to a file of its own and starts a new one each hour, in that hour's directory: the
        newest requests are in the newest hour's files, interleaved; older hours follow when it holds too few.
        """
        try:
            files = self.store.list(prefix)
        except StoreError:
            return []
        by_hour: dict[str, list[str]] = {}
        for uri in files:
            by_hour.setdefault(uri.rsplit("/", 1)[0], []).append(uri)
        found: list[Capture] = []
        for hour in sorted(by_hour, reverse=True):
            lines = [line for uri in by_hour[hour] for line in _tail(self.store.path_of(uri), RECENT_CAPTURES)]
            captures = [c for c in (_capture(line) for line in lines) if c is not None]
            found += sorted(captures, key=lambda capture: capture.time, reverse=True)
            if len(found) >= RECENT_CAPTURES:
                break
        return found[:RECENT_CAPTURES]


def _tail(path: Path, count: int) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:]
    except OSError:
        return []


def _capture(line: str) -> Capture | None:
    try:
        record = json.loads(line)
        data = record["captureData"]
        return Capture(
            time=record["eventMetadata"]["inferenceTime"],
            request=str(data["endpointInput"]["data"]),
            response=str(data["endpointOutput"]["data"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _quantile_ms(workers: list[dict[str, Any]], q: float) -> float | None:
    """The upper bound of the latency bucket holding the q-th quantile, summed over workers."""
    labels = [*(str(int(b)) if b.is_integer() else str(b) for b in BUCKETS_MS), "+Inf"]
    totals = [sum(int((w.get("latency_ms_buckets") or {}).get(label, 0)) for w in workers) for label in labels]
    if not totals[-1]:
        return None
    for bound, cumulative in zip((*BUCKETS_MS, float("inf")), totals, strict=True):
        if cumulative >= q * totals[-1]:
            return bound
    return None


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
        model_data_url=containers[0].get("ModelDataUrl"),
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


def _variants(deployment: Deployment) -> tuple[Variant, ...]:
    """Every variant with its share of the traffic now, the new fleet's during a deployment."""
    new_share = deployment.new_share if deployment.new_fleet is not None else 0.0
    found = []
    for fleet, share, label in (
        (deployment.fleet, 1.0 - new_share, "serving"),
        (deployment.new_fleet, new_share, "new"),
    ):
        if fleet is None:
            continue
        shares = fleet.shares()
        found += [Variant(v.name, v.model_package_arn, shares[v.name] * share, label) for v in fleet.variants]
        if fleet.shadow is not None:
            found.append(Variant(fleet.shadow.name, fleet.shadow.model_package_arn, 0.0, label, shadow=True))
    return tuple(found)


def _rollout(record: dict[str, Any]) -> Rollout:
    return Rollout(
        deployment_id=str(record.get("DeploymentId", "")),
        status=str(record.get("Status", "")) if rollout.in_progress(record) or record.get("Outcome") else "Stopped",
        outcome=record.get("Outcome"),
        reason=record.get("Reason"),
        routing=str(record.get("Routing", "")),
        step=int(record.get("Step", 0)),
        steps=len(record.get("Shares") or []),
        new_share=float(record.get("NewFleetShare", 0.0)),
        started=str(record.get("StartTime", "")),
        ended=record.get("EndTime"),
        to=dict(record.get("To") or {}),
        events=tuple((str(e.get("Time", "")), str(e.get("Message", ""))) for e in record.get("Events") or []),
        alarms=tuple(record.get("Alarms") or ()),
    )
