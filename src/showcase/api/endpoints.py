"""Endpoint configs and endpoints: Create/Describe/List/Delete, and UpdateEndpoint's swap with no downtime.

An endpoint config is kept as ``<home>/endpoint-configs/<name>.json``. An endpoint deploys its config's one
production variant: the variant's model (CreateModel) names a registered model package
(``PrimaryContainer.ModelPackageName``, as ``ModelPackage.deploy()`` and the project's CloudFormation template
create it), and the local endpoint serves that package (``showcase-endpoint``; see ``endpoint_processes``).
What the local endpoint cannot do is refused before anything starts, naming the field.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

from showcase.api import endpoint_processes as processes
from showcase.api.errors import ApiError, validation
from showcase.api.listing import created_between, page, sorted_by, with_token
from showcase.api.state import Call, Handler, State
from showcase.clock import timestamp
from showcase.deployment import alarms
from showcase.errors import RegistryError, UsageError
from showcase.files import write_json_atomically
from showcase.serving import rollout
from showcase.serving.deployment import VARIANT_NAME, EndpointPaths, read_deployment, read_server_info

_VARIANT = {
    "VariantName": VARIANT_NAME,
    "CurrentWeight": 1.0,
    "DesiredWeight": 1.0,
    "CurrentInstanceCount": 1,
    "DesiredInstanceCount": 1,
}
NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_REFUSED_CONFIG_FIELDS = {
    "ShadowProductionVariants": "the local endpoint serves one variant and no shadow",
    "AsyncInferenceConfig": "the local endpoint answers InvokeEndpoint only, not asynchronous inference",
    "ExplainerConfig": "the local endpoint has no explainer",
}


def _arn(state: State, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{state.registry.region}:{state.registry.account}:{kind}/{name.lower()}"


def _check_name(name: str, field: str) -> str:
    if not NAME.match(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )
    return name


# -- endpoint configs ---------------------------------------------------------------------------------------------


def _config_file(state: State, name: str) -> Path:
    return state.settings.home / "endpoint-configs" / f"{_check_name(name, 'endpointConfigName')}.json"


def load_config(state: State, name: str) -> dict[str, Any]:
    path = _config_file(state, name)
    if not path.is_file():
        raise validation(f'Could not find endpoint configuration "{_arn(state, "endpoint-config", name)}".')
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def create_endpoint_config(call: Call) -> dict[str, Any]:
    params, state = call.params, call.state
    name = params["EndpointConfigName"]
    path = _config_file(state, name)
    for field, reason in _REFUSED_CONFIG_FIELDS.items():
        if params.get(field):
            raise validation(f"CreateEndpointConfig {field}: {reason}")
    variants = params["ProductionVariants"]
    if len(variants) != 1:
        raise validation(f"ProductionVariants: the local endpoint serves one variant, got {len(variants)}")
    model_package(state, variants[0])  # the model must exist and name a package, as a deploy will need
    if path.is_file():
        raise validation(
            f'Cannot create already existing endpoint configuration "{_arn(state, "endpoint-config", name)}".'
        )
    document = {
        **{key: value for key, value in params.items() if key != "Tags"},
        "EndpointConfigArn": _arn(state, "endpoint-config", name),
        "CreationTime": timestamp(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, document)
    return {"EndpointConfigArn": document["EndpointConfigArn"]}


def model_package(state: State, variant: dict[str, Any]) -> str:
    """The model package a variant's model serves; ValidationException when it names none."""
    try:
        model = state.registry.describe_model(ModelName=variant["ModelName"])
    except RegistryError:
        raise validation(f'Could not find model "{_arn(state, "model", variant["ModelName"])}".') from None
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    package = container.get("ModelPackageName")
    if not package:
        raise validation(
            f"model {variant['ModelName']!r} names no ModelPackageName: the local endpoint serves registered model "
            "packages; create the model with PrimaryContainer={'ModelPackageName': <package ARN>}"
        )
    return str(package)


def describe_endpoint_config(call: Call) -> dict[str, Any]:
    return load_config(call.state, call.params["EndpointConfigName"])


def delete_endpoint_config(call: Call) -> dict[str, Any]:
    load_config(call.state, call.params["EndpointConfigName"])
    _config_file(call.state, call.params["EndpointConfigName"]).unlink(missing_ok=True)
    return {}


def list_endpoint_configs(call: Call) -> dict[str, Any]:
    params = call.params
    directory = call.state.settings.home / "endpoint-configs"
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))]
    keep = created_between(params, "CreationTimeAfter", "CreationTimeBefore")
    contains = (params.get("NameContains") or "").lower()
    chosen = [
        d
        for d in documents
        if contains in d["EndpointConfigName"].lower() and keep(processes.parse_time(d["CreationTime"]))
    ]
    ordered = sorted_by(
        chosen,
        params,
        {"Name": lambda d: d["EndpointConfigName"], "CreationTime": lambda d: d["CreationTime"]},
        "CreationTime",
    )
    items, token = page(ordered, params, default=10)
    summaries = [{key: d[key] for key in ("EndpointConfigName", "EndpointConfigArn", "CreationTime")} for d in items]
    return with_token({"EndpointConfigs": summaries}, token)


