"""A monitoring run over one endpoint's captured traffic, and the runs kept so far.

A run reads the baseline of the model package the endpoint serves (``DriftCheckBaselines.ModelDataQuality``,
else ``ModelMetrics.ModelDataQuality``), profiles the rows captured in its window, checks them, and keeps
everything under ``<output>/<endpoint>/<run id>/`` in the object store:

    statistics.json              the captured rows' statistics (Model Monitor's schema)
    constraint_violations.json   {"violations": [...]} (empty when clean)
    report.html                  the verdict and one plot per feature
    run.json                     this run: window, counts, status, violations, where the files are, and the
                                 metrics Model Monitor publishes (cloudwatch_metrics: feature_baseline_drift_<f>)

``run.json`` is written last: a run is listed only once it is complete. Statuses are Model Monitor's
monitoring-execution statuses: Completed, CompletedWithViolations, or Failed when nothing was captured in the
window ("Job inputs had no data"). A window starts, unless given, where the previous run's ended.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from showcase.clock import now
from showcase.errors import MonitoringError, RegistryError
from showcase.monitoring.baselines import baseline_uris
from showcase.monitoring.captures import CaptureScan, capture_prefix, inference_time, read_rows
from showcase.monitoring.checks import drift_distances
from showcase.monitoring.checks import violations as check
from showcase.monitoring.profile import Profile, type_counts
from showcase.monitoring.report import report_html
from showcase.monitoring.statistics import statistics
from showcase.registry import Registry
from showcase.serving.deployment import Deployment, EndpointPaths, read_deployment
from showcase.settings import Settings
from showcase.statuses import MonitoringStatus
from showcase.store import ObjectStore, StoreError

DEFAULT_OUTPUT_URI = "s3://showcase-local/monitoring"
NO_DATA = "Job inputs had no data"


def _document(store: ObjectStore, uri: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(store.get_bytes(uri))
    except StoreError as exc:
        raise MonitoringError(f"the baseline {what} cannot be read: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MonitoringError(f"the baseline {what} {uri} is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        raise MonitoringError(f"the baseline {what} {uri} has no features list: not Model Monitor's format")
    return document


def run_id(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H-%M-%S-%fZ")


def runs_prefix(endpoint_name: str, output_uri: str = DEFAULT_OUTPUT_URI) -> str:
    return f"{output_uri.rstrip('/')}/{endpoint_name}/"


def list_runs(store: ObjectStore, endpoint_name: str, output_uri: str = DEFAULT_OUTPUT_URI) -> list[dict[str, Any]]:
    """The endpoint's complete runs, newest first (a run.json that cannot be read is left out)."""
    found = []
    for uri in store.list(runs_prefix(endpoint_name, output_uri)):
        if uri.endswith("/run.json"):
            try:
                run = json.loads(store.get_bytes(uri))
            except (StoreError, ValueError):
                continue
            if run.get("monitoring_type", "DataQuality") == "DataQuality":  # model-quality runs: quality_runs
                found.append(run)
    return sorted(found, key=lambda run: str(run.get("run_id", "")), reverse=True)


def run_monitoring(
    settings: Settings,
    store: ObjectStore,
    registry: Registry,
    endpoint_name: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    output_uri: str = DEFAULT_OUTPUT_URI,
) -> dict[str, Any]:
    """One monitoring run; returns its run.json document."""
    deployment, uris = _baseline_of(settings, registry, endpoint_name)
    baseline = _document(store, uris[0], "statistics")
    constraints = _document(store, uris[1], "constraints")

    started = now()
    until = until or started
    if since is None:
        previous = list_runs(store, endpoint_name, output_uri)
        since = datetime.fromisoformat(previous[0]["until"].replace("Z", "+00:00")) if previous else None
    scan = CaptureScan(capture_prefix(deployment.capture.destination_uri, endpoint_name))
    profile = Profile.of_rows(read_rows(store, scan, since, until))

    identifier = run_id(started)
    prefix = f"{runs_prefix(endpoint_name, output_uri)}{identifier}/"
    run: dict[str, Any] = {
        "run_id": identifier,
        "endpoint_name": endpoint_name,
        "model_package_arn": deployment.model_package_arn,
        "baseline_statistics": uris[0],
        "baseline_constraints": uris[1],
        "captures": scan.prefix,
        "since": inference_time(since) if since else None,
        "until": inference_time(until),
        "started": inference_time(started),
        "files": scan.files,
        "records": scan.records,
        "rows": scan.rows,
        "malformed_lines": scan.malformed_count,
        "malformed_reasons": dict(scan.malformed),
        "malformed_examples": scan.examples,
        "violations": [],
    }
    if profile.item_count == 0:
        run.update(status=MonitoringStatus.FAILED.value, failure_reason=NO_DATA, ended=inference_time(now()))
    else:
        _check(store, prefix, run, profile, baseline, constraints)
    store.put_bytes(prefix + "run.json", _json(run))
    return run


def _check(
    store: ObjectStore,
    prefix: str,
    run: dict[str, Any],
    profile: Profile,
    baseline: dict[str, Any],
    constraints: dict[str, Any],
) -> None:
    """Check the captures' profile against the baseline; write the run's statistics, violations and report."""
    current = statistics(profile)
    found = check(current, baseline, constraints, type_counts(profile))
    drift = drift_distances(current, baseline, constraints)
    run.update(
        cloudwatch_metrics={f"feature_baseline_drift_{name}": distance for name, distance in drift.items()},
        status=(MonitoringStatus.COMPLETED_WITH_VIOLATIONS if found else MonitoringStatus.COMPLETED).value,
        violations=found,
        statistics=prefix + "statistics.json",
        constraint_violations=prefix + "constraint_violations.json",
        report=prefix + "report.html",
    )
    store.put_bytes(prefix + "statistics.json", _json(current))
    store.put_bytes(prefix + "constraint_violations.json", _json({"violations": found}))
    store.put_bytes(prefix + "report.html", report_html(run, baseline, current).encode("utf-8"))
    run["ended"] = inference_time(now())


def served(settings: Settings, registry: Registry, endpoint_name: str) -> tuple[Deployment, dict[str, Any]]:
    """The endpoint's deployment and the model package it serves (what every kind of monitoring run checks)."""
    deployment = read_deployment(EndpointPaths(settings.home, endpoint_name))
    if deployment is None:
        raise MonitoringError(
            f"no endpoint named {endpoint_name!r} has been deployed under {settings.home}; "
            "start one with: showcase endpoint serve --config deploy/endpoint_config_adj.json"
        )
    try:
        package = registry.describe_model_package(ModelPackageName=deployment.model_package_arn)
    except RegistryError as exc:
        raise MonitoringError(f"endpoint {endpoint_name!r} serves {deployment.model_package_arn}: {exc}") from None
    return deployment, package


def _baseline_of(settings: Settings, registry: Registry, endpoint_name: str) -> tuple[Deployment, tuple[str, str]]:
    """The endpoint's deployment, and the data-quality baseline (statistics, constraints) of the package it serves."""
    deployment, package = served(settings, registry, endpoint_name)
    uris = baseline_uris(package)
    if uris is None:
        raise MonitoringError(
            f"model package {deployment.model_package_arn} has no data-quality baseline "
            "(DriftCheckBaselines.ModelDataQuality); register one from a pipeline with a QualityCheck step"
        )
    return deployment, uris


def _json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")
