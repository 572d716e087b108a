"""Lambda: CreateFunction, UpdateFunctionCode, GetFunction and Invoke, over the local functions a Lambda step runs.

CreateFunction keeps the function as a local build does (``showcase.functions``: its configuration and its code,
``Code.ZipFile`` or the object ``Code.S3Bucket``/``S3Key`` names in the local store), so a pipeline's Lambda step
can run a function created here. Invoke runs the handler as the step does (``local.steps.lambda_step.invoke``):
in a job process of its own, in ``<home>/lambda/invocations/<request id>/`` with its log; a handler's error is
the payload, in Lambda's shape, with ``X-Amz-Function-Error: Unhandled``. InvocationType ``Event`` runs it in the
background (202), ``DryRun`` only checks the function (204).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from showcase import functions
from showcase.api.errors import ApiError
from showcase.api.state import Call, Handler, State
from showcase.archives import extract_zip_archive
from showcase.errors import NoSuchResource, ShowcaseError
from showcase.local.images import lambda_runtime
from showcase.local.jobs import JobContext
from showcase.local.steps.lambda_step import invoke
from showcase.store import StoreError


def _ref(call: Call) -> functions.FunctionRef:
    settings = call.state.settings
    try:
        return functions.reference(call.params["FunctionName"], settings.region, settings.account)
    except ShowcaseError as exc:
        raise ApiError("ValidationException", str(exc)) from None


def _config(call: Call) -> dict[str, Any]:
    try:
        return functions.load(call.state.store, _ref(call))
    except NoSuchResource as exc:
        raise ApiError("ResourceNotFoundException", f"Function not found: {_ref(call).arn} ({exc})", 404) from None


def _code(call: Call, code: dict[str, Any]) -> bytes:
    if code.get("ZipFile") is not None:
        data = code["ZipFile"]
        return data if isinstance(data, bytes) else bytes(data, "latin-1")
    uri = f"s3://{code.get('S3Bucket')}/{code.get('S3Key')}"
    try:
        return call.state.store.get_bytes(uri)
    except StoreError as exc:
        raise ApiError("InvalidParameterValueException", f"Error occurred while GetObject. {exc}") from None


def _saved(call: Call, request: dict[str, Any], code: bytes) -> dict[str, Any]:
    try:
        config = functions.configuration(_ref(call), code, request)
    except ShowcaseError as exc:
        raise ApiError("InvalidParameterValueException", str(exc)) from None
    functions.save(call.state.store, config, code)
    return {key: value for key, value in config.items() if key != "CodeUri"}


def create_function(call: Call) -> dict[str, Any]:
    ref = _ref(call)
    if call.state.store.exists(ref.configuration_uri):
        raise ApiError("ResourceConflictException", f"Function already exist: {ref.name}", 409)
    if call.params.get("PackageType", "Zip") != "Zip":
        raise ApiError("InvalidParameterValueException", "the local API runs Zip functions only, not container images")
    return _saved(call, call.params, _code(call, call.params.get("Code") or {}))


def update_function_code(call: Call) -> dict[str, Any]:
    config = _config(call)
    return _saved(call, {**config, "Timeout": config["Timeout"]}, _code(call, call.params))


def get_function(call: Call) -> dict[str, Any]:
    config = _config(call)
    shown = {key: value for key, value in config.items() if key != "CodeUri"}
    return {"Configuration": shown, "Code": {"RepositoryType": "S3", "Location": config["CodeUri"]}}


def invoke_function(call: Call) -> dict[str, Any]:
    config = _config(call)
    payload = call.params.get("Payload") or b"{}"
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("InvalidRequestContentException", "Could not parse request body into json", 400) from None
    kind = call.params.get("InvocationType") or "RequestResponse"
    if kind == "DryRun":
        return {"StatusCode": 204}
    if kind == "Event":
        threading.Thread(target=_run, args=(call.state, config, event, call.request_id), daemon=True).start()
        return {"StatusCode": 202}
    failed, returned = _run(call.state, config, event, call.request_id)
    answer: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": json.dumps(returned).encode()}
    if failed:
        answer["FunctionError"] = "Unhandled"
    return answer


def _run(state: State, config: dict[str, Any], event: Any, request_id: str) -> tuple[bool, Any]:
    work_dir = state.settings.home / "lambda" / "invocations" / request_id
    work_dir.mkdir(parents=True)
    extract_zip_archive(functions.code(state.store, config), work_dir / lambda_runtime.TASK)
    with (work_dir / "invocation.log").open("w", encoding="utf-8") as log:
        context = JobContext(
            "", request_id, str(config["FunctionName"]), "Lambda", {}, work_dir, log, state.store, state.registry,
            home=state.settings.home,
        )  # fmt: skip
        try:
            return invoke(context, config, event)
        except ShowcaseError as exc:  # the job process did not end as the runtime does (killed, its time up)
            return True, {"errorMessage": str(exc), "errorType": "Runtime.ExitError", "stackTrace": []}


OPERATIONS: dict[str, Handler] = {
    "CreateFunction": create_function,
    "UpdateFunctionCode": update_function_code,
    "GetFunction": get_function,
    "Invoke": invoke_function,
}
