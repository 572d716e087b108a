"""Making, changing and deleting one resource through the local API's own handlers.

Before a call, the resolved properties are brought to the operation's input shape as CloudFormation's resource
handlers bring them (a parameter's ``"1"`` becomes the integer 1 where the shape wants an integer, ``"true"`` a
boolean) and checked with botocore's validator against the same shape: a property the operation would refuse
fails the resource, in one line naming it. An endpoint is made or changed only once it is InService again, as
CloudFormation waits for it; an update the endpoint did not take (it still serves its old config) fails.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from werkzeug.datastructures import Headers

from showcase.api import wire
from showcase.api.cloudformation.resources import ResourceType
from showcase.api.errors import ApiError, from_showcase_error
from showcase.api.state import Call, Reply, State
from showcase.errors import ShowcaseError

_HANDLER_CODES = {
    "ValidationException": "InvalidRequest",
    "ResourceNotFound": "NotFound",
    "ResourceInUse": "AlreadyExists",
}
_SETTLING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
_NAME_CHARACTERS = string.ascii_letters + string.digits


class ResourceFailed(Exception):
    """A resource could not be made, changed or deleted; the message is the event's ResourceStatusReason."""


@dataclass(frozen=True)
class Made:
    physical: str
    properties: dict[str, Any]
    """The properties as resolved from the template (what a later change is compared with)."""
    attributes: dict[str, Any]


@dataclass
class Context:
    state: State
    stack_name: str
    poll_s: float = 0.5
    timeout_s: float = 1800.0
    sleep: Callable[[float], None] = time.sleep


def generated_name(kind: ResourceType, logical: str, stack_name: str) -> str:
    """CloudFormation's name for a resource the template does not name: the logical id and 12 random characters
    (an alarm's also starts with the stack's name)."""
    suffix = "".join(secrets.choice(_NAME_CHARACTERS) for _ in range(12))
    if kind.service == "cloudwatch":
        return f"{stack_name}-{logical}-{suffix}"[:255]
    return f"{logical[: 63 - 13]}-{suffix}"


def invoke(ctx: Context, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """One operation of the local API, as a caller would make it; ResourceFailed with the handler's message."""
    call = Call(ctx.state, service, operation, params, Headers(), str(uuid.uuid4()))
    try:
        answer = ctx.state.operations[service, operation](call)
    except ShowcaseError as exc:
        answer_error = from_showcase_error(exc, service)
        raise ResourceFailed(_handler_message(answer_error)) from None
    except ApiError as exc:
        raise ResourceFailed(_handler_message(exc)) from None
    assert not isinstance(answer, Reply) and isinstance(answer, dict), operation
    return answer


def _handler_message(error: ApiError) -> str:
    code = _HANDLER_CODES.get(error.code, "GeneralServiceException")
    return f'Resource handler returned message: "{error.message}" (HandlerErrorCode: {code})'


def shaped(kind: ResourceType, operation: str, properties: dict[str, Any], logical: str) -> dict[str, Any]:
    """``properties`` less CloudFormation's own that ``operation`` does not take, converted to the operation's
    input shape and validated by it."""
    shape = wire.service_model(kind.service).operation_model(operation).input_shape
    left_out = kind.cfn_only - set(shape.members)
    request = _coerce({k: v for k, v in properties.items() if k not in left_out}, shape)
    try:
        validate_parameters(request, shape)
    except ParamValidationError as exc:
        report = " ".join(str(exc).split())
        raise ResourceFailed(f"Properties validation failed for resource {logical} with message: {report}") from None
    return request


def _coerce(value: Any, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: _coerce(v, members[k]) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(v, shape.value) for k, v in value.items()}
    if isinstance(value, str) and kind in ("integer", "long"):
        return int(value) if value.lstrip("-").isdigit() else value
    if isinstance(value, str) and kind in ("float", "double"):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, str) and kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, bool | int | float) and kind == "string":
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value


def create(ctx: Context, kind: ResourceType, logical: str, properties: dict[str, Any], name: str) -> Made:
    """Make the resource named ``name`` (the template's name, or ``generated_name``'s)."""
    request = shaped(kind, kind.create, {**properties, kind.name_property: name}, logical)
    answer = invoke(ctx, kind.service, kind.create, request)
    if kind.type_name == "AWS::SageMaker::Endpoint":
        wait_for_endpoint(ctx, name, request["EndpointConfigName"])
    return Made(name, properties, _attributes(ctx, kind, name, answer))


