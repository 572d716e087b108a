"""The local runtime's records in SageMaker's words: the one place its statuses become SageMaker's.

=======================  ==============================================================================
local record             what DescribePipelineExecution / ListPipelineExecutionSteps report
=======================  ==============================================================================
execution Executing      ``Executing``, or ``Stopping`` once StopPipelineExecution was called for it
step NotStarted          not listed (SageMaker lists a step once it starts)
step Skipped             not listed (the branch its Condition did not take never starts)
step Cached              ``Succeeded``, with ``CacheHitResult.SourcePipelineExecutionArn``
any other word           the same word (Starting, Executing, Stopping, Stopped, Failed, Succeeded)
=======================  ==============================================================================

Each listed step carries SageMaker's ``Metadata`` for its type: the ARN of the job, model or package it made
(a job's ARN is known from its name while it still runs), a Condition's outcome, a Fail step's message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from showcase.local import ExecutionRecord, StepRecord
from showcase.local.jobs import job_name
from showcase.local.records import execution_arn
from showcase.local.steps import STEP_TYPES
from showcase.local.steps.output_parameters import listed
from showcase.statuses import ExecutionStatus, StepStatus

_NOT_LISTED = frozenset({StepStatus.NOT_STARTED, StepStatus.SKIPPED})
_QUALITY_CHECK_KEYS = (
    "CheckType",
    "ModelPackageGroupName",
    "SkipCheck",
    "RegisterNewBaseline",
    "BaselineUsedForDriftCheckStatistics",
    "BaselineUsedForDriftCheckConstraints",
    "CalculatedBaselineStatistics",
    "CalculatedBaselineConstraints",
)


def execution_status(record: ExecutionRecord, stopping: bool) -> str:
    if record.status == ExecutionStatus.EXECUTING and stopping:
        return str(ExecutionStatus.STOPPING)
    return str(record.status)


def step_status(step: StepRecord) -> str | None:
    """SageMaker's StepStatus for a step, or None when SageMaker would not list it."""
    if step.status in _NOT_LISTED:
        return None
    return str(StepStatus.SUCCEEDED if step.status == StepStatus.CACHED else step.status)


def job_arn(region: str, account: str, execution_id: str, step: StepRecord) -> str | None:
    """The ARN of the job a step runs: from its properties once it ran, from its name while it runs (``StepType.aws``:
    the property holding it, the ARN's resource type; ``job_name_length``)."""
    declared = STEP_TYPES.get(step.type)
    if declared is None or declared.aws.arn_property is None or declared.aws.arn_resource is None:
        return None
    if step.properties.get(declared.aws.arn_property):
        return str(step.properties[declared.aws.arn_property])
    name = job_name(execution_id, step.name, declared.job_name_length).lower()
    return f"arn:aws:sagemaker:{region}:{account}:{declared.aws.arn_resource}/{name}"


def step_summaries(
    record: ExecutionRecord,
    definition: dict[str, Any],
    region: str,
    account: str,
    waiting: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """ListPipelineExecutionSteps' entries for a record, in the record's step order. ``waiting``: the callback
    tokens steps wait on (``showcase.callbacks``), the Metadata of a Callback step that has not ended."""
    tokens = {(entry["ExecutionId"], entry["StepName"]): entry for entry in waiting}
    declared = {step.get("Name"): step for step in definition.get("Steps", []) if isinstance(step, dict)}
    summaries = []
    for step in record.steps:
        status = step_status(step)
        if status is None:
            continue
        summary: dict[str, Any] = {"StepName": step.name, "StepStatus": status, "AttemptCount": max(step.attempts, 1)}
        for key, source in (("StepDisplayName", "DisplayName"), ("StepDescription", "Description")):
            if declared.get(step.name, {}).get(source):
                summary[key] = declared[step.name][source]
        _times(summary, step.start, step.end)
        if step.failure_reason:
            summary["FailureReason"] = step.failure_reason
        if step.status == StepStatus.CACHED and step.cached_from:
            summary["CacheHitResult"] = {
                "SourcePipelineExecutionArn": execution_arn(record.pipeline_name, step.cached_from, region, account)
            }
        metadata = _metadata(step, job_arn(region, account, record.execution_id, step))
        token = tokens.get((record.execution_id, step.name))
        if step.type == "Callback" and not metadata and token is not None:
            metadata = {"Callback": {key: token[key] for key in ("CallbackToken", "SqsQueueUrl")}}
        if metadata:
            summary["Metadata"] = metadata
        summaries.append(summary)
    return summaries


def _times(summary: dict[str, Any], start: datetime | None, end: datetime | None) -> None:
    if start is not None:
        summary["StartTime"] = start
    if end is not None:
        summary["EndTime"] = end


def _metadata(step: StepRecord, arn: str | None) -> dict[str, Any]:
    """``{Metadata key: ...}``: the ARN of the job it ran, or of what it made (``StepType.aws``), or what
    ``_METADATA`` builds for the step types whose metadata is not an ARN."""
    declared = STEP_TYPES.get(step.type)
    build = _METADATA.get(step.type)
    if build is not None or declared is None:
        return build(step) if build is not None else {}
    made = arn or (step.properties.get(declared.aws.arn_property) if declared.aws.arn_property else None)
    return {declared.aws.metadata: {"Arn": made}} if made else {}


def _condition(step: StepRecord) -> dict[str, Any]:
    outcome = step.properties.get("Outcome")
    return {"Condition": {"Outcome": str(outcome).capitalize()}} if outcome is not None else {}


def _quality_check(step: StepRecord) -> dict[str, Any]:
    values = {**step.arguments, **step.properties}
    check = {key: values[key] for key in _QUALITY_CHECK_KEYS if values.get(key) is not None}
    if step.properties.get("ProcessingJobArn"):
        check["CheckJobArn"] = step.properties["ProcessingJobArn"]
    return {"QualityCheck": check}


def _lambda(step: StepRecord) -> dict[str, Any]:
    if not step.properties.get("FunctionArn"):
        return {"Lambda": {"Arn": step.arguments["FunctionArn"]}} if step.arguments.get("FunctionArn") else {}
    outputs = listed(step.properties.get("OutputParameters") or {})
    return {"Lambda": {"Arn": step.properties["FunctionArn"], "OutputParameters": outputs}}


def _callback(step: StepRecord) -> dict[str, Any]:
    """A waiting step's token is in the callbacks' records until it ends (its properties hold it then)."""
    callback: dict[str, Any] = {
        key: step.properties[key] for key in ("CallbackToken", "SqsQueueUrl") if key in step.properties
    }
    if "OutputParameters" in step.properties:
        callback["OutputParameters"] = listed(step.properties["OutputParameters"])
    return {"Callback": callback} if callback else {}


_METADATA: dict[str, Callable[[StepRecord], dict[str, Any]]] = {
    "Condition": _condition,
    "Fail": lambda step: {"Fail": {"ErrorMessage": step.failure_reason or ""}},
    "QualityCheck": _quality_check,
    "Lambda": _lambda,
    "Callback": _callback,
}
