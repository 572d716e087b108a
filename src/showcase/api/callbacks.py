"""SageMaker's SendPipelineExecutionStepSuccess and SendPipelineExecutionStepFailure: complete a waiting Callback
step by its token (``showcase.callbacks``, as ``showcase callback`` does). A request repeated with the same
``ClientRequestToken`` (botocore fills one in) answers as the first did; any other for a token that is no longer
waiting is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from showcase.api.errors import ApiError, not_found
from showcase.api.state import Call, Handler
from showcase.callbacks import Callbacks
from showcase.errors import NoSuchResource, ShowcaseError, UsageError


def _complete(call: Call, complete: Callable[[Callbacks, str], dict[str, Any]]) -> dict[str, Any]:
    callbacks = Callbacks(call.state.settings.home)
    token = call.params["CallbackToken"]
    request = call.params.get("ClientRequestToken")
    try:
        entry = callbacks.read(token)
        if request and entry.get("ClientRequestToken") == request:
            return {"PipelineExecutionArn": entry["PipelineExecutionArn"]}
        done = complete(callbacks, token)
    except NoSuchResource as exc:
        raise not_found(str(exc)) from None
    except UsageError as exc:
        raise ApiError("ValidationException", str(exc)) from None
    except ShowcaseError as exc:  # not waiting any more
        raise ApiError("ConflictException", str(exc)) from None
    return {"PipelineExecutionArn": done["PipelineExecutionArn"]}


def send_step_success(call: Call) -> dict[str, Any]:
    outputs = {item["Name"]: item["Value"] for item in call.params.get("OutputParameters") or []}
    request = call.params.get("ClientRequestToken")
    return _complete(call, lambda callbacks, token: callbacks.succeed(token, outputs, request=request))


def send_step_failure(call: Call) -> dict[str, Any]:
    reason = call.params.get("FailureReason") or ""
    request = call.params.get("ClientRequestToken")
    return _complete(call, lambda callbacks, token: callbacks.fail(token, reason, request=request))


OPERATIONS: dict[str, Handler] = {
    "SendPipelineExecutionStepSuccess": send_step_success,
    "SendPipelineExecutionStepFailure": send_step_failure,
}
