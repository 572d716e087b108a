"""The Callback step: sends its message to an SQS queue, then waits until someone completes its token.

The queue is the local one ``SqsQueueUrl`` names (``showcase.queues``; made if missing). The message body is
``{"token", "pipelineExecutionArn", "arguments", "status": "Executing"}``: SageMaker documents only the message it
sends on a stop (the same keys, ``"status": "Stopping"``), so the first one is its shape with the status the
step then has. The step then waits, reading the token's record under the home (``showcase.callbacks``) twice a
second and sleeping in between, until SendPipelineExecutionStepSuccess (``showcase callback TOKEN --success``,
the local API, the dashboard) makes it succeed with its output parameters, typed as declared
(``output_parameters``), or SendPipelineExecutionStepFailure makes it fail with that reason. A stop of the
execution sends the "Stopping" message and ends the step Stopped; the token can then not be completed.
Properties: ``{"CallbackToken", "SqsQueueUrl", "OutputParameters": {name: value}}``. Not cached (SageMaker
caches only job steps).
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

from showcase.callbacks import FAILED, SUCCEEDED, WAITING, Callbacks, new_token
from showcase.errors import JobStopped, ShowcaseError
from showcase.local.jobs import JobContext
from showcase.local.record import execution_arn
from showcase.local.steps import output_parameters
from showcase.local.steps.common import fail, is_expression, refuse
from showcase.local.steptype import AwsStep, StepType
from showcase.queues import Queues, name_of

STEP_FIELDS = ("SqsQueueUrl", "OutputParameters")
LOOK_EVERY_S = 0.5


class CallbackExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        found = output_parameters.problems(arguments.get("OutputParameters"))
        url = arguments.get("SqsQueueUrl")
        if not is_expression(url):
            try:
                name_of(url)
            except ShowcaseError as exc:
                found.append(f"SqsQueueUrl: {exc}")
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        arguments = context.arguments
        refuse(context, self.problems(arguments))
        if context.home is None:
            raise fail(context, "a Callback step needs the execution's home to keep its token")
        url = str(arguments["SqsQueueUrl"])
        queues, callbacks = Queues(context.home), Callbacks(context.home)
        queues.create(name_of(url))
        token = new_token()
        arn = execution_arn(context.pipeline_name, context.execution_id)
        declared = arguments.get("OutputParameters") or []
        callbacks.wait_for(
            token,
            {
                "PipelineExecutionArn": arn,
                "ExecutionId": context.execution_id,
                "PipelineName": context.pipeline_name,
                "StepName": context.step_name,
                "SqsQueueUrl": url,
                "OutputParameters": [item["OutputName"] for item in declared],
            },
        )
        event = {key: value for key, value in arguments.items() if key not in STEP_FIELDS}
        message = {"token": token, "pipelineExecutionArn": arn, "arguments": event, "status": "Executing"}
        queues.send(name_of(url), json.dumps(message))
        context.log.write(
            f"sent the callback message to {url}; waiting for token {token}: showcase callback {token} "
            "--success NAME=VALUE ... or --failure REASON\n"
        )
        context.log.flush()
        done = _wait(context, callbacks, token, queues, url, message)
        if done["Status"] == FAILED:
            raise fail(context, str(done.get("FailureReason") or "SendPipelineExecutionStepFailure"))
        try:
            outputs = output_parameters.typed(
                declared, done.get("OutputParameters") or {}, "SendPipelineExecutionStepSuccess"
            )
        except ValueError as exc:
            raise fail(context, str(exc)) from exc
        return {"CallbackToken": token, "SqsQueueUrl": url, "OutputParameters": outputs}


def _wait(
    context: JobContext, callbacks: Callbacks, token: str, queues: Queues, url: str, message: dict[str, Any]
) -> dict[str, Any]:
    """The token's record once it is completed; on a stop, the "Stopping" message and JobStopped."""
    stop = context.stop or threading.Event()
    while True:
        entry = callbacks.read(token)
        if entry["Status"] in (SUCCEEDED, FAILED):
            context.log.write(f"callback {token}: {entry['Status']}\n")
            return entry
        if entry["Status"] != WAITING or stop.wait(LOOK_EVERY_S):
            break
    queues.send(name_of(url), json.dumps({**message, "status": "Stopping"}))
    with contextlib.suppress(ShowcaseError):  # completed between the last look and the stop: the stop still wins
        callbacks.stopped(token)
    reason = f"the Callback step {context.step_name} was stopped while it waited for token {token}"
    context.log.write(f"sent the Stopping message to {url}; {reason}\n")
    raise JobStopped(reason, step_name=context.step_name, execution_id=context.execution_id)


STEP = StepType(
    "Callback",
    AwsStep("Callback"),
    executor=CallbackExecutor(),
    step_fields=STEP_FIELDS,
)
