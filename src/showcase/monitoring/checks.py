"""Current statistics against a baseline's statistics and constraints -> constraint_violations.json.

The checks and their ``constraint_check_type``, as Model Monitor names them:

    missing_column_check      a feature of the constraints is absent from the current data
    extra_column_check        the current data has a column the constraints do not name
    data_type_check           fewer than datatype_check_threshold of the present values have the baseline's type
                              (Fractional accepts Integral values; String accepts anything)
    completeness_check        the share of present values is below the feature's completeness
    baseline_drift_check      numeric features: the largest gap between the baseline's and the current cumulative
                              distributions is above comparison_threshold (per feature:
                              monitoringConfigOverrides.comparison_threshold); String features: the largest gap
                              between category frequencies, against categorical_comparison_threshold
    categorical_values_check  fewer than domain_content_threshold of a String feature's values are in its domains

``monitoring_config.evaluate_constraints`` "Disabled" turns every check off; ``distribution_constraints.
perform_comparison`` "Disabled" turns the drift check off.
"""

from __future__ import annotations

from typing import Any

from showcase.monitoring.statistics import FRACTIONAL, INTEGRAL, STRING, cdf_distance, sketch_items

MISSING_COLUMN = "missing_column_check"
EXTRA_COLUMN = "extra_column_check"
DATA_TYPE = "data_type_check"
COMPLETENESS = "completeness_check"
BASELINE_DRIFT = "baseline_drift_check"
CATEGORICAL_VALUES = "categorical_values_check"
TOLERANCE = 1e-9


def violations(
    current: dict[str, Any], baseline: dict[str, Any], constraints: dict[str, Any], type_counts: dict[str, dict]
) -> list[dict[str, str]]:
    """The violations of ``current`` statistics; ``type_counts`` maps a feature to its {type: count} of values."""
    config = constraints.get("monitoring_config") or {}
    if config.get("evaluate_constraints", "Enabled") == "Disabled":
        return []
    found: list[dict[str, str]] = []
    current_features = {feature["name"]: feature for feature in current["features"]}
    baseline_features = {feature["name"]: feature for feature in baseline.get("features", [])}
    expected = [feature["name"] for feature in constraints.get("features", [])]
    for name in expected:
        if name not in current_features:
            found.append(
                _violation(
                    name,
                    MISSING_COLUMN,
                    f"There are missing columns in current dataset. Number of columns in current dataset: "
                    f"{len(current_features)}, Number of columns in baseline constraints: {len(expected)}",
                )
            )
    for name in current_features:
        if name not in expected:
            found.append(
                _violation(
                    name,
                    EXTRA_COLUMN,
                    f"There are extra columns in current dataset. Number of columns in current dataset: "
                    f"{len(current_features)}, Number of columns in baseline constraints: {len(expected)}",
                )
            )
    total = current["dataset"]["item_count"]
    for constraint in constraints.get("features", []):
        feature = current_features.get(constraint["name"])
        if feature is None:
            continue
        found += _feature_violations(
            constraint, feature, baseline_features.get(constraint["name"]), config, type_counts, total
        )
    return found


def _violation(name: str, kind: str, description: str) -> dict[str, str]:
    return {"feature_name": name, "constraint_check_type": kind, "description": description}


def _percent(share: float) -> str:
    return f"{100 * share:.4g}%"


