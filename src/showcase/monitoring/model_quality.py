"""Model quality of a regression in Model Monitor's formats: statistics, suggested constraints, violations.

statistics.json (``analysis_type`` MODEL_QUALITY, ``problem_type`` Regression)::

    {"version": 0.0,
     "dataset": {"item_count": 626, "evaluation_time": "2026-11-29T10:00:00.000Z"},
     "regression_metrics": {"mae": {"value": 1.52, "standard_deviation": 0.03},
                            "mse": {...}, "rmse": {...}, "r2": {...}}}

``standard_deviation`` is there from 200 pairs on, as Model Monitor computes it: the metric over five random 80 %
samples (without replacement; seeded here, so a run repeats). constraints.json::

    {"version": 0.0,
     "regression_constraints": {"mae": {"threshold": 1.52, "comparison_operator": "GreaterThanThreshold"},
                                "mse": ..., "rmse": ... (GreaterThanThreshold),
                                "r2": {"threshold": 0.53, "comparison_operator": "LessThanThreshold"}}}

The suggested threshold is the metric's baseline value: any worsening is a violation until someone loosens it.
constraint_violations.json::

    {"violations": [{"metric_name": "mse", "constraint_check_type": "GreaterThanThreshold",
                     "description": "Metric mse with 12.1 +/- 0.4 was GreaterThanThreshold '4.8'"}]}

``cloudwatch_metrics`` is what a model-quality job publishes (namespace ``aws/sagemaker/Endpoints/model-metrics``,
one metric per name: ``mse``, ``rmse``, ``mae``, ``r2``): the rollback alarms read them.

``statistics_of_dataset`` is the baseline of a QualityCheck MODEL_QUALITY step: a headerless CSV whose columns
``inference_attribute`` and ``ground_truth_attribute`` (``_c0`` or ``0``: the first column) hold the predictions
and the labels.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from showcase import clock
from showcase.errors import MonitoringError

VERSION = 0.0
PROBLEM_TYPE = "Regression"
METRICS = ("mae", "mse", "rmse", "r2")
STANDARD_DEVIATION_FROM = 200
"""Pairs from which a metric carries its standard deviation."""
SAMPLES, SAMPLE_SHARE, SEED = 5, 0.8, 0
SUGGESTED_OPERATORS = {
    "mae": "GreaterThanThreshold",
    "mse": "GreaterThanThreshold",
    "rmse": "GreaterThanThreshold",
    "r2": "LessThanThreshold",
}
_OPERATORS = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


def metric_values(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """mae, mse, rmse and r2 of one set of pairs (r2 is 0 when the labels do not vary)."""
    errors = actual - predicted
    mse = float(np.mean(errors**2))
    spread = float(np.sum((actual - actual.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": 1.0 - float(np.sum(errors**2)) / spread if spread else 0.0,
    }


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, float]]:
    """Each metric's value, and its standard deviation over five 80 % samples from 200 pairs on."""
    actual, predicted = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if actual.shape != predicted.shape or actual.ndim != 1:
        raise MonitoringError(f"expected as many labels as predictions, got {actual.shape} and {predicted.shape}")
    if actual.size == 0:
        raise MonitoringError("no pairs of a prediction and a label to measure")
    values = metric_values(actual, predicted)
    metrics: dict[str, dict[str, float]] = {name: {"value": values[name]} for name in METRICS}
    if actual.size >= STANDARD_DEVIATION_FROM:
        rng = np.random.default_rng(SEED)
        size = int(actual.size * SAMPLE_SHARE)
        samples = []
        for _ in range(SAMPLES):
            chosen = rng.choice(actual.size, size=size, replace=False)
            samples.append(metric_values(actual[chosen], predicted[chosen]))
        for name in METRICS:
            metrics[name]["standard_deviation"] = float(np.std([sample[name] for sample in samples]))
    return metrics


