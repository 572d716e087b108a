"""Where a model package keeps its data-quality baseline."""

from __future__ import annotations

from typing import Any, Protocol


class PackageDescriber(Protocol):
    def describe_model_package(self, *, ModelPackageName: str) -> Any: ...


def baseline_uris(package: dict[str, Any]) -> tuple[str, str] | None:
    """``(statistics, constraints)`` S3 URIs of a described package's data-quality baseline, or None.

    ``DriftCheckBaselines.ModelDataQuality`` (what traffic is to be checked against) comes first, then
    ``ModelMetrics.ModelDataQuality`` (what the pipeline calculated).
    """
    for source in (package.get("DriftCheckBaselines"), package.get("ModelMetrics")):
        quality = (source or {}).get("ModelDataQuality") or {}
        stats, constraints = (quality.get("Statistics") or {}), (quality.get("Constraints") or {})
        if stats.get("S3Uri") and constraints.get("S3Uri"):
            return stats["S3Uri"], constraints["S3Uri"]
    return None


def package_baseline(registry: PackageDescriber, package_arn: str) -> tuple[str, str] | None:
    """The baseline URIs of a package in a registry: SageMaker's (through ``aws.registry.SageMakerLister``) or ours."""
    return baseline_uris(dict(registry.describe_model_package(ModelPackageName=package_arn)))


def model_quality_uris(package: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(statistics, constraints)`` S3 URIs of a described package's model-quality baseline (either may be None).

    ``DriftCheckBaselines.ModelQuality`` first, then ``ModelMetrics.ModelQuality`` (whose statistics are the
    pipeline's evaluation.json, with ``regression_metrics``), each part on its own.
    """
    statistics = constraints = None
    for source in (package.get("DriftCheckBaselines"), package.get("ModelMetrics")):
        quality = (source or {}).get("ModelQuality") or {}
        statistics = statistics or (quality.get("Statistics") or {}).get("S3Uri")
        constraints = constraints or (quality.get("Constraints") or {}).get("S3Uri")
    return statistics, constraints
