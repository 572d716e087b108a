"""How ``showcase registry`` shows packages: the rows of its tables, and ``describe``'s fields, metrics and lineage
(plain aligned columns, nothing cut: ``output.plain_table``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from showcase.cli.output import Status, cell_text, plain_table
from showcase.paging import paginate
from showcase.registry import Registry
from showcase.reporting import regression_metric
from showcase.statuses import ApprovalStatus

SCALARS = (
    "ModelPackageArn",
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelApprovalStatus",
    "ApprovalDescription",
    "ModelPackageDescription",
    "ModelPackageStatus",
    "CreationTime",
    "LastModifiedTime",
)


def when(moment: Any) -> Any:
    """A time as every table shows it (local); anything else as it is."""
    return cell_text(moment) if isinstance(moment, datetime) else moment


def mse(metrics: Mapping[str, Any] | None) -> str:
    value = regression_metric(metrics, "mse")
    return "-" if value is None else f"{value:.4f}"


def package_rows(registry: Registry, summaries: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for summary in summaries:
        extras = registry.describe_model_package_extras(ModelPackageName=summary["ModelPackageArn"])
        rows.append(
            [
                f"{summary['ModelPackageGroupName']}/{summary['ModelPackageVersion']}",
                Status(summary["ModelApprovalStatus"]),
                when(summary["CreationTime"]),
                mse(extras["Metrics"]),
                summary["ModelPackageArn"],
            ]
        )
    return rows


def group_rows(registry: Registry, groups: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per group: its name, creation time, how many packages it holds and how many are Approved."""
    rows = []
    for group in groups:
        name = group["ModelPackageGroupName"]
        summaries = paginate(registry.list_model_packages, "ModelPackageSummaryList", ModelPackageGroupName=name)
        statuses = [summary["ModelApprovalStatus"] for summary in summaries]
        approved = statuses.count(ApprovalStatus.APPROVED)
        rows.append([name, when(group["CreationTime"]), str(len(statuses)), str(approved)])
    return rows


def metric_rows(metrics: Mapping[str, Any]) -> list[list[str]]:
    """``{"<kind>": {"<name>": {"value": v, "standard_deviation": s}}}`` as rows; other shapes as JSON-ish text."""
    rows = []
    for kind, group in metrics.items():
        for name, metric in group.items() if isinstance(group, Mapping) else [("", group)]:
            if isinstance(metric, Mapping):
                rows.append([kind, name, _number(metric.get("value")), _number(metric.get("standard_deviation"))])
            else:
                rows.append([kind, name, _number(metric), "-"])
    return rows


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def describe_lines(described: Mapping[str, Any], extras: Mapping[str, Any]) -> list[str]:
    fields = [[key, when(described[key])] for key in SCALARS if key in described]
    for index, container in enumerate((described.get("InferenceSpecification") or {}).get("Containers", [])):
        fields += [
            [f"Containers[{index}].{key}", container[key]] for key in ("Image", "ModelDataUrl") if key in container
        ]
    rest = sorted(set(described) - set(SCALARS) - {"InferenceSpecification"})
    fields += [[key, _text(described[key])] for key in rest]
    out = plain_table(["FIELD", "VALUE"], fields).splitlines()[1:]
    metrics = extras.get("Metrics")
    out += ["", "Metrics:"]
    rows = metric_rows(metrics) if isinstance(metrics, Mapping) else []
    out += _indent(plain_table(["KIND", "METRIC", "VALUE", "STD DEV"], rows) or "none recorded")
    out += ["", "Lineage:"]
    out += _indent(lineage_text(extras.get("Lineage")))
    return out


def lineage_text(lineage: Mapping[str, Any] | None) -> str:
    if not lineage:
        return "none recorded"
    lines = [f"{key}  {lineage[key]}" for key in ("PipelineName", "PipelineExecutionId", "StepName") if key in lineage]
    parameters = lineage.get("Parameters") or {}
    if parameters:
        lines.append("Parameters  " + ", ".join(f"{key}={value}" for key, value in parameters.items()))
    for artifact in lineage.get("Artifacts", []):
        lines.append(f"Artifact  {artifact['Field']}  {artifact['Uri']}  sha256 {artifact['Sha256'] or '-'}")
    for step in lineage.get("Steps", []):
        cached = f", cached from {step['CachedFrom']}" if step.get("CachedFrom") else ""
        lines.append(f"Step {step['Name']} ({step['Type']}, {step['Status']}{cached})")
        for kind in ("Inputs", "Code"):
            for item in step.get(kind, []):
                lines.append(
                    f"  {kind[:-1] if kind == 'Inputs' else kind}  {item['Uri']}  sha256 {item['Sha256'] or '-'}"
                )
    return "\n".join(lines)


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()]