def update(ctx: Context, kind: ResourceType, logical: str, physical: str, properties: dict[str, Any]) -> Made:
    """Change a resource in place (its create-only properties are unchanged)."""
    assert kind.update is not None, kind.type_name
    full = {**properties, kind.name_property: physical}
    answer: dict[str, Any] = {}
    if kind.type_name == "AWS::SageMaker::Endpoint":
        request = shaped(kind, kind.update, full, logical)
        if _served_config(ctx, physical) != request["EndpointConfigName"]:
            answer = invoke(ctx, kind.service, kind.update, request)
            wait_for_endpoint(ctx, physical, request["EndpointConfigName"])
        # Else only DeploymentConfig or the Retain* switches changed: they apply to the next update.
    elif kind.type_name == "AWS::SageMaker::MonitoringSchedule":
        request = {"MonitoringScheduleName": physical, "MonitoringScheduleConfig": full["MonitoringScheduleConfig"]}
        answer = invoke(ctx, kind.service, kind.update, shaped(kind, kind.update, request, logical))
    else:
        answer = invoke(ctx, kind.service, kind.update, shaped(kind, kind.update, full, logical))
    return Made(physical, properties, _attributes(ctx, kind, physical, answer))


def delete(ctx: Context, kind: ResourceType, physical: str) -> None:
    """Delete a resource; one that is already gone counts as deleted, as CloudFormation counts it."""
    params: dict[str, Any] = {kind.name_property: physical}
    if kind.service == "cloudwatch":
        params = {"AlarmNames": [physical]}
    try:
        invoke(ctx, kind.service, kind.delete, params)
    except ResourceFailed as exc:
        if "NotFound" in str(exc) or "Could not find" in str(exc) or "does not exist" in str(exc):
            return
        raise
    if kind.type_name == "AWS::SageMaker::Endpoint":
        wait_for_endpoint(ctx, physical, None, deleting=True)


def _attributes(ctx: Context, kind: ResourceType, name: str, answer: dict[str, Any]) -> dict[str, Any]:
    arn = answer.get(kind.arn_attribute)
    if arn is None and kind.service == "cloudwatch":
        settings = ctx.state.settings
        arn = f"arn:aws:cloudwatch:{settings.region}:{settings.account}:alarm:{name}"
    if arn is None:
        described = invoke(ctx, kind.service, kind.create.replace("Create", "Describe", 1), {kind.name_property: name})
        arn = described[kind.arn_attribute]
    return {kind.name_property: name, kind.arn_attribute: arn}


def _served_config(ctx: Context, name: str) -> str | None:
    described = invoke(ctx, "sagemaker", "DescribeEndpoint", {"EndpointName": name})
    config: str | None = described.get("EndpointConfigName")
    return config


def wait_for_endpoint(ctx: Context, name: str, config: str | None, *, deleting: bool = False) -> None:
    """Until the endpoint is InService with ``config`` (or, ``deleting``, gone); ResourceFailed when it fails, stays
    on another config, or takes longer than the context's timeout."""
    deadline = time.monotonic() + ctx.timeout_s
    while True:
        try:
            described = invoke(ctx, "sagemaker", "DescribeEndpoint", {"EndpointName": name})
        except ResourceFailed:
            if deleting:
                return
            raise
        status = described["EndpointStatus"]
        if not deleting and status not in _SETTLING:
            _settled(name, described, config)
            return
        if time.monotonic() > deadline:
            raise ResourceFailed(f"Endpoint {name} is still {status} after {ctx.timeout_s:.0f} s")
        ctx.sleep(ctx.poll_s)


def _settled(name: str, described: dict[str, Any], config: str | None) -> None:
    status, reason = described["EndpointStatus"], described.get("FailureReason")
    if status != "InService":
        raise ResourceFailed(f"Endpoint {name} is {status}" + (f": {reason}" if reason else ""))
    if config is not None and described.get("EndpointConfigName") != config:
        raise ResourceFailed(
            f"Endpoint {name} still serves endpoint config {described.get('EndpointConfigName')}, not {config}"
            + (f": {reason}" if reason else "")
        )