# -- endpoints ----------------------------------------------------------------------------------------------------


def _deploy_parameters(state: State, name: str, config: dict[str, Any]) -> dict[str, str]:
    """The deploy config's parameters (deploy/endpoint_config_adj.json's names) for an endpoint config."""
    capture = config.get("DataCaptureConfig") or {}
    parameters = {
        "EndpointName": name,
        "ModelPackageName": model_package(state, config["ProductionVariants"][0]),
        "EnableDataCapture": "true" if capture.get("EnableCapture") else "false",
        "SamplingPercentage": str(capture.get("InitialSamplingPercentage", 0)),
    }
    if capture.get("DestinationS3Uri"):
        parameters["DataCaptureS3Uri"] = capture["DestinationS3Uri"]
    return parameters


def _endpoint(state: State, name: str) -> EndpointPaths:
    return processes.paths(state, _check_name(name, "endpointName"))


def _existing(state: State, name: str) -> tuple[EndpointPaths, dict[str, Any] | None, str]:
    """An endpoint that exists (a record of the API's, or a live server): its paths, record and status."""
    endpoint = _endpoint(state, name)
    record = processes.read_record(endpoint)
    status = processes.status(endpoint, record, state.children.running)
    if status == "Deleted":
        processes.record_file(endpoint).unlink(missing_ok=True)
        record, status = None, processes.status(endpoint, None, state.children.running)
    if record is None and read_server_info(endpoint) is None:
        raise validation(f'Could not find endpoint "{_arn(state, "endpoint", name)}".')
    return endpoint, record, status


def create_endpoint(call: Call) -> dict[str, Any]:
    params, state = call.params, call.state
    name = params["EndpointName"]
    endpoint = _endpoint(state, name)
    config = load_config(state, params["EndpointConfigName"])
    parameters = _deploy_parameters(state, name, config)
    with processes.LOCK:
        record = processes.read_record(endpoint)
        reaping = state.children.running
        if (record is not None and processes.status(endpoint, record, reaping) != "Deleted") or read_server_info(
            endpoint
        ):
            raise validation(f'Cannot create already existing endpoint "{_arn(state, "endpoint", name)}".')
        created = timestamp()
        processes.write_record(
            endpoint,
            {
                "EndpointName": name,
                "EndpointArn": _arn(state, "endpoint", name),
                "EndpointConfigName": params["EndpointConfigName"],
                "CreationTime": created,
                "LastModifiedTime": created,
            },
        )
    deploy_config = processes.write_deploy_config(endpoint, parameters)
    processes.start(state, endpoint, "create", deploy_config, processes.serve_ended(endpoint))
    return {"EndpointArn": _arn(state, "endpoint", name)}


def update_endpoint(call: Call) -> dict[str, Any]:
    params, state = call.params, call.state
    config = load_config(state, params["EndpointConfigName"])
    deployment = _checked_deployment_config(state, params.get("DeploymentConfig") or {}, params["EndpointName"], config)
    endpoint, record, status = _existing(state, params["EndpointName"])
    if status != "InService":
        raise validation(f"Cannot update endpoint {params['EndpointName']!r}: it is {status}, not InService")
    parameters = _deploy_parameters(state, params["EndpointName"], config)
    if record is None:  # served by `showcase-endpoint serve` directly: the API keeps a record from now on
        processes.write_record(endpoint, _adopted(state, endpoint))
    deploy_config = processes.write_deploy_config(endpoint, parameters, deployment)
    processes.update_record(endpoint, lambda r: r.update(PendingEndpointConfigName=params["EndpointConfigName"]))
    ended = processes.deploy_ended(endpoint, params["EndpointConfigName"])
    processes.start(state, endpoint, "update", deploy_config, ended)
    return {"EndpointArn": _arn(state, "endpoint", params["EndpointName"])}


def _checked_deployment_config(
    state: State, deployment_config: dict[str, Any], endpoint_name: str, config: dict[str, Any]
) -> dict[str, Any] | None:
    """UpdateEndpoint's DeploymentConfig, checked as the deploying process will run it (serving.rollout), with the
    definitions of the alarms it names (those PutMetricAlarm made, as CloudWatch keeps them); None without one
    (every worker swaps at once)."""
    if not deployment_config:
        return None
    alarm_requests = list(alarms.alarms(state.settings.home).values())
    instances = int(config["ProductionVariants"][0].get("InitialInstanceCount") or 1)
    try:
        rollout.policy_of(
            deployment_config, alarm_requests, endpoint_name=endpoint_name, instance_count=instances,
            source="DeploymentConfig",
        )  # fmt: skip
    except UsageError as exc:
        raise validation(str(exc)) from None
    return {"DeploymentConfig": deployment_config, "Alarms": alarm_requests}


