"""Pipeline executions: Start, Describe, List, ListSteps, Stop, Retry, the definition and parameters they ran with.

StartPipelineExecution returns as soon as the execution has begun, as SageMaker does: a runner process
(``showcase.api.runner``) runs it with ``showcase.local`` and writes the same records ``showcase list`` and
the dashboard read; every answer here is read back from those records, whoever started the execution.
StopPipelineExecution sends SIGTERM to the execution's runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from typing import Any

from showcase.api import pipelines, steps
from showcase.api.errors import internal, not_found, validation
from showcase.api.listing import created_between, page, sorted_by, with_token
from showcase.api.runner import ANSWER
from showcase.api.state import Call, Handler, State
from showcase.callbacks import Callbacks
from showcase.errors import UsageError
from showcase.files import write_json_atomically
from showcase.local import ExecutionRecord, describe_execution, list_executions
from showcase.local.records import ExecutionStore, execution_arn
from showcase.processes import pid_alive
from showcase.statuses import ExecutionStatus

_REFUSED_START_FIELDS = {
    "SelectiveExecutionConfig": "the local runtime runs whole executions, not a selection of steps",
    "MlflowExperimentName": "the local runtime does not log to MLflow",
}


def _record(state: State, arn: str) -> ExecutionRecord:
    """The execution an ARN names; ResourceNotFound when there is none in this home."""
    pipeline_part, marker, execution_id = arn.rpartition("/execution/")
    if not marker or not execution_id.isalnum():
        raise validation(f"PipelineExecutionArn {arn!r} is not a pipeline execution ARN")
    try:
        record = describe_execution(execution_id, state.settings)
    except UsageError:
        raise not_found(f"Pipeline execution '{arn}' does not exist.") from None
    if pipeline_part.rpartition("/")[2] != record.pipeline_name.lower():
        raise not_found(f"Pipeline execution '{arn}' does not exist.")
    return record


def _sidecar(state: State, execution_id: str) -> dict[str, Any]:
    """What StartPipelineExecution was told beyond the records (display name, description, version)."""
    path = state.root / "executions" / f"{execution_id}.json"
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return document


def start_pipeline_execution(call: Call) -> dict[str, Any]:
    token = (call.operation, call.params.get("ClientRequestToken") or "")
    if token[1] and token in call.state.answered:
        return call.state.answered[token]
    answer = _start(call)
    if token[1]:
        call.state.answered[token] = answer
    return answer


def _start(call: Call) -> dict[str, Any]:
    params, state = call.params, call.state
    for field, reason in _REFUSED_START_FIELDS.items():
        if params.get(field):
            raise validation(f"StartPipelineExecution {field}: {reason}")
    pipeline = pipelines.load(state, params["PipelineName"])
    version = params.get("PipelineVersionId")
    if version is not None and version != pipeline.get("PipelineVersionId"):
        raise validation(f"PipelineVersionId {version}: the local API keeps the newest version only")
    parameters = _parameters(params.get("PipelineParameters") or [])
    parallelism = params.get("ParallelismConfiguration") or pipeline.get("ParallelismConfiguration") or {}
    request = {
        "action": "start",
        "home": str(state.settings.home),
        "pipeline_name": pipeline["PipelineName"],
        "definition": json.loads(pipeline["PipelineDefinition"]),
        "parameters": parameters,
    }
    execution_id = launch(state, request, parallelism.get("MaxParallelExecutionSteps"))
    sidecar = {
        "PipelineExecutionDisplayName": params.get("PipelineExecutionDisplayName") or execution_id,
        "PipelineExecutionDescription": params.get("PipelineExecutionDescription"),
        "PipelineVersionId": pipeline.get("PipelineVersionId"),
        "ParallelismConfiguration": parallelism or None,
    }
    (state.root / "executions").mkdir(parents=True, exist_ok=True)
    write_json_atomically(state.root / "executions" / f"{execution_id}.json", sidecar)
    settings = state.settings
    return {
        "PipelineExecutionArn": execution_arn(pipeline["PipelineName"], execution_id, settings.region, settings.account)
    }


def _parameters(given: list[dict[str, Any]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in given:
        if item["Name"] in values:
            raise validation(f"PipelineParameters names {item['Name']!r} twice")
        values[item["Name"]] = item["Value"]
    return values


def launch(state: State, request: dict[str, Any], max_parallel_steps: int | None = None) -> str:
    """Start a runner process and wait for its answer: the execution's id, or ApiError for what it refused."""
    env = dict(os.environ)
    if max_parallel_steps:
        env["SHOWCASE_MAX_PARALLEL_STEPS"] = str(max_parallel_steps)
    process = subprocess.Popen(
        [sys.executable, "-m", "showcase.api.runner"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # an execution outlives the API (and the Ctrl-C that stops it), as on SageMaker
    )
    state.children.watch(process)
    assert process.stdin is not None and process.stdout is not None
    with process.stdin:
        process.stdin.write(json.dumps(request).encode())
    lines = []
    with process.stdout:
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace")
            if line.startswith(ANSWER):
                return _answered(json.loads(line[len(ANSWER) :]))
            lines.append(line)
    raise internal("sagemaker", f"the execution's runner ended before it began: {''.join(lines[-5:]).strip()}")


def _answered(document: dict[str, Any]) -> str:
    if "execution_id" in document:
        return str(document["execution_id"])
    raise validation(str(document.get("error") or "the local runtime refused the execution"))


def describe_pipeline_execution(call: Call) -> dict[str, Any]:
    record = _record(call.state, call.params["PipelineExecutionArn"])
    sidecar = _sidecar(call.state, record.execution_id)
    answer: dict[str, Any] = {
        "PipelineArn": pipelines.pipeline_arn(call.state, record.pipeline_name),
        "PipelineExecutionArn": record.execution_arn,
        "PipelineExecutionDisplayName": sidecar.get("PipelineExecutionDisplayName") or record.execution_id,
        "PipelineExecutionStatus": steps.execution_status(record, record.execution_id in call.state.stopping),
        "PipelineExperimentConfig": {"ExperimentName": record.pipeline_name.lower(), "TrialName": record.execution_id},
        "CreationTime": record.start,
        "LastModifiedTime": _last_modified(record),
        "CreatedBy": {},
        "LastModifiedBy": {},
    }
    for key in ("PipelineExecutionDescription", "PipelineVersionId", "ParallelismConfiguration"):
        if sidecar.get(key) is not None:
            answer[key] = sidecar[key]
    if record.failure_reason:
        answer["FailureReason"] = record.failure_reason
    return answer


def _last_modified(record: ExecutionRecord) -> datetime:
    moments = [record.start, record.end, *(s.start for s in record.steps), *(s.end for s in record.steps)]
    return max(moment for moment in moments if moment is not None)


def list_pipeline_executions(call: Call) -> dict[str, Any]:
    params = call.params
    name = pipelines.resolve_name(call.state, params["PipelineName"])
    keep = created_between(params, "CreatedAfter", "CreatedBefore")
    records = [r for r in list_executions(call.state.settings) if r.pipeline_name == name and keep(r.start)]
    if not records and not pipelines.exists(call.state, name):
        raise not_found(f"Pipeline '{pipelines.pipeline_arn(call.state, name)}' does not exist.")
    ordered = sorted_by(
        records,
        params,
        {"CreationTime": lambda r: r.start, "PipelineExecutionArn": lambda r: r.execution_arn},
        "CreationTime",
    )
    items, token = page(ordered, params, default=50)
    summaries = []
    for record in items:
        sidecar = _sidecar(call.state, record.execution_id)
        summary = {
            "PipelineExecutionArn": record.execution_arn,
            "StartTime": record.start,
            "PipelineExecutionStatus": steps.execution_status(record, record.execution_id in call.state.stopping),
            "PipelineExecutionDisplayName": sidecar.get("PipelineExecutionDisplayName") or record.execution_id,
        }
        if sidecar.get("PipelineExecutionDescription"):
            summary["PipelineExecutionDescription"] = sidecar["PipelineExecutionDescription"]
        if record.failure_reason:
            summary["PipelineExecutionFailureReason"] = record.failure_reason
        summaries.append(summary)
    return with_token({"PipelineExecutionSummaries": summaries}, token)


def list_pipeline_execution_steps(call: Call) -> dict[str, Any]:
    record = _record(call.state, call.params["PipelineExecutionArn"])
    definition, _ = ExecutionStore(call.state.settings.executions_root).load_inputs(record.execution_id)
    registry = call.state.registry
    waiting = Callbacks(call.state.settings.home).waiting()
    summaries = steps.step_summaries(record, definition, registry.region, registry.account, waiting)
    order = call.params.get("SortOrder") or "Descending"
    summaries.sort(key=lambda s: s.get("StartTime") or record.start, reverse=order == "Descending")
    items, token = page(summaries, call.params, default=100)
    return with_token({"PipelineExecutionSteps": items}, token)


def describe_pipeline_definition_for_execution(call: Call) -> dict[str, Any]:
    record = _record(call.state, call.params["PipelineExecutionArn"])
    definition, _ = ExecutionStore(call.state.settings.executions_root).load_inputs(record.execution_id)
    return {"PipelineDefinition": json.dumps(definition), "CreationTime": record.start}


def list_pipeline_parameters_for_execution(call: Call) -> dict[str, Any]:
    record = _record(call.state, call.params["PipelineExecutionArn"])
    parameters = [{"Name": name, "Value": _text(value)} for name, value in record.parameters.items()]
    items, token = page(parameters, call.params, default=50)
    return with_token({"PipelineParameters": items}, token)


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def stop_pipeline_execution(call: Call) -> dict[str, Any]:
    state = call.state
    record = _record(state, call.params["PipelineExecutionArn"])
    if record.status != ExecutionStatus.EXECUTING:
        raise validation(f"Pipeline execution '{record.execution_arn}' is {record.status}: only an Executing one stops")
    if pid_alive(record.pid, record.runner_started):
        os.kill(record.pid, signal.SIGTERM)
    state.stopping.add(record.execution_id)
    return {"PipelineExecutionArn": record.execution_arn}


def retry_pipeline_execution(call: Call) -> dict[str, Any]:
    state = call.state
    record = _record(state, call.params["PipelineExecutionArn"])
    if record.status != ExecutionStatus.FAILED:
        raise validation(
            f"Pipeline execution '{record.execution_arn}' is {record.status}: only a Failed one is retried"
        )
    request = {"action": "retry", "home": str(state.settings.home), "execution_id": record.execution_id}
    parallelism = call.params.get("ParallelismConfiguration") or _sidecar(state, record.execution_id).get(
        "ParallelismConfiguration"
    )
    launch(state, request, (parallelism or {}).get("MaxParallelExecutionSteps"))
    state.stopping.discard(record.execution_id)
    return {"PipelineExecutionArn": record.execution_arn}


OPERATIONS: dict[str, Handler] = {
    "StartPipelineExecution": start_pipeline_execution,
    "DescribePipelineExecution": describe_pipeline_execution,
    "ListPipelineExecutions": list_pipeline_executions,
    "ListPipelineExecutionSteps": list_pipeline_execution_steps,
    "StopPipelineExecution": stop_pipeline_execution,
    "RetryPipelineExecution": retry_pipeline_execution,
    "DescribePipelineDefinitionForExecution": describe_pipeline_definition_for_execution,
    "ListPipelineParametersForExecution": list_pipeline_parameters_for_execution,
}
