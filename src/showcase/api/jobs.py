"""Describe{Processing,Training,HyperParameterTuning,Transform}Job for the jobs pipeline steps ran.

A job is found by name in the execution records: a step's properties are already its Describe* answer
(the executors return that shape); a running step's job is named by ``local.jobs.job_name``; a tuning trial's
training job is read from its tuning step's ``TrainingJobSummaries`` and ``TrainingJobDefinition``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from showcase.api.errors import validation
from showcase.api.state import Call, Handler, State
from showcase.api.wire import service_model
from showcase.local import ExecutionRecord, StepRecord, list_executions
from showcase.local.jobs import job_name
from showcase.local.steps import STEP_TYPES
from showcase.statuses import JobStatus, StepStatus


@dataclass(frozen=True)
class Kind:
    prefix: str
    """``Processing`` -> ProcessingJobName, ProcessingJobArn, ProcessingJobStatus."""
    resource: str
    step_types: frozenset[str]

    def key(self, suffix: str) -> str:
        return f"{self.prefix}Job{suffix}"


def _kind(operation: str, prefix: str, resource: str) -> Kind:
    """The step types whose job ``operation`` describes, as they declare it (``StepType.describe``)."""
    return Kind(prefix, resource, frozenset(name for name, known in STEP_TYPES.items() if known.describe == operation))


KINDS = {
    "DescribeProcessingJob": _kind("DescribeProcessingJob", "Processing", "processing-job"),
    "DescribeTrainingJob": _kind("DescribeTrainingJob", "Training", "training-job"),
    "DescribeHyperParameterTuningJob": _kind(
        "DescribeHyperParameterTuningJob", "HyperParameterTuning", "hyper-parameter-tuning-job"
    ),
    "DescribeTransformJob": _kind("DescribeTransformJob", "Transform", "transform-job"),
}
_RUNNING = {StepStatus.STARTING: JobStatus.IN_PROGRESS, StepStatus.EXECUTING: JobStatus.IN_PROGRESS}
_ENDED = {
    StepStatus.FAILED: JobStatus.FAILED,
    StepStatus.STOPPED: JobStatus.STOPPED,
    StepStatus.STOPPING: JobStatus.STOPPING,
}


def _steps(state: State) -> Iterator[tuple[ExecutionRecord, StepRecord]]:
    for record in list_executions(state.settings):
        for step in record.steps:
            yield record, step


def _name(kind: Kind, record: ExecutionRecord, step: StepRecord) -> str:
    named = step.properties.get(kind.key("Name"))
    if named:
        return str(named)
    return job_name(record.execution_id, step.name, STEP_TYPES[step.type].job_name_length)


def describe(state: State, kind: Kind, name: str) -> dict[str, Any]:
    """The job by its name, in any case: SageMaker's job names are unique regardless of case, and the SDK asks
    with the lower-cased name it reads from a job's ARN."""
    wanted = name.lower()
    for record, step in _steps(state):
        listed = step.status not in (StepStatus.NOT_STARTED, StepStatus.SKIPPED)
        if step.type in kind.step_types and listed and _name(kind, record, step).lower() == wanted:
            return _answer(state, kind, _name(kind, record, step), step)
        if kind.prefix == "Training" and step.type == "Tuning":
            for summary in step.properties.get("TrainingJobSummaries") or []:
                if str(summary.get("TrainingJobName", "")).lower() == wanted:
                    return _trial(state, step, summary)
    raise validation(f"Could not find requested job with name {name}")


def _arn(state: State, kind: Kind, name: str) -> str:
    return f"arn:aws:sagemaker:{state.registry.region}:{state.registry.account}:{kind.resource}/{name.lower()}"


def _answer(state: State, kind: Kind, name: str, step: StepRecord) -> dict[str, Any]:
    if step.status in (StepStatus.SUCCEEDED, StepStatus.CACHED) and step.properties:
        return dict(step.properties)
    status = _RUNNING.get(step.status) or _ENDED.get(step.status) or JobStatus.FAILED
    answer: dict[str, Any] = {
        **_request(kind, step),
        kind.key("Name"): name,
        kind.key("Arn"): _arn(state, kind, name),
        kind.key("Status"): str(status),
        "CreationTime": step.start,
        "LastModifiedTime": step.end or step.start,
    }
    if step.failure_reason and status != JobStatus.IN_PROGRESS:
        answer["FailureReason"] = step.failure_reason
    return answer


def _request(kind: Kind, step: StepRecord) -> dict[str, Any]:
    """What a Describe*Job answer echoes of the job's request (its resolved arguments), whatever its status: the
    SDK reads ``AlgorithmSpecification`` and ``OutputDataConfig`` of a failed @step job (``execution.result``)."""
    members = service_model("sagemaker").operation_model(f"Describe{kind.prefix}Job").output_shape.members
    return {key: value for key, value in step.arguments.items() if key in members}


def _trial(state: State, step: StepRecord, summary: dict[str, Any]) -> dict[str, Any]:
    """A tuning trial's DescribeTrainingJob, from its summary and the tuning job's training definition."""
    definition = step.properties.get("TrainingJobDefinition") or {}
    name = summary["TrainingJobName"]
    answer: dict[str, Any] = {
        key: definition[key]
        for key in ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
                    "StoppingCondition") if key in definition
    }  # fmt: skip
    answer.update(
        TrainingJobName=name,
        TrainingJobArn=summary.get("TrainingJobArn") or _arn(state, KINDS["DescribeTrainingJob"], name),
        TrainingJobStatus=summary["TrainingJobStatus"],
        TuningJobArn=step.properties.get("HyperParameterTuningJobArn"),
        HyperParameters={**(definition.get("StaticHyperParameters") or {}), **summary.get("TunedHyperParameters", {})},
        CreationTime=summary.get("CreationTime"),
        TrainingStartTime=summary.get("TrainingStartTime"),
        TrainingEndTime=summary.get("TrainingEndTime"),
    )
    output = (definition.get("OutputDataConfig") or {}).get("S3OutputPath")
    model = f"{output.rstrip('/')}/{name}/output/model.tar.gz" if output else None
    if model and summary["TrainingJobStatus"] == JobStatus.COMPLETED and state.store.exists(model):
        answer["ModelArtifacts"] = {"S3ModelArtifacts": model}
    objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
    if objective:
        answer["FinalMetricDataList"] = [{"MetricName": objective["MetricName"], "Value": objective["Value"]}]
    if summary.get("FailureReason"):
        answer["FailureReason"] = summary["FailureReason"]
    return {key: value for key, value in answer.items() if value is not None}


def _handler(operation: str) -> Handler:
    kind = KINDS[operation]

    def handle(call: Call) -> dict[str, Any]:
        return describe(call.state, kind, call.params[kind.key("Name")])

    handle.__name__ = operation
    return handle


OPERATIONS: dict[str, Handler] = {operation: _handler(operation) for operation in KINDS}