def _feature_violations(
    constraint: dict[str, Any],
    feature: dict[str, Any],
    baseline: dict[str, Any] | None,
    config: dict[str, Any],
    type_counts: dict[str, dict],
    total: int,
) -> list[dict[str, str]]:
    name, expected_type = constraint["name"], constraint.get("inferred_type")
    overrides = constraint.get("monitoringConfigOverrides") or {}
    counts = type_counts.get(name, {})
    present = sum(counts.values())
    found = []
    if expected_type in (INTEGRAL, FRACTIONAL, STRING) and present:
        accepted = {INTEGRAL: (INTEGRAL,), FRACTIONAL: (INTEGRAL, FRACTIONAL), STRING: (INTEGRAL, FRACTIONAL, STRING)}
        share = sum(counts.get(kind, 0) for kind in accepted[expected_type]) / present
        threshold = float(overrides.get("datatype_check_threshold", config.get("datatype_check_threshold", 1.0)))
        if share < threshold - TOLERANCE:
            found.append(
                _violation(
                    name,
                    DATA_TYPE,
                    f"Data type match requirement is not met. Expected data type: {expected_type}, "
                    f"Expected match: {_percent(threshold)}. Observed: Only {_percent(share)} of data is "
                    f"{expected_type}.",
                )
            )
    completeness = constraint.get("completeness")
    if completeness is not None and total:
        observed = present / total
        if observed < float(completeness) - TOLERANCE:
            found.append(
                _violation(
                    name,
                    COMPLETENESS,
                    f"Data completeness requirement is not met. Expected: {_percent(float(completeness))}, "
                    f"Observed: Only {_percent(observed)} of data is complete.",
                )
            )
    distribution = config.get("distribution_constraints") or {}
    if baseline is not None and distribution.get("perform_comparison", "Enabled") != "Disabled":
        found += _drift(name, expected_type, feature, baseline, distribution, overrides)
    domains = (constraint.get("string_constraints") or {}).get("domains")
    if expected_type == STRING and domains and feature.get("string_statistics"):
        buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
        seen = sum(bucket["count"] for bucket in buckets)
        inside = sum(bucket["count"] for bucket in buckets if bucket["value"] in set(domains))
        threshold = float(overrides.get("domain_content_threshold", config.get("domain_content_threshold", 1.0)))
        if seen and inside / seen < threshold - TOLERANCE:
            found.append(
                _violation(
                    name,
                    CATEGORICAL_VALUES,
                    f"Data content requirement is not met. Expected: {_percent(threshold)} of values in the "
                    f"baseline domain, Observed: Only {_percent(inside / seen)}.",
                )
            )
    return found


def _drift(
    name: str,
    expected_type: Any,
    feature: dict[str, Any],
    baseline: dict[str, Any],
    distribution: dict[str, Any],
    overrides: dict[str, Any],
) -> list[dict[str, str]]:
    measured = _distance(expected_type, feature, baseline, distribution, overrides)
    if measured is None or measured[0] <= measured[1]:
        return []
    distance, threshold = measured
    return [
        _violation(name, BASELINE_DRIFT, f"Baseline drift distance: {distance:.6g} exceeds threshold: {threshold:g}")
    ]


def _distance(
    expected_type: Any,
    feature: dict[str, Any],
    baseline: dict[str, Any],
    distribution: dict[str, Any],
    overrides: dict[str, Any],
) -> tuple[float, float] | None:
    """``(distance, threshold)`` between a feature's baseline and current distributions, or None."""
    if expected_type in (INTEGRAL, FRACTIONAL):
        ours, theirs = sketch_items(feature), sketch_items(baseline)
        if ours is None or theirs is None:
            return None
        threshold = float(overrides.get("comparison_threshold", distribution.get("comparison_threshold", 0.1)))
        return cdf_distance(theirs, ours), threshold
    if expected_type == STRING and feature.get("string_statistics") and baseline.get("string_statistics"):
        threshold = float(
            overrides.get("categorical_comparison_threshold", distribution.get("categorical_comparison_threshold", 0.1))
        )
        return _categorical_distance(baseline["string_statistics"], feature["string_statistics"]), threshold
    return None


def drift_distances(current: dict[str, Any], baseline: dict[str, Any], constraints: dict[str, Any]) -> dict[str, float]:
    """Each constrained feature's baseline drift distance: what Model Monitor publishes as
    ``feature_baseline_drift_<feature>`` (namespace aws/sagemaker/Endpoints/data-metrics)."""
    config = constraints.get("monitoring_config") or {}
    distribution = config.get("distribution_constraints") or {}
    current_features = {feature["name"]: feature for feature in current["features"]}
    baseline_features = {feature["name"]: feature for feature in baseline.get("features", [])}
    found = {}
    for constraint in constraints.get("features", []):
        feature, before = current_features.get(constraint["name"]), baseline_features.get(constraint["name"])
        if feature is None or before is None:
            continue
        overrides = constraint.get("monitoringConfigOverrides") or {}
        measured = _distance(constraint.get("inferred_type"), feature, before, distribution, overrides)
        if measured is not None:
            found[constraint["name"]] = measured[0]
    return found


def _categorical_distance(baseline: dict[str, Any], current: dict[str, Any]) -> float:
    def shares(stats: dict[str, Any]) -> dict[str, float]:
        buckets = stats["distribution"]["categorical"]["buckets"]
        total = sum(bucket["count"] for bucket in buckets) or 1
        return {bucket["value"]: bucket["count"] / total for bucket in buckets}

    ours, theirs = shares(current), shares(baseline)
    return max((abs(ours.get(key, 0.0) - theirs.get(key, 0.0)) for key in {*ours, *theirs}), default=0.0)
