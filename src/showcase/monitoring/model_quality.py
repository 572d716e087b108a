"""Model quality in Model Monitor's formats: statistics, suggested constraints, violations.

Regression, below; binary and multiclass classification (``binary_classification_metrics``,
``multiclass_classification_metrics`` and their ``_constraints``) at the end of the module.

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


def statistics(
    actual: np.ndarray,
    predicted: np.ndarray,
    when: datetime | None = None,
    *,
    problem_type: str = PROBLEM_TYPE,
    probability: np.ndarray | None = None,
) -> dict[str, Any]:
    """statistics.json of a model's predictions against its labels (a regression's unless ``problem_type`` says)."""
    when = (when or clock.now()).astimezone(timezone.utc)
    if problem_type == PROBLEM_TYPE:
        metrics = {"regression_metrics": regression_metrics(actual, predicted)}
    else:
        found = classification_metrics(problem_type, np.asarray(actual), np.asarray(predicted), probability)
        metrics = {f"{SECTIONS[problem_type]}_metrics": found}
    return {
        "version": VERSION,
        "dataset": {
            "item_count": int(np.asarray(actual).size),
            "evaluation_time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        },
        **metrics,
    }


def _problem_of(document: Mapping[str, Any], what: str, kind: str = "metrics") -> str:
    """The problem type whose ``<section>_<kind>`` the document holds."""
    for problem_type, section in SECTIONS.items():
        if isinstance(document, Mapping) and isinstance(document.get(f"{section}_{kind}"), Mapping):
            return problem_type
    named = ", ".join(f"{section}_{kind}" for section in SECTIONS.values())
    raise MonitoringError(f"{what} has none of {named}: not Model Monitor's model-quality {kind}")


def _metrics_of(document: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    return document[f"{SECTIONS[_problem_of(document, what)]}_metrics"]


def suggest_constraints(statistics_document: Mapping[str, Any], what: str = "the statistics") -> dict[str, Any]:
    """constraints.json from statistics.json: each metric's value as its threshold, worse is a violation."""
    problem_type = _problem_of(statistics_document, what)
    metrics = _metrics_of(statistics_document, what)
    operators = SUGGESTED_OPERATORS if problem_type == PROBLEM_TYPE else CLASSIFICATION_OPERATORS[problem_type]
    constraints = {}
    for name, operator in operators.items():
        value = (metrics.get(name) or {}).get("value")
        if isinstance(value, int | float) and math.isfinite(value):
            constraints[name] = {"threshold": float(value), "comparison_operator": operator}
    if not constraints:
        raise MonitoringError(f"{what} holds none of {', '.join(operators)}: nothing to suggest constraints from")
    return {"version": VERSION, f"{SECTIONS[problem_type]}_constraints": constraints}


def violations(statistics_document: Mapping[str, Any], constraints: Mapping[str, Any]) -> list[dict[str, str]]:
    """The metrics of ``statistics_document`` that break ``constraints``, as constraint_violations.json lists them."""
    metrics = _metrics_of(statistics_document, "the statistics")
    wanted = constraints[f"{SECTIONS[_problem_of(constraints, 'the constraints', 'constraints')]}_constraints"]
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
    if _problem_of(statistics_document, "the statistics") != PROBLEM_TYPE:
        return {name: float(value["value"]) for name, value in metrics.items() if "value" in value}
    return {name: float(metrics[name]["value"]) for name in METRICS if name in metrics}


def _index(table: pd.DataFrame, attribute: str, what: str) -> int:
    text = attribute.strip()
    index_text = text[2:] if text.startswith("_c") else text
    if not index_text.isdigit() or int(index_text) >= table.shape[1]:
        raise MonitoringError(
            f"{what} {attribute!r} names no column of the dataset's {table.shape[1]}: give _c0, _c1, ... or 0, 1, ..."
        )
    return int(index_text)


