"""``showcase endpoint status``: the endpoint as DescribeEndpoint names it, with its workers and last deployment."""

from __future__ import annotations

import contextlib
from typing import Any

from showcase.cli.common import Context
from showcase.cli.endpoint_serve import named_paths
from showcase.cli.output import Status
from showcase.errors import NoSuchResource
from showcase.statuses import EndpointStatus


def status(ctx: Context) -> int:
    from showcase.serving.deployment import child_pids, read_deployment, read_server_info
    from showcase.serving.metrics import read_worker_files

    paths = named_paths(ctx)
    deployment = read_deployment(paths)
    if deployment is None:
        raise NoSuchResource(
            f"endpoint {paths.name!r} has never been deployed under {ctx.settings.home}; "
            "serve it with: showcase endpoint serve --config deploy/endpoint_config_adj.json"
        )
    running = read_server_info(paths)
    live = set(child_pids(running.pid)) if running else set()
    workers = read_worker_files(paths.workers_dir)
    summary = status_document(paths.name, deployment, running, live, workers)
    summary.update(deployment_document(paths, deployment))
    ctx.out.document(summary)
    latency = summary["MeanLatencyMs"]
    by_status = ", ".join(f"{code}: {count}" for code, count in sorted(summary["RequestsByStatus"].items()))
    capture = summary["DataCaptureConfig"]
    ctx.out.fields(
        [
            ("endpoint", summary["EndpointName"]),
            ("status", Status(summary["EndpointStatus"])),
            ("url", summary["Url"]),
            ("pid", summary["Pid"]),
            ("model package", summary["ModelPackageArn"]),
            ("generation", summary["Generation"]),
            ("deployed", summary["LastModifiedTime"]),
            ("workers", len(summary["Workers"])),
            ("requests", f"{summary['Requests']}" + (f" ({by_status})" if by_status else "")),
            ("mean latency", f"{latency:.3f} ms" if latency is not None else None),
            ("health checks", summary["HealthChecks"]),
            ("variants", ", ".join(f"{v['VariantName']} {_share(v)}" for v in summary["ProductionVariants"])),
            ("last deployment", _last(summary.get("LastDeployment"))),
            (
                "data capture",
                f"{capture['CurrentSamplingPercentage']}% to {capture['DestinationS3Uri']}"
                if capture["EnableCapture"]
                else "off",
            ),
        ]
    )
    return 0


def _share(variant: dict[str, Any]) -> str:
    return "shadow" if variant.get("Shadow") else f"{variant['CurrentWeight']:.0%}"


def _last(record: dict[str, Any] | None) -> str | None:
    if not record:
        return None
    said = (
        f"{record['Routing']} {record['Outcome'] or record['Status']}, step {record['Step']} of {len(record['Shares'])}"
    )
    return said + (f": {record['Reason']}" if record.get("Reason") else "")


def deployment_document(paths: Any, deployment: Any) -> dict[str, Any]:
    """The variants with their current shares (the new fleet's during a deployment, in ``NewFleet``), and the
    last deployment: its status, step, alarms and outcome; a deployment in progress gives the endpoint its status."""
    from showcase.serving import rollout_records

    def variants_of(fleet: Any, share: float) -> list[dict[str, Any]]:
        shares = fleet.shares()
        found: list[dict[str, Any]] = []
        for v in fleet.variants:
            weight = round(shares[v.name] * share, 6)
            found.append({"VariantName": v.name, "ModelPackageArn": v.model_package_arn, "CurrentWeight": weight})
        if fleet.shadow is not None:
            found.append(
                {"VariantName": fleet.shadow.name, "ModelPackageArn": fleet.shadow.model_package_arn, "Shadow": True}
            )
        return found

    new_share = deployment.new_share if deployment.new_fleet is not None else 0.0
    answer: dict[str, Any] = {"ProductionVariants": variants_of(deployment.fleet, 1.0 - new_share)}
    if deployment.new_fleet is not None:
        answer["NewFleet"] = variants_of(deployment.new_fleet, new_share)
    records = rollout_records.list_deployments(paths)
    if records:
        last = records[0]
        keys = ("DeploymentId", "Status", "Outcome", "Reason", "Routing", "Step", "Shares", "NewFleetShare",
                "StartTime", "EndTime", "To", "Alarms")  # fmt: skip
        answer["LastDeployment"] = {key: last.get(key) for key in keys}
        if rollout_records.in_progress(last):
            answer["EndpointStatus"] = EndpointStatus(last["Status"])
    return answer


def status_document(
    name: str, deployment: Any, running: Any, live: set[int], workers: list[dict[str, Any]]
) -> dict[str, Any]:
    """The endpoint as DescribeEndpoint names what it has (EndpointName, EndpointStatus, LastModifiedTime,
    DataCaptureConfig), with what only a local endpoint has in the same PascalCase: its URL, server and workers,
    and its request metrics."""
    from datetime import datetime

    requests = sum(entry.get("requests", 0) for entry in workers)
    by_status: dict[str, int] = {}
    for entry in workers:
        for status, count in entry.get("by_status", {}).items():
            by_status[status] = by_status.get(status, 0) + count
    latency = sum(entry.get("latency_ms_sum", 0.0) for entry in workers)
    deployed: Any = deployment.deployed_at
    with contextlib.suppress(TypeError, ValueError):
        deployed = datetime.fromisoformat(deployed)
    return {
        "EndpointName": name,
        "EndpointStatus": EndpointStatus.IN_SERVICE if running else EndpointStatus.OUT_OF_SERVICE,
        "Url": running.url if running else None,
        "Pid": running.pid if running else None,
        "ModelPackageArn": deployment.model_package_arn,
        "Generation": deployment.generation,
        "LastModifiedTime": deployed,
        "DataCaptureConfig": {
            "EnableCapture": deployment.capture.enabled,
            "CurrentSamplingPercentage": deployment.capture.sampling_percentage,
            "DestinationS3Uri": deployment.capture.destination_uri,
        },
        "Workers": [
            {
                "Pid": entry.get("pid"),
                "ModelPackageArn": entry.get("model_package_arn"),
                "Generation": entry.get("generation"),
                "SwapError": entry.get("swap_error"),
                "Requests": entry.get("requests"),
            }
            for entry in workers
            if entry.get("pid") in live
        ],
        "Requests": requests,
        "RequestsByStatus": by_status,
        "MeanLatencyMs": round(latency / requests, 3) if requests else None,
        "HealthChecks": sum(entry.get("health_checks", 0) for entry in workers),
    }
