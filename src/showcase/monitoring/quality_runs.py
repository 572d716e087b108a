"""A model-quality run over one endpoint's captures joined with their ground truth, and the runs kept so far.

A run pairs the predictions the endpoint's production variants captured in its window with the labels uploaded
under the ground-truth URI (``ground_truth``), measures them (``model_quality.statistics``) and checks them
against the model-quality constraints of the package the endpoint serves: ``--constraints`` if given, else the
package's ``DriftCheckBaselines.ModelQuality`` or ``ModelMetrics.ModelQuality`` constraints, else constraints
suggested from its ModelQuality statistics (the pipeline's evaluation.json). It keeps, under
``<output>/<endpoint>/model-quality/<run id>/`` in the object store:

    statistics.json              regression_metrics of the pairs (Model Monitor's model-quality schema)
    constraint_violations.json   {"violations": [...]} (empty when clean)
    run.json                     this run: window, counts, status, violations, the metrics it published

``run.json`` is written last. Its ``cloudwatch_metrics`` are what a model-quality job publishes (mse, rmse, mae,
r2 in ``aws/sagemaker/Endpoints/model-metrics``), the values the rollback alarms read. Statuses are Model Monitor's:
Completed, CompletedWithViolations, or Failed when no capture of the window found its label.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from showcase import clock
from showcase.errors import MonitoringError
from showcase.monitoring import model_quality
from showcase.monitoring.baselines import model_quality_uris
from showcase.monitoring.captures import capture_prefix, timestamp
from showcase.monitoring.ground_truth import Merge, merge_ground_truth
from showcase.monitoring.runs import DEFAULT_OUTPUT_URI, run_id, runs_prefix, served
from showcase.registry import Registry
from showcase.settings import Settings
from showcase.statuses import MonitoringStatus
from showcase.store import ObjectStore, StoreError

MODEL_QUALITY = "ModelQuality"
NO_PAIRS = "no captured inference of the window has its ground truth"


def model_quality_prefix(endpoint_name: str, output_uri: str = DEFAULT_OUTPUT_URI) -> str:
    return f"{runs_prefix(endpoint_name, output_uri)}model-quality/"


def list_model_quality_runs(
    store: ObjectStore, endpoint_name: str, output_uri: str = DEFAULT_OUTPUT_URI
) -> list[dict[str, Any]]:
    """The endpoint's complete model-quality runs, newest first."""
    found = []
    for uri in store.list(model_quality_prefix(endpoint_name, output_uri)):
        if uri.endswith("/run.json"):
            try:
                found.append(json.loads(store.get_bytes(uri)))
            except (StoreError, ValueError):
                continue
    return sorted(found, key=lambda run: str(run.get("run_id", "")), reverse=True)


def _document(store: ObjectStore, uri: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(store.get_bytes(uri))
    except StoreError as exc:
        raise MonitoringError(f"the model-quality {what} cannot be read: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MonitoringError(f"the model-quality {what} {uri} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MonitoringError(f"the model-quality {what} {uri} is not a JSON object")
    return document


def baseline_constraints(
    store: ObjectStore, package: dict[str, Any], constraints_uri: str | None
) -> tuple[dict[str, Any], str]:
    """The constraints to check against, and where they came from."""
    if constraints_uri:
        return _document(store, constraints_uri, "constraints"), constraints_uri
    statistics_uri, registered = model_quality_uris(package)
    if registered:
        return _document(store, registered, "constraints"), registered
    if statistics_uri:
        statistics = _document(store, statistics_uri, "statistics")
        suggested = model_quality.suggest_constraints(statistics, f"the model-quality statistics {statistics_uri}")
        return suggested, f"suggested from {statistics_uri}"
    raise MonitoringError(
        f"model package {package.get('ModelPackageArn')} has no model-quality baseline (ModelMetrics.ModelQuality or "
        "DriftCheckBaselines.ModelQuality); pass --constraints with a constraints.json"
    )


def run_model_quality(
    settings: Settings,
    store: ObjectStore,
    registry: Registry,
    endpoint_name: str,
    *,
    ground_truth_uri: str,
    since: datetime | None = None,
    until: datetime | None = None,
    output_uri: str = DEFAULT_OUTPUT_URI,
    constraints_uri: str | None = None,
    variants: list[str] | None = None,
    inference_attribute: int = 0,
) -> dict[str, Any]:
    """One model-quality run; returns its run.json document."""
    deployment, package = served(settings, registry, endpoint_name)
    constraints, constraints_source = baseline_constraints(store, package, constraints_uri)
    names = variants or [variant.name for variant in deployment.fleet.variants]

    started = clock.now()
    until = until or started
    if since is None:
        previous = list_model_quality_runs(store, endpoint_name, output_uri)
        since = datetime.fromisoformat(previous[0]["until"].replace("Z", "+00:00")) if previous else None
    prefixes = [capture_prefix(deployment.capture.destination_uri, endpoint_name, name) for name in names]
    merge = merge_ground_truth(
        store, ground_truth_uri, prefixes, since=since, until=until, inference_attribute=inference_attribute
    )
    identifier = run_id(started)
    prefix = f"{model_quality_prefix(endpoint_name, output_uri)}{identifier}/"
    run: dict[str, Any] = {
        "monitoring_type": MODEL_QUALITY,
        "problem_type": model_quality.PROBLEM_TYPE,
        "run_id": identifier,
        "endpoint_name": endpoint_name,
        "model_package_arn": deployment.model_package_arn,
        "variants": names,
        "captures": prefixes,
        "ground_truth": ground_truth_uri,
        "constraints": constraints_source,
        "since": timestamp(since) if since else None,
        "until": timestamp(until),
        "started": timestamp(started),
        "records": merge.captures,
        "labels": merge.labels,
        "matched": merge.matched,
        "pairs": len(merge.actual),
        "unpaired": dict(merge.unpaired),
        "unpaired_examples": merge.examples,
        "violations": [],
        "cloudwatch_metrics": {},
    }
    _judge(store, prefix, run, merge, constraints, started)
    run["ended"] = timestamp(_now())
    store.put_bytes(prefix + "run.json", _json(run))
    return run


def _judge(
    store: ObjectStore,
    prefix: str,
    run: dict[str, Any],
    merge: Merge,
    constraints: dict[str, Any],
    started: datetime,
) -> None:
    """The run's statistics and violations over the matched pairs, written beside it; FAILED without a pair."""
    if not merge.actual:
        run.update(status=MonitoringStatus.FAILED.value, failure_reason=NO_PAIRS)
        return
    actual, predicted = merge.arrays()
    statistics = model_quality.statistics(actual, predicted, started)
    found = model_quality.violations(statistics, constraints)
    run.update(
        status=(MonitoringStatus.COMPLETED_WITH_VIOLATIONS if found else MonitoringStatus.COMPLETED).value,
        violations=found,
        regression_metrics=statistics["regression_metrics"],
        cloudwatch_metrics=model_quality.cloudwatch_metrics(statistics),
        statistics=prefix + "statistics.json",
        constraint_violations=prefix + "constraint_violations.json",
    )
    store.put_bytes(prefix + "statistics.json", _json(statistics))
    store.put_bytes(prefix + "constraint_violations.json", _json({"violations": found}))


def _now() -> datetime:
    return clock.now()


def _json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")
