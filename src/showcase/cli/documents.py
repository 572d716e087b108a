"""Local executions as SageMaker's API answers describe them: what ``--json`` prints for ``showcase list``,
``describe``, ``start``, ``run`` and ``retry``."""

from __future__ import annotations

from typing import Any

from showcase.local import ExecutionRecord
from showcase.settings import Settings


def summary_document(record: ExecutionRecord) -> dict[str, Any]:
    """A ListPipelineExecutions summary of a record (plus PipelineName, which the ARN holds in lower case)."""
    summary: dict[str, Any] = {
        "PipelineExecutionArn": record.execution_arn,
        "PipelineExecutionDisplayName": record.execution_id,
        "PipelineName": record.pipeline_name,
        "PipelineExecutionStatus": record.status,
        "StartTime": record.start,
    }
    if record.end is not None:
        summary["EndTime"] = record.end
    if record.failure_reason:
        summary["PipelineExecutionFailureReason"] = record.failure_reason
    return summary


def execution_document(record: ExecutionRecord, settings: Settings) -> dict[str, Any]:
    """DescribePipelineExecution's answer for a record, with its ListPipelineParametersForExecution and
    ListPipelineExecutionSteps answers under their own keys."""
    from showcase.api import steps
    from showcase.local.records import ExecutionStore

    try:
        definition, _ = ExecutionStore(settings.executions_root).load_inputs(record.execution_id)
    except (OSError, ValueError):
        definition = {}
    document: dict[str, Any] = {
        "PipelineExecutionArn": record.execution_arn,
        "PipelineExecutionDisplayName": record.execution_id,
        "PipelineName": record.pipeline_name,
        "PipelineExecutionStatus": record.status,
        "CreationTime": record.start,
        "LastModifiedTime": max(
            moment for moment in (record.start, record.end, *(s.end or s.start for s in record.steps)) if moment
        ),
    }
    if record.failure_reason:
        document["FailureReason"] = record.failure_reason
    document["PipelineParameters"] = [{"Name": k, "Value": _text(v)} for k, v in record.parameters.items()]
    document["PipelineExecutionSteps"] = steps.step_summaries(record, definition, settings.region, settings.account)
    return document


def _text(value: Any) -> str:
    """A parameter value as StartPipelineExecution takes it: a string (booleans as JSON writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