def _adopted(state: State, endpoint: EndpointPaths) -> dict[str, Any]:
    deployment = read_deployment(endpoint)
    created = deployment.deployed_at if deployment is not None and deployment.deployed_at else timestamp()
    return {
        "EndpointName": endpoint.name,
        "EndpointArn": _arn(state, "endpoint", endpoint.name),
        "CreationTime": created,
        "LastModifiedTime": created,
        "Served": True,
    }


def delete_endpoint(call: Call) -> dict[str, Any]:
    endpoint, record, _ = _existing(call.state, call.params["EndpointName"])
    running = read_server_info(endpoint)
    if record is not None:
        processes.update_record(endpoint, lambda r: r.update(Deleting=True))
    starting = (record or {}).get("Process")
    pids = {running.pid} if running is not None else set()
    if starting:
        pids.add(int(starting["pid"]))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # gunicorn: stop accepting, finish in-flight requests, exit
    if running is None and record is not None:
        processes.record_file(endpoint).unlink(missing_ok=True)
    return {}


def describe_endpoint(call: Call) -> dict[str, Any]:
    endpoint, record, status = _existing(call.state, call.params["EndpointName"])
    record = record or _adopted(call.state, endpoint)
    answer = {
        "EndpointName": endpoint.name,
        "EndpointArn": record["EndpointArn"],
        "EndpointStatus": status,
        "CreationTime": processes.parse_time(record["CreationTime"]),
        "LastModifiedTime": processes.parse_time(record["LastModifiedTime"]),
    }
    if record.get("EndpointConfigName"):
        answer["EndpointConfigName"] = record["EndpointConfigName"]
    if record.get("FailureReason"):
        answer["FailureReason"] = record["FailureReason"]
    rolling = rollout.describe(endpoint)
    answer.update({key: value for key, value in rolling.items() if key != "PendingDeploymentSummary"})
    if "PendingDeploymentSummary" in rolling and (record.get("Process") or {}).get("kind") == "update":
        pending = rolling["PendingDeploymentSummary"]
        answer["PendingDeploymentSummary"] = {**pending, "EndpointConfigName": record.get("PendingEndpointConfigName")}
    deployment = read_deployment(endpoint)
    if deployment is not None and answer["EndpointStatus"] in ("InService", "Updating", "RollingBack"):
        answer["ProductionVariants"] = [_VARIANT]
        capture = deployment.capture
        answer["DataCaptureConfig"] = {
            "EnableCapture": capture.enabled,
            "CaptureStatus": "Started" if capture.enabled else "Stopped",
            "CurrentSamplingPercentage": capture.sampling_percentage,
            "DestinationS3Uri": capture.destination_uri,
        }
    return answer


def list_endpoints(call: Call) -> dict[str, Any]:
    params, state = call.params, call.state
    root = state.settings.home / "endpoints"
    summaries = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        if not NAME.match(directory.name):
            continue
        try:
            _, record, status = _existing(state, directory.name)
        except ApiError:  # not an endpoint (any more): nothing to list
            continue
        record = record or _adopted(state, EndpointPaths(state.settings.home, directory.name))
        summaries.append(
            {
                "EndpointName": directory.name,
                "EndpointArn": record["EndpointArn"],
                "CreationTime": processes.parse_time(record["CreationTime"]),
                "LastModifiedTime": processes.parse_time(record["LastModifiedTime"]),
                "EndpointStatus": status,
            }
        )
    keep = created_between(params, "CreationTimeAfter", "CreationTimeBefore")
    contains = (params.get("NameContains") or "").lower()
    chosen = [
        s for s in summaries
        if contains in s["EndpointName"].lower() and keep(s["CreationTime"])
        and params.get("StatusEquals") in (None, s["EndpointStatus"])
    ]  # fmt: skip
    ordered = sorted_by(
        chosen,
        params,
        {
            "Name": lambda s: s["EndpointName"],
            "CreationTime": lambda s: s["CreationTime"],
            "Status": lambda s: s["EndpointStatus"],
        },
        "CreationTime",
    )
    items, token = page(ordered, params, default=10)
    return with_token({"Endpoints": items}, token)


OPERATIONS: dict[str, Handler] = {
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": describe_endpoint_config,
    "DeleteEndpointConfig": delete_endpoint_config,
    "ListEndpointConfigs": list_endpoint_configs,
    "CreateEndpoint": create_endpoint,
    "UpdateEndpoint": update_endpoint,
    "DeleteEndpoint": delete_endpoint,
    "DescribeEndpoint": describe_endpoint,
    "ListEndpoints": list_endpoints,
}
