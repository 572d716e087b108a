"""The Lambda step: invokes the function ``FunctionArn`` names with the step's ``Arguments`` as its event.

The function is one of the local functions (``showcase.functions``: made by a build whose module creates it with
the SDK's ``Lambda``, by the local API's CreateFunction, or mapped with ``--lambda``). Its deployment package is
unzipped (``archives.extract_zip_archive``) into the job's ``task/``, and its handler runs in a job process of
its own (``images.lambda_runtime``) with the function's environment and ``AWS_LAMBDA_*`` variables, a context
as Lambda gives one, and the function's timeout (at most 10 minutes, a Lambda step's limit). Each declared output
is read from the dict it returns (``output_parameters``); an unhandled error fails the step with Lambda's
error shape in its reason. The step's properties are ``{"FunctionArn", "OutputParameters": {name: value}}``, so
``Steps.<name>.OutputParameters['<out>']`` reads a typed value. SageMaker does not cache a Lambda step.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from showcase import functions
from showcase.archives import ArchiveError, extract_zip_archive
from showcase.errors import ShowcaseError
from showcase.local.images import lambda_runtime
from showcase.local.jobs import JobContext
from showcase.local.steps import output_parameters
from showcase.local.steps.common import fail, is_expression, refuse, run_job_process
from showcase.local.steptype import AwsStep, StepType
from showcase.settings import DEFAULT_ACCOUNT, DEFAULT_REGION

STEP_FIELDS = ("FunctionArn", "OutputParameters")
MAX_STEP_TIMEOUT = 600
"""A Lambda step waits at most 10 minutes for its function (SageMaker developer guide, Lambda Step)."""
MAX_REASON = 3072
"""PipelineExecutionStep's FailureReason is at most 3072 characters (sagemaker service-2.json)."""


class LambdaExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        found = output_parameters.problems(arguments.get("OutputParameters"))
        arn = arguments.get("FunctionArn")
        if not is_expression(arn):
            try:
                functions.reference(arn, DEFAULT_REGION, DEFAULT_ACCOUNT)
            except ShowcaseError as exc:
                found.append(f"FunctionArn: {exc}")
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        arguments = context.arguments
        refuse(context, self.problems(arguments))
        region = getattr(context.registry, "region", DEFAULT_REGION)
        account = getattr(context.registry, "account", DEFAULT_ACCOUNT)
        try:
            ref = functions.reference(arguments["FunctionArn"], region, account)
            config = functions.load(context.store, ref)
            extract_zip_archive(functions.code(context.store, config), context.work_dir / lambda_runtime.TASK)
        except (ShowcaseError, ArchiveError) as exc:
            raise fail(context, str(exc)) from exc
        event = {key: value for key, value in arguments.items() if key not in STEP_FIELDS}
        failed, returned = invoke(context, config, event)
        if failed:
            context.log.write(f"Lambda function {ref.name} returned an error: {json.dumps(returned, indent=2)}\n")
            reason = f"Lambda function {config['FunctionArn']} failed with an unhandled error: {json.dumps(returned)}"
            raise fail(context, reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "...")
        declared = arguments.get("OutputParameters") or []
        if declared and not isinstance(returned, dict):
            raise fail(context, f"Lambda function {ref.name} returned {type(returned).__name__}, not a JSON object")
        try:
            outputs = output_parameters.typed(declared, returned or {}, f"the result of Lambda function {ref.name}")
        except ValueError as exc:
            raise fail(context, str(exc)) from exc
        return {"FunctionArn": config["FunctionArn"], "OutputParameters": outputs}


def invoke(context: JobContext, config: dict[str, Any], event: Any) -> tuple[bool, Any]:
    """Run the function's handler on ``event`` in a job process of its own, in ``context.work_dir`` (its code
    already unzipped in ``task/``): ``(False, what it returned)``, or ``(True, Lambda's error shape)``. The step
    and the local API's Invoke both call it."""
    timeout = min(int(config["Timeout"]), MAX_STEP_TIMEOUT)
    name = str(config["FunctionName"])
    root = context.work_dir
    (root / lambda_runtime.EVENT).write_text(json.dumps(event), encoding="utf-8")
    env = {
        **config["Environment"]["Variables"],
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config["MemorySize"]),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_REGION": config["FunctionArn"].split(":")[3],
        "LAMBDA_TASK_ROOT": str(root / lambda_runtime.TASK),
        "_HANDLER": str(config["Handler"]),
    }
    # The job's own request: only the function's timeout (with a margin for the runtime to report it itself).
    job = dataclasses.replace(context, arguments={"StoppingCondition": {"MaxRuntimeInSeconds": timeout + 30}})
    command = lambda_runtime.command(
        str(root), str(config["Handler"]), timeout, int(config["MemorySize"]), config["FunctionArn"]
    )
    run_job_process(job, "Lambda", name, command, env=env, cwd=root)
    error = root / lambda_runtime.ERROR
    if error.is_file():
        return True, json.loads(error.read_text("utf-8"))
    return False, json.loads((root / lambda_runtime.RESULT).read_text("utf-8"))


STEP = StepType(
    "Lambda",
    AwsStep("Lambda", "FunctionArn"),
    executor=LambdaExecutor(),
    step_fields=STEP_FIELDS,
    job_process=True,
)
