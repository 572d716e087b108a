"""statistics.json and constraints.json in Model Monitor's schema, from a Profile.

statistics.json::

    {"version": 0.0, "dataset": {"item_count": N},
     "features": [{"name": "_c0", "inferred_type": "Fractional",
                   "numerical_statistics": {"common": {"num_present": .., "num_missing": ..},
                                            "mean": .., "sum": .., "std_dev": .., "min": .., "max": ..,
                                            "distribution": {"kll": {"buckets": [...], "sketch": {...}}}}}]}

String features carry ``string_statistics`` (``common``, ``distinct_count``, ``distribution.categorical``).

The distribution: Model Monitor keeps a KLL sketch (``sketch.parameters`` c and k, ``sketch.data`` one array
of items per compactor level, an item at level h standing for 2**h values) and ten equal-width ``buckets``
between min and max. Here ``sketch.data`` holds a single level: the exact quantiles of the column at ``k``
evenly spaced ranks (all the values when there are at most ``k``), computed from the sorted column. A reader
that weighs level h by 2**h gets the column's distribution to within 1/k in rank, as from a KLL sketch, but
deterministically. Distances are computed from sketches in either form (see ``cdf_distance``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from showcase.monitoring.profile import ColumnProfile, Profile

SKETCH_K = 2048
SKETCH_C = 0.64
BUCKETS = 10
VERSION = 0.0

INTEGRAL, FRACTIONAL, STRING, UNKNOWN = "Integral", "Fractional", "String", "Unknown"


def inferred_type(column: ColumnProfile) -> str:
    if column.num_present == 0:
        return UNKNOWN
    if column.strings:
        return STRING
    return INTEGRAL if column.fractional == 0 else FRACTIONAL


def statistics(profile: Profile) -> dict[str, Any]:
    return {
        "version": VERSION,
        "dataset": {"item_count": profile.item_count},
        "features": [_feature(column) for column in profile.columns],
    }


def _common(column: ColumnProfile) -> dict[str, int]:
    return {"num_present": column.num_present, "num_missing": column.num_missing}


def _feature(column: ColumnProfile) -> dict[str, Any]:
    kind = inferred_type(column)
    feature: dict[str, Any] = {"name": column.name, "inferred_type": kind}
    if kind in (INTEGRAL, FRACTIONAL):
        feature["numerical_statistics"] = numerical_statistics(column.numbers(), _common(column))
    elif kind == STRING:
        buckets = [{"value": value, "count": count} for value, count in column.string_counts.most_common()]
        feature["string_statistics"] = {
            "common": _common(column),
            "distinct_count": float(len(column.string_counts)),
            "distribution": {"categorical": {"buckets": buckets}},
        }
    return feature


def numerical_statistics(values: np.ndarray, common: dict[str, int]) -> dict[str, Any]:
    if values.size == 0:
        return {"common": common, "mean": 0.0, "sum": 0.0, "std_dev": 0.0, "min": 0.0, "max": 0.0}
    ordered = np.sort(values)
    low, high = float(ordered[0]), float(ordered[-1])
    edges = np.linspace(low, high, BUCKETS + 1) if high > low else np.array([low, high])
    counts, _ = np.histogram(ordered, bins=edges)
    buckets = [
        {"lower_bound": float(a), "upper_bound": float(b), "count": float(c)}
        for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    return {
        "common": common,
        "mean": float(ordered.mean()),
        "sum": float(ordered.sum()),
        "std_dev": float(ordered.std()),
        "min": low,
        "max": high,
        "distribution": {
            "kll": {
                "buckets": buckets,
                "sketch": {
                    "parameters": {"c": SKETCH_C, "k": float(SKETCH_K)},
                    "data": [_quantiles(ordered).tolist()],
                },
            }
        },
    }


def _quantiles(ordered: np.ndarray) -> np.ndarray:
    if ordered.size <= SKETCH_K:
        return ordered
    ranks = ((np.arange(SKETCH_K) + 0.5) * ordered.size / SKETCH_K).astype(np.int64)
    return ordered[ranks]


def sketch_items(feature: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """A numeric feature's sketch as sorted items and their weights (2**level), or None without one."""
    stats = feature.get("numerical_statistics") or {}
    sketch = ((stats.get("distribution") or {}).get("kll") or {}).get("sketch") or {}
    levels = sketch.get("data")
    if not isinstance(levels, list) or not any(levels):
        return None
    items = np.concatenate([np.asarray(level, dtype=float) for level in levels])
    weights = np.concatenate([np.full(len(level), 2.0**h) for h, level in enumerate(levels)])
    order = np.argsort(items, kind="stable")
    return items[order], weights[order]


def cdf_distance(baseline: tuple[np.ndarray, np.ndarray], current: tuple[np.ndarray, np.ndarray]) -> float:
    """The largest gap between two cumulative distributions, over every point either sketch holds."""
    points = np.union1d(baseline[0], current[0])
    return float(np.max(np.abs(_cdf(baseline, points) - _cdf(current, points))))


def _cdf(sketch: tuple[np.ndarray, np.ndarray], points: np.ndarray) -> np.ndarray:
    items, weights = sketch
    cumulative = np.cumsum(weights)
    index = np.searchsorted(items, points, side="right")
    below = np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)
    return below / cumulative[-1]


def suggest_constraints(stats: dict[str, Any]) -> dict[str, Any]:
    """constraints.json for a baseline, as Model Monitor suggests it from the baseline's statistics."""
    total = stats["dataset"]["item_count"]
    features = []
    for feature in stats["features"]:
        kind = feature["inferred_type"]
        common = (feature.get("numerical_statistics") or feature.get("string_statistics") or {}).get("common", {})
        present = common.get("num_present", 0)
        constraint: dict[str, Any] = {
            "name": feature["name"],
            "inferred_type": kind,
            "completeness": present / total if total else 0.0,
        }
        if kind in (INTEGRAL, FRACTIONAL):
            constraint["num_constraints"] = {"is_non_negative": feature["numerical_statistics"]["min"] >= 0}
        elif kind == STRING:
            buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
            if len(buckets) <= 20:  # small cardinality: the observed values are the domain
                constraint["string_constraints"] = {"domains": [bucket["value"] for bucket in buckets]}
        features.append(constraint)
    return {
        "version": VERSION,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": 0.1,
                "categorical_drift_method": "LInfinity",
            },
        },
    }
