"""Model Monitor's job definitions (data quality, model quality) and monitoring schedules, kept as records.

Create/Describe/Delete{DataQuality,ModelQuality}JobDefinition and Create/Describe/Update/List/
DeleteMonitoringSchedule keep SageMaker's requests in ``<home>/monitoring-job-definitions/<name>.json`` and
``<home>/monitoring-schedules/<name>.json``: what a stack's monitoring resources create, and what
``aws sagemaker describe-monitoring-schedule`` shows. A schedule is ``Scheduled`` as SageMaker reports it, but
nothing runs it on its cron locally: ``showcase-monitor run`` runs the data-quality job over an endpoint's
captures when asked. A schedule must name a job definition that exists, of its MonitoringType.
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from showcase.api import endpoint_processes as processes
from showcase.api.endpoints import NAME
from showcase.api.errors import ApiError, not_found, validation
from showcase.api.listing import created_between, page, sorted_by, with_token
from showcase.api.state import Call, Handler, State
from showcase.clock import timestamp
from showcase.files import write_json_atomically

STATUS = "Scheduled"


@dataclass(frozen=True)
class Kind:
    """One kind of job definition: its MonitoringType, the prefix of its fields and of its ARN."""

    monitoring_type: str
    fields: str
    arn_kind: str


KINDS = {
    "DataQuality": Kind("DataQuality", "DataQuality", "data-quality-job-definition"),
    "ModelQuality": Kind("ModelQuality", "ModelQuality", "model-quality-job-definition"),
}


def _arn(state: State, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{state.settings.region}:{state.settings.account}:{kind}/{name.lower()}"


def _path(state: State, directory: str, name: str, field: str) -> Path:
    if not NAME.match(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )
    return state.settings.home / directory / f"{name}.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return document


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, document)


# -- job definitions -------------------------------------------------------------------------------------------


def _definition_path(state: State, name: str) -> Path:
    return _path(state, "monitoring-job-definitions", name, "jobDefinitionName")


def definition(state: State, name: str, kind: Kind) -> dict[str, Any]:
    document = _read(_definition_path(state, name))
    if document is None or document["MonitoringType"] != kind.monitoring_type:
        raise not_found(f"Job definition {_arn(state, kind.arn_kind, name)} does not exist.")
    return document


def _create_definition(kind: Kind) -> Handler:
    def create(call: Call) -> dict[str, Any]:
        name = call.params["JobDefinitionName"]
        path = _definition_path(call.state, name)
        arn = _arn(call.state, kind.arn_kind, name)
        if path.exists():
            raise ApiError("ResourceInUse", f"Job definition {arn} already exists.")
        request = {key: value for key, value in call.params.items() if key != "Tags"}
        _write(path, {**request, "MonitoringType": kind.monitoring_type, "JobDefinitionArn": arn,
                      "CreationTime": timestamp()})  # fmt: skip
        return {"JobDefinitionArn": arn}

    return create


def _describe_definition(kind: Kind) -> Handler:
    def describe(call: Call) -> dict[str, Any]:
        document = definition(call.state, call.params["JobDefinitionName"], kind)
        described = {key: value for key, value in document.items() if key != "MonitoringType"}
        return {**described, "CreationTime": processes.parse_time(document["CreationTime"])}

    return describe


def _delete_definition(kind: Kind) -> Handler:
    def delete(call: Call) -> dict[str, Any]:
        name = call.params["JobDefinitionName"]
        definition(call.state, name, kind)
        _definition_path(call.state, name).unlink(missing_ok=True)
        return {}

    return delete


# -- schedules ---------------------------------------------------------------------------------------------------


def _schedule_path(state: State, name: str) -> Path:
    return _path(state, "monitoring-schedules", name, "monitoringScheduleName")


def _checked_config(state: State, config: dict[str, Any]) -> tuple[str, str | None]:
    """The config's MonitoringType and the endpoint its job definition reads; ValidationException when the job
    definition is missing or of another type."""
    monitoring_type = config.get("MonitoringType") or "DataQuality"
    kind = KINDS.get(monitoring_type)
    name = config.get("MonitoringJobDefinitionName")
    if kind is None or not name:
        raise validation(
            f"MonitoringScheduleConfig: the local API keeps schedules of a DataQuality or ModelQuality job "
            f"definition (MonitoringJobDefinitionName), got MonitoringType {monitoring_type!r}"
        )
    document = definition(state, name, kind)
    endpoint = ((document.get(f"{kind.fields}JobInput") or {}).get("EndpointInput") or {}).get("EndpointName")
    return monitoring_type, endpoint


def create_monitoring_schedule(call: Call) -> dict[str, Any]:
    name = call.params["MonitoringScheduleName"]
    path = _schedule_path(call.state, name)
    arn = _arn(call.state, "monitoring-schedule", name)
    if path.exists():
        raise ApiError("ResourceInUse", f"Monitoring schedule {arn} already exists.")
    config = call.params["MonitoringScheduleConfig"]
    monitoring_type, endpoint = _checked_config(call.state, config)
    created = timestamp()
    record = {
        "MonitoringScheduleArn": arn,
        "MonitoringScheduleName": name,
        "MonitoringScheduleStatus": STATUS,
        "MonitoringType": monitoring_type,
        "CreationTime": created,
        "LastModifiedTime": created,
        "MonitoringScheduleConfig": config,
    }
    _write(path, {**record, **({"EndpointName": endpoint} if endpoint else {})})
    return {"MonitoringScheduleArn": arn}


def _schedule(state: State, name: str) -> dict[str, Any]:
    document = _read(_schedule_path(state, name))
    if document is None:
        raise not_found(f"Monitoring Schedule {_arn(state, 'monitoring-schedule', name)} does not exist.")
    return document


def _timed(document: dict[str, Any]) -> dict[str, Any]:
    return {
        **document,
        "CreationTime": processes.parse_time(document["CreationTime"]),
        "LastModifiedTime": processes.parse_time(document["LastModifiedTime"]),
    }


def describe_monitoring_schedule(call: Call) -> dict[str, Any]:
    return _timed(_schedule(call.state, call.params["MonitoringScheduleName"]))


def update_monitoring_schedule(call: Call) -> dict[str, Any]:
    name = call.params["MonitoringScheduleName"]
    document = _schedule(call.state, name)
    config = call.params["MonitoringScheduleConfig"]
    monitoring_type, endpoint = _checked_config(call.state, config)
    document.update(MonitoringScheduleConfig=config, MonitoringType=monitoring_type, LastModifiedTime=timestamp())
    if endpoint:
        document["EndpointName"] = endpoint
    _write(_schedule_path(call.state, name), document)
    return {"MonitoringScheduleArn": document["MonitoringScheduleArn"]}


def delete_monitoring_schedule(call: Call) -> dict[str, Any]:
    name = call.params["MonitoringScheduleName"]
    _schedule(call.state, name)
    _schedule_path(call.state, name).unlink(missing_ok=True)
    return {}


def list_monitoring_schedules(call: Call) -> dict[str, Any]:
    params = call.params
    directory = call.state.settings.home / "monitoring-schedules"
    documents = [_timed(json.loads(path.read_text("utf-8"))) for path in sorted(directory.glob("*.json"))]
    keep = created_between(params, "CreationTimeAfter", "CreationTimeBefore")
    filters = {
        "EndpointName": "EndpointName",
        "StatusEquals": "MonitoringScheduleStatus",
        "MonitoringTypeEquals": "MonitoringType",
    }
    chosen = [
        d
        for d in documents
        if (params.get("NameContains") or "").lower() in d["MonitoringScheduleName"].lower()
        and keep(d["CreationTime"])
        and all(params.get(f) in (None, d.get(key)) for f, key in filters.items())
        and params.get("MonitoringJobDefinitionName")
        in (None, d["MonitoringScheduleConfig"].get("MonitoringJobDefinitionName"))
    ]
    keys = {"Name": "MonitoringScheduleName", "CreationTime": "CreationTime", "Status": "MonitoringScheduleStatus"}
    ordered = sorted_by(chosen, params, {k: operator.itemgetter(f) for k, f in keys.items()}, "CreationTime")
    items, token = page(ordered, params, default=10)
    summary_keys = ("MonitoringScheduleName", "MonitoringScheduleArn", "CreationTime", "LastModifiedTime",
                    "MonitoringScheduleStatus", "EndpointName", "MonitoringType")  # fmt: skip
    summaries = [{key: d[key] for key in summary_keys if key in d} for d in items]
    for summary, d in zip(summaries, items, strict=True):
        summary["MonitoringJobDefinitionName"] = d["MonitoringScheduleConfig"].get("MonitoringJobDefinitionName")
    return with_token({"MonitoringScheduleSummaries": summaries}, token)


OPERATIONS: dict[str, Handler] = {
    **{f"Create{k}JobDefinition": _create_definition(kind) for k, kind in KINDS.items()},
    **{f"Describe{k}JobDefinition": _describe_definition(kind) for k, kind in KINDS.items()},
    **{f"Delete{k}JobDefinition": _delete_definition(kind) for k, kind in KINDS.items()},
    "CreateMonitoringSchedule": create_monitoring_schedule,
    "DescribeMonitoringSchedule": describe_monitoring_schedule,
    "UpdateMonitoringSchedule": update_monitoring_schedule,
    "DeleteMonitoringSchedule": delete_monitoring_schedule,
    "ListMonitoringSchedules": list_monitoring_schedules,
}
