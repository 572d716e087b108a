"""The SageMaker Runtime API's answers (``POST /endpoints/{EndpointName}/invocations``), shaped for botocore.

botocore's ``sagemaker-runtime`` model (rest-json) reads the error code from the ``x-amzn-errortype`` header and
the message from the JSON body, so boto3 raises ``ClientError`` (or ``client.exceptions.ModelError``) as it
does against AWS:

- the container refused the request (its 4xx/5xx) -> 424 ``ModelError`` with ``OriginalStatusCode``,
  ``OriginalMessage`` and a ``LogStreamArn``, as AWS wraps container errors;
- an endpoint this server does not serve -> ``ValidationError`` "Endpoint X of account A not found." with status
  404 (AWS answers 400 for this; 404 says what happened to a plain HTTP client and boto3 reads it the same way);
- a body above 6 MiB -> ``ValidationError`` with status 413;
- ``X-Amzn-SageMaker-Target-Variant`` naming no production variant -> ``ValidationError`` with status 400.

A success carries ``Content-Type`` and ``x-Amzn-Invoked-Production-Variant``, the variant that answered.
"""

from __future__ import annotations

import json
import uuid

from showcase.serving.deployment import VARIANT_NAME
from showcase.settings import DEFAULT_ACCOUNT as ACCOUNT
from showcase.settings import DEFAULT_REGION as REGION

Headers = list[tuple[bytes, bytes]]


def _error(status: int, error_type: str, document: dict[str, object]) -> tuple[int, Headers, bytes]:
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", error_type.encode()),
        (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
    ]
    return status, headers, json.dumps(document).encode()


def validation_error(status: int, message: str) -> tuple[int, Headers, bytes]:
    return _error(status, "ValidationError", {"message": message})


def endpoint_not_found(name: str) -> tuple[int, Headers, bytes]:
    return validation_error(404, f"Endpoint {name} of account {ACCOUNT} not found.")


def model_error(endpoint_name: str, original_status: int, original_message: str) -> tuple[int, Headers, bytes]:
    log_stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint_name}"
    kind = "client" if original_status < 500 else "server"
    message = (
        f'Received {kind} error ({original_status}) from primary with message "{original_message}". '
        f"See the server's log (showcase-endpoint serve) for endpoint {endpoint_name}."
    )
    return _error(
        424,
        "ModelError",
        {
            "message": message,
            "OriginalStatusCode": original_status,
            "OriginalMessage": original_message,
            "LogStreamArn": log_stream,
        },
    )


def success_headers(content_type: str | None, variant: str = VARIANT_NAME) -> Headers:
    """``x-Amzn-Invoked-Production-Variant``: the production variant that answered."""
    headers = [(b"x-amzn-invoked-production-variant", variant.encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    return headers
