"""SageMaker Clarify's processing job in its file formats: analysis_config.json in, analysis.json out.

analysis_config.json (what the SDK's ClarifyCheckStep uploads): ``dataset_type`` text/csv, ``headers``, ``label``,
``label_values_or_threshold``, ``facet`` [{``name_or_index``, ``value_or_threshold``}], ``group_variable``, and
``methods``: ``pre_training_bias``/``post_training_bias`` {``methods``: "all" or names}, or ``shap``. analysis.json::

    {"version": "1.0",
     "pre_training_bias_metrics": {"label": "rings", "label_value_or_threshold": "10,11",
        "facets": {"sex_I": [{"value_or_threshold": "1",
                              "metrics": [{"name": "CI", "description": "Class Imbalance (CI)", "value": 0.4}]}]}},
     "post_training_bias_metrics": {... the same shape ...},
     "explanations": {"kernel_shap": {"label0": {"global_shap_values": {"length": 0.41, ...},
                                                 "expected_value": 9.9}}}}

A label or facet column is continuous when it is numeric with distinct values in more than ``CONTINUOUS_SHARE`` of
its rows: its value is then a threshold, the **exclusive** lower bound of the positive outcome (or of the sensitive
group), as the SDK's BiasConfig documents; otherwise the values listed are the positive ones (or the group's).
A facet without ``value_or_threshold`` has one entry per value it takes.

Drift checks (constraint_violations.json, ``{"version": "1.0", "violations": [...]}``): a bias metric violates its
baseline (``bias_drift_check``) when it is farther from its fair value (1 for DI, else 0) than the baseline's value
is; the global SHAP values violate theirs (``feature_attribution_drift_check``) when the nDCG of the current
ranking of the features, scored by the baseline's values, falls below ``NDCG_THRESHOLD``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from showcase.errors import MonitoringError
from showcase.monitoring.bias import FAIR_VALUE, POST_TRAINING, PRE_TRAINING, post_training, pre_training

VERSION = "1.0"
CONTINUOUS_SHARE = 0.05
NDCG_THRESHOLD = 0.9
TOLERANCE = 1e-9
SECTIONS = {"pre_training_bias": "pre_training_bias_metrics", "post_training_bias": "post_training_bias_metrics"}


def read_dataset(texts: Sequence[str], config: Mapping[str, Any]) -> pd.DataFrame:
    """The CSV dataset: named by ``headers`` (a first line equal to them is a header line, dropped), else by its
    own first line."""
    if config.get("dataset_type", "text/csv") != "text/csv":
        raise MonitoringError(f"dataset_type {config.get('dataset_type')} is not supported locally: only text/csv")
    headers = config.get("headers")
    frames = []
    for text in texts:
        if not text.strip():
            continue
        first = [field.strip() for field in text.splitlines()[0].split(",")]
        has_header = not headers or first == [str(name) for name in headers]
        try:
            frame = pd.read_csv(io.StringIO(text), header=0 if has_header else None, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise MonitoringError(f"the dataset is not CSV: {str(exc).strip().splitlines()[0]}") from None
        if headers:
            if len(headers) != frame.shape[1]:
                raise MonitoringError(f"headers name {len(headers)} columns, the dataset has {frame.shape[1]}")
            frame.columns = [str(name) for name in headers]
        frames.append(frame)
    if not frames:
        raise MonitoringError("the dataset has no rows")
    return pd.concat(frames, ignore_index=True)


def column(frame: pd.DataFrame, name_or_index: object, what: str) -> pd.Series:
    if isinstance(name_or_index, int) and not isinstance(name_or_index, bool) and 0 <= name_or_index < frame.shape[1]:
        return frame.iloc[:, name_or_index]
    if str(name_or_index) in frame.columns:
        return frame[str(name_or_index)]
    raise MonitoringError(f"{what} {name_or_index!r} names no column of the dataset ({', '.join(frame.columns)})")


def is_continuous(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) and series.nunique() > CONTINUOUS_SHARE * len(series))


def selected(series: pd.Series, values_or_threshold: Sequence[Any], what: str) -> np.ndarray:
    """The rows whose value is one of ``values_or_threshold`` or, in a continuous column, above its one threshold."""
    if is_continuous(series):
        if len(values_or_threshold) != 1:
            raise MonitoringError(f"{what} of the continuous column {series.name} must be one threshold")
        return np.asarray(series.astype(float) > float(values_or_threshold[0]))
    wanted = {_shown(value) for value in values_or_threshold}
    return np.asarray(series.map(_shown).isin(wanted))


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def methods(config: Mapping[str, Any], section: str) -> list[str]:
    """The metric names ``methods.<section>.methods`` asks for: "all", or a list (or comma-separated string)."""
    known = PRE_TRAINING if section == "pre_training_bias" else POST_TRAINING
    asked = ((config.get("methods") or {}).get(section) or {}).get("methods", "all")
    names = list(known) if asked == "all" else asked.split(",") if isinstance(asked, str) else list(asked)
    unknown = [name for name in names if name.strip() not in known]
    if unknown:
        raise MonitoringError(f"methods.{section}.methods names {', '.join(unknown)}: not one of {', '.join(known)}")
    if "CDDL" in names and "group_variable" not in config and asked == "all":
        names.remove("CDDL")
    if "CDDPL" in names and "group_variable" not in config and asked == "all":
        names.remove("CDDPL")
    return [name.strip() for name in names]


def facet_groups(frame: pd.DataFrame, facet: Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
    """(the group's value_or_threshold as analysis.json shows it, its rows) for one facet of the config."""
    series = column(frame, facet.get("name_or_index"), "facet name_or_index")
    given = facet.get("value_or_threshold")
    if given is not None:
        values = list(given) if isinstance(given, list) else [given]
        return [(",".join(_shown(value) for value in values), selected(series, values, "value_or_threshold"))]
    if is_continuous(series):
        raise MonitoringError(f"facet {series.name} is continuous: give its value_or_threshold (a threshold)")
    return [(_shown(value), np.asarray(series.map(_shown) == _shown(value))) for value in sorted(series.unique())]


def bias_metrics(
    frame: pd.DataFrame, config: Mapping[str, Any], section: str, predicted: np.ndarray | None = None
) -> dict[str, Any]:
    """``pre_training_bias_metrics`` (or, with ``predicted``, ``post_training_bias_metrics``) of analysis.json."""
    label_name = config.get("label")
    label_series = column(frame, label_name, "label")
    thresholds = config.get("label_values_or_threshold") or []
    if not thresholds:
        raise MonitoringError("label_values_or_threshold is missing: the positive label value(s) or threshold")
    label = selected(label_series, thresholds, "label_values_or_threshold")
    group = config.get("group_variable")
    groups = None if group is None else np.asarray(column(frame, group, "group_variable").map(_shown))
    names = methods(config, section)
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in config.get("facet") or []:
        name = str(column(frame, facet.get("name_or_index"), "facet name_or_index").name)
        for shown, rows in facet_groups(frame, facet):
            if predicted is None:
                metrics = pre_training(names, label, rows, groups)
            else:
                features = frame.drop(columns=[label_series.name, name]).select_dtypes("number").to_numpy(float)
                metrics = post_training(names, label, predicted, rows, groups, features)
            facets.setdefault(name, []).append({"value_or_threshold": shown, "metrics": metrics})
    if not facets:
        raise MonitoringError("facet is missing: the sensitive column(s) to measure bias across")
    return {
        "label": str(label_series.name),
        "label_value_or_threshold": ",".join(_shown(value) for value in thresholds),
        "facets": facets,
    }


AGGREGATIONS = {
    "mean_abs": lambda values: np.mean(np.abs(values), axis=0),
    "median": lambda values: np.median(values, axis=0),
    "mean_sq": lambda values: np.mean(values**2, axis=0),
}
"""SHAPConfig's ``agg_method``s: how the records' SHAP values of a feature make its global value."""
AGGREGATION_HEADINGS = {"mean_abs": "mean abs SHAP", "median": "median SHAP", "mean_sq": "mean squared SHAP"}
"""How report.ipynb heads the global values each ``agg_method`` makes."""


def global_shap(
    contributions: np.ndarray, names: Sequence[str], expected: float, agg_method: str = "mean_abs"
) -> dict[str, Any]:
    """``explanations.kernel_shap.label0``: each feature's global SHAP value, by ``agg_method``."""
    if agg_method not in AGGREGATIONS:
        raise MonitoringError(f"shap.agg_method {agg_method!r} is not one of {', '.join(AGGREGATIONS)}")
    values = AGGREGATIONS[agg_method](contributions)
    return {
        "global_shap_values": {str(name): float(value) for name, value in zip(names, values, strict=True)},
        "expected_value": float(expected),
    }


def bias_violations(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[dict[str, str]]:
    """The metrics of ``current`` analysis.json farther from fair than ``baseline``'s (``bias_drift_check``)."""
    found = []
    for section in SECTIONS.values():
        wanted = _metric_values(baseline.get(section))
        for key, value in _metric_values(current.get(section)).items():
            limit = wanted.get(key)
            if limit is None or value is None:
                continue
            fair = FAIR_VALUE.get(key[2], 0.0)
            if abs(value - fair) > abs(limit - fair) + TOLERANCE:
                found.append(
                    {
                        "facet": key[0],
                        "facet_value": key[1],
                        "metric_name": key[2],
                        "constraint_check_type": "bias_drift_check",
                        "description": f"Value {value:.6g} does not meet the constraint requirement: the "
                        f"baseline's {limit:.6g} is the farthest from {fair:g} allowed",
                    }
                )
    return found


def _metric_values(section: object) -> dict[tuple[str, str, str], float | None]:
    if not isinstance(section, Mapping):
        return {}
    values = {}
    for facet, groups in (section.get("facets") or {}).items():
        for group in groups:
            for metric in group.get("metrics") or []:
                value = metric.get("value")
                finite = isinstance(value, int | float) and math.isfinite(value)
                values[str(facet), str(group.get("value_or_threshold")), str(metric["name"])] = (
                    float(value) if finite else None
                )
    return values


def ndcg(current: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """nDCG of the current ranking of the features, each scored by its baseline value: 1 for the same order."""
    relevance = {name: abs(float(value)) for name, value in baseline.items()}
    ranked = sorted(current, key=lambda name: -abs(float(current[name])))
    ideal = sorted(relevance.values(), reverse=True)
    gain = sum(relevance.get(name, 0.0) / math.log2(rank + 2) for rank, name in enumerate(ranked))
    best = sum(value / math.log2(rank + 2) for rank, value in enumerate(ideal))
    return gain / best if best else 1.0


def attribution_violations(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[dict[str, str]]:
    """``feature_attribution_drift_check`` for each label whose global SHAP ranking drifted from the baseline's."""
    found = []
    now = ((current.get("explanations") or {}).get("kernel_shap")) or {}
    then = ((baseline.get("explanations") or {}).get("kernel_shap")) or {}
    for label, explained in now.items():
        if label not in then:
            continue
        score = ndcg(explained["global_shap_values"], then[label]["global_shap_values"])
        if score < NDCG_THRESHOLD:
            found.append(
                {
                    "label": label,
                    "metric_name": "feature_attribution_drift",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": f"The nDCG {score:.4f} of the features ranked by their SHAP values is below "
                    f"the threshold {NDCG_THRESHOLD}",
                }
            )
    return found


def report(analysis: Mapping[str, Any], agg_method: str = "mean_abs") -> dict[str, Any]:
    """report.ipynb: a notebook of markdown cells, one table per facet and one of the global SHAP values (headed
    by the ``agg_method`` that made them)."""
    cells = [_markdown("# Analysis Report")]
    titles = {"pre_training_bias_metrics": "Pre-training bias", "post_training_bias_metrics": "Post-training bias"}
    for section, title in titles.items():
        part = analysis.get(section)
        if not part:
            continue
        for facet, groups in part["facets"].items():
            for group in groups:
                lines = [f"## {title}: {facet} = {group['value_or_threshold']} (label {part['label']} = "
                         f"{part['label_value_or_threshold']})", "", "| metric | value |", "|---|---|"]  # fmt: skip
                lines += [f"| {m['description']} | {_cell(m.get('value'))} |" for m in group["metrics"]]
                cells.append(_markdown("\n".join(lines)))
    for label, explained in ((analysis.get("explanations") or {}).get("kernel_shap") or {}).items():
        ranked = sorted(explained["global_shap_values"].items(), key=lambda item: -item[1])
        heading = AGGREGATION_HEADINGS.get(agg_method, agg_method)
        lines = [f"## Global SHAP values ({label})", "", f"| feature | {heading} |", "|---|---|"]
        cells.append(_markdown("\n".join(lines + [f"| {name} | {value:.6g} |" for name, value in ranked])))
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def _cell(value: object) -> str:
    return "undefined" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