def statistics(actual: np.ndarray, predicted: np.ndarray, when: datetime | None = None) -> dict[str, Any]:
    """statistics.json of a regression's predictions against its labels."""
    when = (when or clock.now()).astimezone(timezone.utc)
    return {
        "version": VERSION,
        "dataset": {
            "item_count": int(np.asarray(actual).size),
            "evaluation_time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        },
        "regression_metrics": regression_metrics(actual, predicted),
    }


def _metrics_of(document: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    metrics = document.get("regression_metrics") if isinstance(document, Mapping) else None
    if not isinstance(metrics, Mapping):
        raise MonitoringError(f"{what} has no regression_metrics: not Model Monitor's model-quality statistics")
    return metrics


def suggest_constraints(statistics_document: Mapping[str, Any], what: str = "the statistics") -> dict[str, Any]:
    """constraints.json from statistics.json: each metric's value as its threshold, worse is a violation."""
    metrics = _metrics_of(statistics_document, what)
    constraints = {}
    for name, operator in SUGGESTED_OPERATORS.items():
        value = (metrics.get(name) or {}).get("value")
        if isinstance(value, int | float) and math.isfinite(value):
            constraints[name] = {"threshold": float(value), "comparison_operator": operator}
    if not constraints:
        raise MonitoringError(f"{what} holds none of {', '.join(METRICS)}: nothing to suggest constraints from")
    return {"version": VERSION, "regression_constraints": constraints}


def violations(statistics_document: Mapping[str, Any], constraints: Mapping[str, Any]) -> list[dict[str, str]]:
    """The metrics of ``statistics_document`` that break ``constraints``, as constraint_violations.json lists them."""
    metrics = _metrics_of(statistics_document, "the statistics")
    wanted = constraints.get("regression_constraints") if isinstance(constraints, Mapping) else None
    if not isinstance(wanted, Mapping):
        raise MonitoringError("the constraints have no regression_constraints: not a model-quality constraints.json")
    found = []
    for name, constraint in wanted.items():
        operator = constraint.get("comparison_operator")
        if operator not in _OPERATORS:
            raise MonitoringError(
                f"constraint {name}: comparison_operator {operator!r} is not one of {', '.join(_OPERATORS)}"
            )
        measured = metrics.get(name)
        if measured is None:
            continue
        value, threshold = float(measured["value"]), float(constraint["threshold"])
        if _OPERATORS[operator](value, threshold):
            spread = measured.get("standard_deviation")
            shown = f"{value:.6g}" + (f" +/- {spread:.6g}" if spread is not None else "")
            found.append(
                {
                    "metric_name": name,
                    "constraint_check_type": operator,
                    "description": f"Metric {name} with {shown} was {operator} '{threshold:g}'",
                }
            )
    return found


def cloudwatch_metrics(statistics_document: Mapping[str, Any]) -> dict[str, float]:
    """``{metric name: value}``, what a model-quality job publishes to CloudWatch."""
    metrics = _metrics_of(statistics_document, "the statistics")
    return {name: float(metrics[name]["value"]) for name in METRICS if name in metrics}


def _column(table: pd.DataFrame, attribute: str, what: str) -> np.ndarray:
    text = attribute.strip()
    index_text = text[2:] if text.startswith("_c") else text
    if not index_text.isdigit() or int(index_text) >= table.shape[1]:
        raise MonitoringError(
            f"{what} {attribute!r} names no column of the dataset's {table.shape[1]}: give _c0, _c1, ... or 0, 1, ..."
        )
    column = pd.to_numeric(table.iloc[:, int(index_text)], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(column).all():
        row = int(np.argwhere(~np.isfinite(column))[0][0]) + 1
        raise MonitoringError(f"{what} {attribute!r}: row {row} holds no number")
    return column


def statistics_of_dataset(csv_text: str, inference_attribute: str, ground_truth_attribute: str) -> dict[str, Any]:
    """statistics.json of a headerless CSV of predictions and labels (a QualityCheck MODEL_QUALITY baseline)."""
    try:
        table = pd.read_csv(io.StringIO(csv_text), header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MonitoringError(f"the baseline dataset is not CSV: {str(exc).strip().splitlines()[0]}") from None
    predicted = _column(table, inference_attribute, "inference_attribute")
    actual = _column(table, ground_truth_attribute, "ground_truth_attribute")
    return statistics(actual, predicted)