def _column(table: pd.DataFrame, attribute: str, what: str) -> np.ndarray:
    column = pd.to_numeric(table.iloc[:, _index(table, attribute, what)], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(column).all():
        row = int(np.argwhere(~np.isfinite(column))[0][0]) + 1
        raise MonitoringError(f"{what} {attribute!r}: row {row} holds no number")
    return column


def statistics_of_dataset(
    csv_text: str,
    inference_attribute: str,
    ground_truth_attribute: str,
    *,
    problem_type: str = PROBLEM_TYPE,
    probability_attribute: str = "",
    probability_threshold: float = 0.5,
) -> dict[str, Any]:
    """statistics.json of a headerless CSV of predictions and labels (a QualityCheck MODEL_QUALITY baseline).

    A binary classification's labels are 0 or 1; its predicted label is the ``inference_attribute`` column, else
    its ``probability_attribute`` column at or above ``probability_threshold``, and the probabilities give the
    curves and auc. A multiclass classification's labels are any text."""
    if problem_type not in SECTIONS:
        raise MonitoringError(f"problem_type {problem_type!r} is not one of {', '.join(SECTIONS)}")
    try:
        table = pd.read_csv(io.StringIO(csv_text), header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MonitoringError(f"the baseline dataset is not CSV: {str(exc).strip().splitlines()[0]}") from None
    if problem_type == "MulticlassClassification":
        actual_text = _labels(table, ground_truth_attribute, "ground_truth_attribute")
        predicted_text = _labels(table, inference_attribute, "inference_attribute")
        return statistics(actual_text, predicted_text, problem_type=problem_type)
    actual = _column(table, ground_truth_attribute, "ground_truth_attribute")
    if problem_type == PROBLEM_TYPE:
        return statistics(actual, _column(table, inference_attribute, "inference_attribute"))
    probability = _column(table, probability_attribute, "probability_attribute") if probability_attribute else None
    if inference_attribute:
        predicted = _column(table, inference_attribute, "inference_attribute")
    elif probability is not None:
        predicted = (probability >= probability_threshold).astype(np.float64)
    else:
        raise MonitoringError("a binary classification needs inference_attribute or probability_attribute")
    for what, values in (("ground_truth_attribute", actual), ("inference_attribute", predicted)):
        if not np.isin(values, (0.0, 1.0)).all():
            raise MonitoringError(f"{what}: a binary classification's labels are 0 or 1")
    return statistics(actual == 1, predicted == 1, problem_type=problem_type, probability=probability)


def _labels(table: pd.DataFrame, attribute: str, what: str) -> np.ndarray:
    """A column of class labels as text (``1.0`` reads as ``1``)."""
    values = table.iloc[:, _index(table, attribute, what)].str.strip()
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & (numbers == numbers.round())
    return np.where(whole, numbers.fillna(0).astype("int64").astype(str), values).astype(str)


# Classification, as Model Monitor's model-quality metrics page lists it ("binary_classification_metrics",
# "multiclass_classification_metrics"). The best constant classifier predicts the most frequent label for every row.
LESS, GREATER = "LessThanThreshold", "GreaterThanThreshold"
CLASSIFICATION_OPERATORS = {
    "BinaryClassification": {
        **dict.fromkeys(("recall", "precision", "accuracy", "true_positive_rate", "true_negative_rate"), LESS),
        **dict.fromkeys(("false_positive_rate", "false_negative_rate"), GREATER),
        **dict.fromkeys(("auc", "f0_5", "f1", "f2"), LESS),
    },
    "MulticlassClassification": dict.fromkeys(
        ("accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1", "weighted_f2"), LESS
    ),
}
SECTIONS = {
    "Regression": "regression",
    "BinaryClassification": "binary_classification",
    "MulticlassClassification": "multiclass_classification",
}
"""``<section>_metrics`` in statistics.json and ``<section>_constraints`` in constraints.json, per problem type."""


def _f_beta(precision: float, recall: float, beta: float) -> float:
    bottom = beta**2 * precision + recall
    return (1 + beta**2) * precision * recall / bottom if bottom else 0.0


def _binary_values(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The scalar binary metrics of 0/1 labels and predictions (a rate over no rows is 0)."""
    tp = float(np.sum(actual & predicted))
    fp, fn = float(np.sum(~actual & predicted)), float(np.sum(actual & ~predicted))
    tn = float(actual.size) - tp - fp - fn

    def rate(top: float, bottom: float) -> float:
        return top / bottom if bottom else 0.0

    recall, precision = rate(tp, tp + fn), rate(tp, tp + fp)
    return {
        "recall": recall,
        "precision": precision,
        "accuracy": rate(tp + tn, float(actual.size)),
        "true_positive_rate": recall,
        "true_negative_rate": rate(tn, tn + fp),
        "false_positive_rate": rate(fp, fp + tn),
        "false_negative_rate": rate(fn, fn + tp),
        "f0_5": _f_beta(precision, recall, 0.5),
        "f1": _f_beta(precision, recall, 1.0),
        "f2": _f_beta(precision, recall, 2.0),
    }


def _multiclass_values(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, and recall, precision and F-scores per class weighted by the class's share of the labels."""
    values = {"accuracy": float(np.mean(actual == predicted))}
    totals = dict.fromkeys(CLASSIFICATION_OPERATORS["MulticlassClassification"], 0.0)
    del totals["accuracy"]
    for label in np.unique(actual):
        scores = _binary_values(actual == label, predicted == label)
        weight = float(np.mean(actual == label))
        for name in totals:
            totals[name] += weight * scores[name.removeprefix("weighted_")]
    return values | totals


def _constant(actual: np.ndarray) -> Any:
    labels, counts = np.unique(actual, return_counts=True)
    return labels[int(np.argmax(counts))]


def _curves(actual: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """The ROC and precision-recall curves over every distinct probability as the threshold, and the ROC's area."""
    order = np.argsort(-probability, kind="stable")
    hits, scores = actual[order], probability[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]  # the last row of each distinct score
    tp, fp = np.cumsum(hits)[last].astype(float), np.cumsum(~hits)[last].astype(float)
    positives, negatives = float(hits.sum()), float((~hits).sum())
    tpr = np.r_[0.0, tp / positives] if positives else np.zeros(last.size + 1)
    fpr = np.r_[0.0, fp / negatives] if negatives else np.zeros(last.size + 1)
    return {
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": fpr.tolist(),
            "true_positive_rates": tpr.tolist(),
        },
        "precision_recall_curve": {"precisions": (tp / (tp + fp)).tolist(), "recalls": tpr[1:].tolist()},
        "auc": float(np.trapezoid(tpr, fpr)),
    }


def classification_metrics(
    problem_type: str, actual: np.ndarray, predicted: np.ndarray, probability: np.ndarray | None = None
) -> dict[str, Any]:
    """``binary_classification_metrics`` (0/1 labels; ``probability`` gives the curves and auc) or
    ``multiclass_classification_metrics``: each scalar ``{"value", "standard_deviation" from 200 rows}``, the
    confusion matrix ``{actual: {predicted: count}}`` and the best constant classifier's scores."""
    binary = problem_type == "BinaryClassification"
    score = _binary_values if binary else _multiclass_values
    if binary:
        actual, predicted = actual.astype(bool), predicted.astype(bool)
    constant = np.full(actual.shape, _constant(actual))
    values, baseline = score(actual, predicted), score(actual, constant)
    metrics: dict[str, Any] = {name: {"value": value} for name, value in values.items()}
    for name in CLASSIFICATION_OPERATORS[problem_type]:
        if name in baseline:
            metrics[f"{name}_best_constant_classifier"] = {"value": baseline[name]}
    if actual.size >= STANDARD_DEVIATION_FROM:
        rng = np.random.default_rng(SEED)
        size = int(actual.size * SAMPLE_SHARE)
        chosen = [rng.choice(actual.size, size=size, replace=False) for _ in range(SAMPLES)]
        samples = [score(actual[rows], predicted[rows]) for rows in chosen]
        for name in values:
            metrics[name]["standard_deviation"] = float(np.std([sample[name] for sample in samples]))
    shown = {True: "1", False: "0"} if binary else {}
    labels = sorted({*actual.tolist(), *predicted.tolist()}, key=str)
    metrics["confusion_matrix"] = {
        shown.get(row, str(row)): {shown.get(col, str(col)): int(np.sum((actual == row) & (predicted == col)))
                                   for col in labels}
        for row in labels
    }  # fmt: skip
    if binary and probability is not None:
        curves = _curves(actual, probability)
        metrics |= {**curves, "auc": {"value": curves["auc"]}}
    return metrics
