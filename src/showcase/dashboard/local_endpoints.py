"""The dashboard's view of this machine's endpoints: what each serves and to whom, read from its records.

An endpoint's ``deployment.json``, its workers' metric files, its deployment records (``serving.rollout_records``),
its captures, and the monitoring and model-quality runs kept in the object store; the one write is a promotion
(``showcase.serving.promotion``, as ``showcase endpoint promote`` runs it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markupsafe import Markup

from showcase.dashboard.source import (
    Capture,
    Conflict,
    Endpoint,
    ModelQuality,
    Monitoring,
    MonitoringRun,
    NotFound,
    Promotion,
    QualityRun,
    Rollout,
    Variant,
)
from showcase.errors import RegistryError, UsageError
from showcase.monitoring.quality_runs import list_model_quality_runs
from showcase.monitoring.report import feature_plots, quality_svg
from showcase.monitoring.runs import list_runs
from showcase.processes import pid_alive
from showcase.registry import Registry
from showcase.registry.approval import stage_of
from showcase.serving import promotion, rollout_records
from showcase.serving.deployment import Deployment, EndpointPaths, read_deployment, read_server_info
from showcase.serving.errors import ServingError
from showcase.serving.metrics import BUCKETS_MS, read_worker_files
from showcase.settings import Settings
from showcase.statuses import EndpointStatus
from showcase.store import ObjectStore, StoreError

RECENT_CAPTURES = 20
RECENT_MONITORING_RUNS = 10
RECENT_DEPLOYMENTS = 5


class LocalEndpoints:
    """The endpoints under the home; ``registry`` gives the model registry, or None when there is none yet."""

    def __init__(self, settings: Settings, store: ObjectStore, registry: Callable[[], Registry | None]) -> None:
        self.settings, self.store, self.registry = settings, store, registry

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
        records = rollout_records.list_deployments(paths)
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
        if records and rollout_records.in_progress(records[0]):
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
        registry = self.registry()
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
        registry = self.registry()
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
        status=str(record.get("Status", ""))
        if rollout_records.in_progress(record) or record.get("Outcome")
        else "Stopped",
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
