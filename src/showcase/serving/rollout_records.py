"""The record of each deployment of an endpoint, ``deployments/<id>.json``, and what DescribeEndpoint says of them.

A record is rewritten whole at each change: status (``Updating``, ``RollingBack``, ``InService``), the step and
share, the alarms' states, the events, and at the end the outcome (``Succeeded``, ``RolledBack``, ``Failed``) and
why. ``showcase endpoint status``, the dashboard and the local API's DescribeEndpoint read them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from showcase.clock import timestamp
from showcase.files import write_json_atomically
from showcase.processes import pid_alive
from showcase.serving.deployment import EndpointPaths
from showcase.statuses import EndpointStatus

UPDATING, ROLLING_BACK, IN_SERVICE = EndpointStatus.UPDATING, EndpointStatus.ROLLING_BACK, EndpointStatus.IN_SERVICE
SUCCEEDED, ROLLED_BACK, FAILED = "Succeeded", "RolledBack", "Failed"


def deployment_id(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H-%M-%S-%fZ")


def list_deployments(paths: EndpointPaths) -> list[dict[str, Any]]:
    """The endpoint's deployment records, newest first (an unreadable one is left out)."""
    found = []
    for path in sorted(paths.deployments_dir.glob("*.json"), reverse=True) if paths.deployments_dir.is_dir() else []:
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return found


def in_progress(record: Mapping[str, Any] | None) -> bool:
    """Whether a record's deployment is still being driven (its process lives)."""
    if record is None or record.get("Status") not in (UPDATING, ROLLING_BACK):
        return False
    return pid_alive(int(record.get("Pid", 0)), record.get("PidStarted"))


class Record:
    """One deployment's record file, rewritten whole at each change."""

    def __init__(self, paths: EndpointPaths, document: dict[str, Any], report: Callable[[str], None]) -> None:
        self.path = paths.deployments_dir / f"{document['DeploymentId']}.json"
        self.document, self.report = document, report
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(self.path, self.document)

    def event(self, message: str, **changes: Any) -> None:
        self.document.update(changes)
        self.document.setdefault("Events", []).append({"Time": now_iso(), "Message": message})
        self.save()
        self.report(message)


def now_iso() -> str:
    return timestamp(timespec="milliseconds")


def describe(paths: EndpointPaths) -> dict[str, Any]:
    """DescribeEndpoint's deployment fields: LastDeploymentConfig, and PendingDeploymentSummary while updating,
    with the status a deployment in progress gives the endpoint (absent when none is)."""
    records = list_deployments(paths)
    answer: dict[str, Any] = {}
    last = next((record for record in records if record.get("DeploymentConfig")), None)
    if last is not None:
        answer["LastDeploymentConfig"] = last["DeploymentConfig"]
    latest = records[0] if records else None
    if latest is not None and in_progress(latest):
        answer["EndpointStatus"] = latest["Status"]
        share = float(latest.get("NewFleetShare", 0.0))
        answer["PendingDeploymentSummary"] = {
            "EndpointConfigName": paths.name,
            "StartTime": datetime.fromisoformat(latest["StartTime"]),
            "ProductionVariants": [
                {"VariantName": name, "CurrentWeight": share, "DesiredWeight": 1.0}
                for name in latest.get("To", {})
                if name != "Shadow"
            ],
        }
    return answer
