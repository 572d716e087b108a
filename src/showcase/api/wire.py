"""The wire protocols, from botocore's service models: which service and operation a request is, its
parameters, and the bytes of the answer.

moto's protocol layer does the work (``moto.core.routing``, ``moto.core.parse``, ``moto.core.serialize``,
built on ``botocore.model``): the same JSON 1.1 (SageMaker), rest-json (SageMaker Runtime), query (STS, IAM)
and rest-xml (S3) that botocore itself speaks, read from the same ``service-2.json`` files. Only those modules
are used, never moto's backends.

A service is chosen as moto's server does: the SigV4 credential scope (``Authorization`` header, or a presigned
URL's ``X-Amz-Credential``), then ``X-Amz-Target``, then the form's ``Action``, then the path; S3 otherwise.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote

from botocore.utils import parse_timestamp
from moto.core.model import OperationModel, ServiceModel
from moto.core.parse import PROTOCOL_PARSERS, RequestParserError
from moto.core.routing import JSONRouter, ProtocolRouter, QueryRouter, RestRouter
from moto.core.serialize import SerializationContext, get_serializer_class
from moto.core.utils import get_service_model
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import NotFound

from showcase.api.errors import ApiError, malformed, unknown_operation

SERVED = ("s3", "sts", "iam", "sagemaker", "sagemaker-runtime", "cloudformation", "cloudwatch", "lambda", "sqs")
"""The services whose operations the local API answers (others get their own unknown-operation error)."""
_SCOPE = re.compile(r"Credential=[^/,\s]*/[0-9]{8}/[^/]+/([^/]+)/aws4_request")
_PRESIGNED_SCOPE = re.compile(r"^[^/]*/[0-9]{8}/[^/]+/([^/]+)/aws4_request$")
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_QUERY_VERSIONS = {"2011-06-15": "sts", "2010-05-08": "iam", "2010-05-15": "cloudformation", "2012-11-05": "sqs"}
_TARGET_PREFIXES = {"GraniteServiceVersion20100801": "cloudwatch", "AmazonSQS": "sqs"}
_SIGNING_ALIASES = {"monitoring": "cloudwatch", "states": "stepfunctions", "execute-api": "apigateway"}
_ROUTERS: dict[str, type[ProtocolRouter]] = {
    "json": JSONRouter,
    "query": QueryRouter,
    "rest-json": RestRouter,
    "rest-xml": RestRouter,
}


@dataclass
class WireRequest:
    """One HTTP request as moto's routers and parsers read it (werkzeug's ``Headers`` and ``MultiDict``)."""

    method: str
    host: str
    raw_path: str
    """The path as sent, still percent-encoded (an S3 key may hold an encoded ``/``)."""
    args: MultiDict[str, str]
    headers: Headers
    body: bytes = b""
    values: MultiDict[str, str] = field(default_factory=MultiDict)
    """The query protocol's form fields (and the query string), where the ``Action`` and its parameters are."""

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def with_body(self, body: bytes) -> WireRequest:
        values = MultiDict(self.args)
        if self.content_type.startswith("application/x-www-form-urlencoded"):
            values.update(MultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
        return WireRequest(self.method, self.host, self.raw_path, self.args, self.headers, body, values)


@dataclass(frozen=True)
class WireResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | None
    """None when the handler streams the body itself (GetObject)."""


_LOADED: dict[str, tuple[ServiceModel, ProtocolRouter | None]] = {}
_LOADING = threading.Lock()


def _load(name: str) -> tuple[ServiceModel, ProtocolRouter | None]:
    """A service's model and router, built once (a request and the start-up's warming never both build one)."""
    loaded = _LOADED.get(name)
    if loaded is None:
        with _LOADING:
            loaded = _LOADED.get(name)
            if loaded is None:
                model = get_service_model(name)
                router = _ROUTERS.get(protocol(model))
                loaded = _LOADED[name] = (model, router(model) if router is not None else None)
    return loaded


def protocol(model: ServiceModel) -> str:
    """The protocol botocore speaks to the service: the first it supports of the model's ``protocols`` (CloudWatch
    lists smithy-rpc-v2-cbor, json and query; botocore picks json), else the model's one ``protocol``."""
    return str(getattr(model, "resolved_protocol", None) or model.protocol)


def service_model(name: str) -> ServiceModel:
    """botocore's model of a service (with moto's extra error shapes), loaded once."""
    return _load(name)[0]


def _router(model: ServiceModel) -> ProtocolRouter:
    if model.protocol == "query" and model.service_name in _QUERY_COMPATIBLE:
        router: ProtocolRouter | None = query_variant(model.service_name)[1]
    else:
        router = _load(model.service_name)[1]
    if router is None:
        raise NotFound()
    return router


_QUERY_COMPATIBLE = ("sqs",)
"""Services that moved from the query protocol to JSON and still answer both (botocore's SQS did in 1.31.81, was
reverted, and did again in 2024): a form-encoded request with an ``Action`` is read, and answered, as query."""
_VARIANTS: dict[str, tuple[ServiceModel, ProtocolRouter]] = {}


def query_variant(name: str) -> tuple[ServiceModel, ProtocolRouter]:
    """The query protocol's model of a query-compatible JSON service (the same shapes), and its router."""
    found = _VARIANTS.get(name)
    if found is None:
        with _LOADING:
            found = _VARIANTS.get(name)
            if found is None:
                base = _load(name)[0]
                description = dict(base._service_description)
                description["metadata"] = {**base.metadata, "protocol": "query", "protocols": ["query"]}
                model = ServiceModel(description, name)
                found = _VARIANTS[name] = (model, QueryRouter(model))
    return found


def model_for(name: str, request: WireRequest) -> ServiceModel | None:
    """The model a request to service ``name`` is read and answered with: the query variant for a query-compatible
    service called with a form's ``Action``, else the service's own (None: a service botocore does not know)."""
    model = known_model(name)
    if model is not None and name in _QUERY_COMPATIBLE and request.values.get("Action"):
        return query_variant(name)[0]
    return model


def warm() -> None:
    """Load the served services' models and routers, S3's first (what a first request most often needs)."""
    for name in SERVED:
        _load(name)


# -- which service ----------------------------------------------------------------------------------------------


def signing_service(request: WireRequest) -> str | None:
    """The service of the SigV4 credential scope (header or presigned URL); None for an unsigned request."""
    match = _SCOPE.search(request.headers.get("Authorization", ""))
    if match:
        return match.group(1)
    presigned = _PRESIGNED_SCOPE.match(request.args.get("X-Amz-Credential", ""))
    return presigned.group(1) if presigned else None


def service_of(request: WireRequest) -> str:
    """The botocore service name a request is for (one of SERVED, or another service's name)."""
    signed = signing_service(request)
    target = request.headers.get("X-Amz-Target", "")
    if signed == "sagemaker" or (signed is None and target.startswith("SageMaker.")):
        if target:
            return "sagemaker"
        return "sagemaker-runtime" if request.path.startswith("/endpoints/") else "sagemaker-metrics"
    if signed is not None:
        return _SIGNING_ALIASES.get(signed, signed)
    if target:
        prefix = target.partition(".")[0]
        return _TARGET_PREFIXES.get(prefix) or prefix.lower() or "sagemaker"
    action = request.values.get("Action")
    if action:
        return _QUERY_VERSIONS.get(request.values.get("Version", ""), "sts" if action == "GetCallerIdentity" else "iam")
    if request.method == "POST" and request.path.startswith("/endpoints/") and request.path.endswith("/invocations"):
        return "sagemaker-runtime"
    if request.path.startswith("/2015-03-31/functions"):
        return "lambda"
    return "s3"


def known_model(name: str) -> ServiceModel | None:
    """The service's model when botocore knows the service, else None."""
    if not _SERVICE_NAME.match(name):
        return None
    try:
        return service_model(name)
    except Exception:  # botocore's UnknownServiceError, or a model that does not load
        return None


# -- which operation, with which parameters -------------------------------------------------------------------


def operation_of(model: ServiceModel, request: WireRequest) -> tuple[OperationModel, dict[str, Any]]:
    """The operation a request calls and its URI labels; ApiError (unknown operation) when none matches."""
    try:
        operation, uri_params = _router(model).match(request)  # type: ignore[arg-type]
    except NotFound:
        raise unknown_operation(model, _requested_name(model, request)) from None
    return operation, uri_params


def _requested_name(model: ServiceModel, request: WireRequest) -> str:
    if protocol(model) == "json":
        return request.headers.get("X-Amz-Target", "").rpartition(".")[2] or "(no X-Amz-Target)"
    if protocol(model) == "query":
        return request.values.get("Action") or "(no Action)"
    return f"{request.method} {request.raw_path}"


def parse(operation: OperationModel, request: WireRequest, uri_params: dict[str, Any]) -> dict[str, Any]:
    """The operation's input parameters, by its model; ApiError for a body or value that does not parse."""
    spoken = protocol(operation.service_model)
    if spoken in ("json", "rest-json") and request.body and not _payload_is_raw(operation):
        try:
            document = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise malformed(spoken, f"the request body is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise malformed(spoken, f"the request body must be a JSON object, got {type(document).__name__}")
    parser = PROTOCOL_PARSERS[spoken](operation, timestamp_parser=_utc_timestamp)
    request_dict = {
        "body": request.body,
        "headers": request.headers,
        "method": request.method,
        "url_params": uri_params,
        "url_path": request.path,
        "values": request.values if spoken == "query" else request.args,
    }
    try:
        params: dict[str, Any] = parser.parse(request_dict)  # type: ignore[arg-type]
    except (RequestParserError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise malformed(spoken, f"{operation.name}: a parameter does not parse ({exc})") from None
    _check_required(operation, params)
    return params


def _utc_timestamp(value: Any) -> datetime:
    """A request's timestamp as an aware UTC datetime (epoch seconds in JSON, ISO 8601 in query and XML)."""
    return parse_timestamp(value).astimezone(timezone.utc)


def _payload_is_raw(operation: OperationModel) -> bool:
    """Whether the body is the payload's bytes (InvokeEndpoint's Body), not a JSON document."""
    shape = operation.input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    return payload is not None and shape.members[payload].type_name in ("blob", "string")


def _check_required(operation: OperationModel, params: dict[str, Any]) -> None:
    """AWS's own wording for a missing required member (botocore checks this too, other callers may not)."""
    shape = operation.input_shape
    missing = [name for name in (shape.required_members if shape is not None else []) if params.get(name) is None]
    payload = shape.serialization.get("payload") if shape is not None else None
    missing = [name for name in missing if name != payload]  # a streamed body is not in params
    if missing:
        details = "; ".join(
            f"Value null at '{name[0].lower()}{name[1:]}' failed to satisfy constraint: Member must not be null"
            for name in missing
        )
        raise ApiError("ValidationException", f"{len(missing)} validation error(s) detected: {details}")


# -- the answer ---------------------------------------------------------------------------------------------------


def serialize(operation: OperationModel, result: dict[str, Any], request_id: str) -> WireResponse:
    """The operation's output shape, from ``result`` (boto3's response dict), in the service's protocol."""
    model = operation.service_model
    serializer = get_serializer_class(model.service_name, protocol(model))(operation, SerializationContext(request_id))
    response = serializer.serialize(result)
    headers = [*response["headers"].items(), *_request_id_headers(model, request_id)]
    body = response["body"]
    return WireResponse(response["status_code"], headers, _to_bytes(body))


def serialize_error(
    model: ServiceModel, operation: OperationModel | None, error: ApiError, request_id: str
) -> WireResponse:
    """AWS's error shape of the service's protocol: ``__type``/``message`` (JSON), ``<ErrorResponse><Error>``
    (query), ``<Error><Code>`` (S3), with the error's own HTTP status."""
    operation = operation or model.operation_model(model.operation_names[0])
    serializer = get_serializer_class(model.service_name, protocol(model))(operation, SerializationContext(request_id))
    with warnings.catch_warnings():  # moto warns about codes its models lack; ours are AWS's common codes
        warnings.simplefilter("ignore")
        response = serializer.serialize(error)
    headers = [*response["headers"].items(), *_request_id_headers(model, request_id)]
    return WireResponse(error.status, headers, _to_bytes(response["body"]))


def generic_error(error: ApiError, request_id: str, *, xml: bool) -> WireResponse:
    """The error of a service botocore has no model of: the query protocol's shape, or JSON's."""
    if xml:
        from xml.sax.saxutils import escape

        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return WireResponse(error.status, [("Content-Type", "text/xml")], body)
    body = json.dumps({"__type": error.code, "message": error.message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)]
    return WireResponse(error.status, [*headers, ("X-Amzn-Errortype", error.code)], body)


def _request_id_headers(model: ServiceModel, request_id: str) -> list[tuple[str, str]]:
    if model.service_name == "s3":
        return [("x-amz-request-id", request_id), ("x-amz-id-2", request_id)]
    return [("x-amzn-RequestId", request_id)]


def _to_bytes(body: str | bytes | None) -> bytes | None:
    if body is None:
        return None
    return body.encode("utf-8") if isinstance(body, str) else body
