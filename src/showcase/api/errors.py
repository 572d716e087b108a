"""AWS's errors, as the local API answers them: a code, a message and an HTTP status.

``ApiError`` is not part of the ``showcase.errors`` tree: like the endpoint's ``codec.RequestError`` it is an
answer to send, not a failure of the project. Handlers raise it with AWS's code for the case (S3's
``NoSuchKey``, SageMaker's ``ResourceNotFound``, ...); a ``ShowcaseError`` a handler lets through is turned
into one at one place, ``from_showcase_error``, by the service that was called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from showcase.errors import ShowcaseError

if TYPE_CHECKING:
    from moto.core.model import ServiceModel

_UNKNOWN_OPERATION = {
    "json": ("UnknownOperationException", 400),
    "rest-json": ("UnknownOperationException", 404),
    "query": ("InvalidAction", 400),
    "rest-xml": ("NotImplemented", 501),
}
_MALFORMED = {
    "json": "SerializationException",
    "rest-json": "SerializationException",
    "query": "MalformedInput",
    "rest-xml": "MalformedXML",
}
_INVALID_INPUT = {
    "s3": "InvalidArgument",
    "sagemaker-runtime": "ValidationError",
    "sts": "ValidationError",
    "cloudformation": "ValidationError",
    "cloudwatch": "InvalidParameterValue",
}


class ApiError(Exception):
    """An AWS error answer. ``code`` and ``message`` are the attribute names moto's serializers read."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def not_found(message: str) -> ApiError:
    """SageMaker's ResourceNotFound (Describe/Update/Delete of a pipeline or an execution that is not there)."""
    return ApiError("ResourceNotFound", message)


def unknown_operation(model: ServiceModel, name: str) -> ApiError:
    """The service's own code for an operation it does not serve, naming the operation."""
    spoken = str(getattr(model, "resolved_protocol", None) or model.protocol)
    code, status = _UNKNOWN_OPERATION.get(spoken, ("UnknownOperationException", 400))
    service = model.metadata.get("serviceId", model.service_name)
    return ApiError(
        code,
        f"{service} operation {name} is not implemented by the local API (showcase-local api); "
        "docs/api.md lists the operations it serves",
        status,
    )


def unknown_service(service: str, operation: str) -> ApiError:
    return ApiError(
        "UnknownOperationException",
        f"the local API (showcase-local api) does not serve the {service} service (operation {operation}); "
        "it serves S3, SageMaker, SageMaker Runtime, STS, IAM, CloudFormation, CloudWatch, Lambda and SQS",
    )


def malformed(protocol: str, message: str) -> ApiError:
    return ApiError(_MALFORMED.get(protocol, "SerializationException"), message)


def from_showcase_error(exc: ShowcaseError, service: str) -> ApiError:
    """A refusal of the runtime, store or registry, as the called service's invalid-input error."""
    return ApiError(_INVALID_INPUT.get(service, "ValidationException"), str(exc))


def internal(service: str, reason: str) -> ApiError:
    code = "InternalError" if service == "s3" else "InternalFailure"
    return ApiError(code, f"the local API failed: {reason}; its log has the details", 500)
