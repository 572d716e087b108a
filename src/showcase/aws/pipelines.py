"""Publish, start and watch a pipeline on SageMaker with boto3.

The definition arrives as JSON already built offline (``showcase.aws.session``); the code files
the SDK would have uploaded while building it are uploaded here, right before the upsert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from showcase.aws.boundary import aws_call
from showcase.errors import AwsError, ExecutionFailed
from showcase.local.steps import STEP_TYPES
from showcase.paging import paginate
from showcase.reporting import StepReport
from showcase.statuses import TERMINAL

logger = logging.getLogger(__name__)


def upload_code(s3: Any, uploads: dict[str, bytes]) -> None:
    """Write the SDK's deferred code uploads (``s3://bucket/key`` -> bytes) to S3."""
    for uri, body in sorted(uploads.items()):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        with aws_call(f"uploading pipeline code to {uri}"):
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        logger.info("uploaded %s (%d bytes)", uri, len(body))


def upsert_pipeline(
    sagemaker: Any,
    *,
    name: str,
    definition: str,
    role_arn: str,
    description: str | None,
    tags: list[dict[str, str]],
) -> str:
    """Create the pipeline, or update it (and add the tags) when the name is taken; return its ARN.

    This is the SDK's own ``Pipeline.upsert`` logic, on a client the caller configured.
    """
    request: dict[str, Any] = {"PipelineName": name, "PipelineDefinition": definition, "RoleArn": role_arn}
    if description:
        request["PipelineDescription"] = description
    try:
        arn: str = sagemaker.create_pipeline(**request, Tags=tags)["PipelineArn"]
        logger.info("created pipeline %s", arn)
        return arn
    except ClientError as exc:
        if not _already_exists(exc):
            with aws_call(f"CreatePipeline {name}"):
                raise
    with aws_call(f"UpdatePipeline {name}"):
        arn = sagemaker.update_pipeline(**request)["PipelineArn"]
    if tags:
        with aws_call(f"AddTags to {arn}"):
            sagemaker.add_tags(ResourceArn=arn, Tags=tags)
    logger.info("updated pipeline %s", arn)
    return arn


def _already_exists(exc: ClientError) -> bool:
    """CreatePipeline's answer for a name in use: a ValidationException saying names must be unique."""
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationException" and "must be unique" in error.get("Message", "")


def start_execution(sagemaker: Any, *, name: str, parameters: dict[str, str], display_name: str | None = None) -> str:
    request: dict[str, Any] = {
        "PipelineName": name,
        "PipelineParameters": [{"Name": key, "Value": value} for key, value in parameters.items()],
    }
    if display_name:
        request["PipelineExecutionDisplayName"] = display_name
    with aws_call(f"StartPipelineExecution {name}"):
        arn: str = sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"]
    return arn


def list_steps(sagemaker: Any, execution_arn: str) -> list[StepReport] | None:
    """The execution's steps, oldest first; None when the service cannot list them."""
    try:
        with aws_call(f"ListPipelineExecutionSteps {execution_arn}"):
            steps = list(
                paginate(
                    sagemaker.list_pipeline_execution_steps,
                    "PipelineExecutionSteps",
                    PipelineExecutionArn=execution_arn,
                    SortOrder="Ascending",
                )
            )
    except AwsError as exc:  # reported, not fatal: the execution status still decides the outcome
        logger.warning("cannot list the execution's steps: %s", exc)
        return None
    return [step_report(step, display_name=True) for step in steps]


def step_report(step: dict[str, Any], *, display_name: bool = False) -> StepReport:
    """One of ListPipelineExecutionSteps' PipelineExecutionSteps, named by its display name if asked and given."""
    return StepReport(
        name=(display_name and step.get("StepDisplayName")) or step["StepName"],
        status=step.get("StepStatus", "Unknown"),
        type=_step_type(step.get("Metadata") or {}),
        start=step.get("StartTime"),
        end=step.get("EndTime"),
        failure_reason=step.get("FailureReason"),
    )


def _step_type(metadata: dict[str, Any]) -> str:
    """The step's type, from the key of its ``Metadata`` each step type declares (``StepType.aws``)."""
    kinds = {declared.aws.metadata: declared.name for declared in STEP_TYPES.values()}
    return next((kinds[key] for key in metadata if key in kinds), "")


def wait_for_execution(
    sagemaker: Any,
    execution_arn: str,
    *,
    timeout: float,
    poll: float,
    on_steps: Callable[[Iterable[StepReport]], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the execution ends; report steps as they change. Raise ExecutionFailed on timeout."""
    deadline = clock() + timeout
    while True:
        with aws_call(f"DescribePipelineExecution {execution_arn}"):
            described: dict[str, Any] = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        steps = list_steps(sagemaker, execution_arn)
        if steps is not None:
            on_steps(steps)
        status = described["PipelineExecutionStatus"]
        if status in TERMINAL:
            return described
        if clock() >= deadline:
            raise ExecutionFailed(
                f"execution {execution_arn} is still {status} after {timeout:g} s (--timeout); it goes on "
                f"running on SageMaker: aws sagemaker describe-pipeline-execution "
                f"--pipeline-execution-arn {execution_arn}",
                execution_id=execution_arn,
                status=status,
            )
        sleep(poll)
