"""SageMaker Runtime InvokeEndpoint, on the API's port: forwarded to the endpoint's own server.

The local endpoint already answers the Runtime API's ``POST /endpoints/{name}/invocations`` with AWS's shapes
(``showcase.serving.runtime_api``: ModelError with the container's status, ValidationError, the invoked variant);
this handler finds the endpoint's server in ``server.json`` and passes the request and the answer through. Only the
body and the SageMaker headers are forwarded, never the caller's credentials.
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import quote

from showcase.api.errors import ApiError
from showcase.api.state import Call, Handler, Reply
from showcase.errors import UsageError
from showcase.serving.deployment import EndpointPaths, read_server_info

TIMEOUT_S = 60.0
"""SageMaker's limit for a real-time endpoint's answer."""
_ANSWER_HEADERS = ("content-type", "x-amzn-errortype", "x-amzn-invoked-production-variant")


def _forwarded(call: Call) -> dict[str, str]:
    headers = {name: value for name, value in call.headers.items() if name.lower().startswith("x-amzn-sagemaker-")}
    for name in ("Content-Type", "Accept"):
        if call.headers.get(name):
            headers[name] = call.headers[name]
    return headers


def invoke_endpoint(call: Call) -> Reply:
    name = call.params["EndpointName"]
    account = call.state.settings.account
    try:
        server = read_server_info(EndpointPaths(call.state.settings.home, name))
    except UsageError:
        server = None
    if server is None:
        raise ApiError("ValidationError", f"Endpoint {name} of account {account} not found.")
    body: Any = call.params.get("Body") or b""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT_S)
    try:
        connection.request(
            "POST", f"/endpoints/{quote(name, safe='')}/invocations", body=body, headers=_forwarded(call)
        )
        response = connection.getresponse()
        answer = response.read()
    except OSError as exc:
        raise ApiError(
            "ServiceUnavailable", f"Endpoint {name} did not answer ({exc}); see its log (showcase-endpoint status)", 503
        ) from None
    finally:
        connection.close()
    headers = [(key, value) for key, value in response.getheaders() if key.lower() in _ANSWER_HEADERS]
    return Reply(raw=(response.status, [*headers, ("x-amzn-RequestId", call.request_id)], answer))


OPERATIONS: dict[str, Handler] = {"InvokeEndpoint": invoke_endpoint}
