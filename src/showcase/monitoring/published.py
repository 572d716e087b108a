"""The metrics an endpoint's monitoring runs published, as a source the rollback alarms read.

A data-quality run publishes ``feature_baseline_drift_<feature>`` (``aws/sagemaker/Endpoints/data-metrics``), a
model-quality run ``mse``, ``rmse``, ``mae`` and ``r2`` (``aws/sagemaker/Endpoints/model-metrics``), each in its
run.json's ``cloudwatch_metrics``. A run is a datapoint of the period its ``ended`` time falls in; only runs that
started at ``since`` or later count (a deployment's alarms judge the traffic of the new model).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from showcase.monitoring.quality_runs import list_model_quality_runs
from showcase.monitoring.runs import DEFAULT_OUTPUT_URI, list_runs
from showcase.serving.alarms import MODEL_METRICS, Metric, aggregate
from showcase.store import ObjectStore


class MonitoringMetrics:
    """An endpoint's published monitoring metrics from ``since`` (wall-clock seconds) on."""

    def __init__(
        self, store: ObjectStore, endpoint_name: str, since: float, output_uri: str = DEFAULT_OUTPUT_URI
    ) -> None:
        self.store, self.endpoint_name, self.since, self.output_uri = store, endpoint_name, since, output_uri

    def _runs(self, namespace: str) -> list[dict[str, Any]]:
        if namespace == MODEL_METRICS:
            return list_model_quality_runs(self.store, self.endpoint_name, self.output_uri)
        return list_runs(self.store, self.endpoint_name, self.output_uri)

    def datapoint(self, metric: Metric, start: float, end: float) -> tuple[float | None, str]:
        values = []
        for run in self._runs(metric.namespace):
            began, ended = _seconds(run.get("started")), _seconds(run.get("ended"))
            value = (run.get("cloudwatch_metrics") or {}).get(metric.name)
            if began is None or ended is None or value is None or began < self.since or not start <= ended < end:
                continue
            values.append(float(value))
        if not values:
            return None, f"no {metric.name} from a monitoring run"
        shown = ", ".join(f"{value:.4g}" for value in values)
        return aggregate(values, metric.statistic), f"{metric.name} of {len(values)} monitoring run(s): {shown}"


def _seconds(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
