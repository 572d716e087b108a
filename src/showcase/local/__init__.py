"""Run a SageMaker pipeline definition JSON on this machine: no AWS, no Docker.

The public API::

    record = run_definition(
        definition,                      # the dict of Pipeline.definition(), Version 2020-12-01
        pipeline_name="MyPipeline",
        parameters={"MseThreshold": "7.5"},    # overrides: strings (as StartPipelineExecution) or typed
        uploads={"s3://bucket/code/preprocess.py": b"..."},  # written to the object store first
        settings=showcase.settings.load(),
        on_event=print,                  # optional: Event per step start/finish, from worker threads
        stop=stop_request,               # optional: a StopRequest; its stop() is StopPipelineExecution
    )
    record.execution_id, record.status, record.failure_reason
    for step in record.steps:  # name, type, status, start, end, failure_reason, log_path, properties
        ...

    retry_execution(execution_id, settings=...)   # SageMaker's RetryPipelineExecution (Failed or Stopped)
    list_executions(settings), describe_execution(execution_id, settings)

``run_definition`` raises DefinitionError (the definition cannot run here: every problem in one message)
or UsageError (a bad parameter override) before anything runs; otherwise it returns the finished
ExecutionRecord whatever its status — a failed execution is a record with status ``Failed``, a stopped one
``Stopped``, not an exception. One process runs an execution at a time: a retry of one that runs is refused
(UsageError naming the process). State lives under ``settings.home``: the object store, the registry and
``executions/<id>/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from showcase.local.engine import Engine, Event, OnEvent, StopRequest
from showcase.local.processes import container
from showcase.local.processes.awsapi import ApiForRun
from showcase.local.records import ExecutionRecord, ExecutionStore, StepRecord
from showcase.local.steps import STEP_TYPES
from showcase.names import PIPELINE_NAME
from showcase.registry import Registry
from showcase.settings import Settings
from showcase.store import ObjectStore

__all__ = [
    "Event",
    "ExecutionRecord",
    "OnEvent",
    "StepRecord",
    "StopRequest",
    "describe_execution",
    "list_executions",
    "retry_execution",
    "run_definition",
    "trial_logs",
]


def run_definition(
    definition: dict[str, Any],
    *,
    pipeline_name: str,
    parameters: Mapping[str, Any] | None = None,
    uploads: Mapping[str, bytes] | None = None,
    settings: Settings,
    on_event: Callable[[Event], None] | None = None,
    stop: StopRequest | None = None,
) -> ExecutionRecord:
    """Check ``definition`` and ``pipeline_name``, put ``uploads`` in the object store, run, return the record."""
    PIPELINE_NAME.check("pipeline name", pipeline_name)  # a UsageError: the name is part of the execution's ARN
    api = ApiForRun(settings.home, settings.region)
    if _has_job_process(definition.get("Steps")):
        api.start()  # in the background: it listens by the time the first job has been staged
    try:
        engine = _engine(settings, on_event, stop, api)
        for uri, data in (uploads or {}).items():
            if not (engine.store.exists(uri) and engine.store.get_bytes(uri) == data):  # unchanged: keep its digest
                engine.store.put_bytes(uri, data)
        return engine.start(definition, pipeline_name=pipeline_name, parameters=parameters or {})
    finally:
        api.close()


def retry_execution(
    execution_id: str,
    *,
    settings: Settings,
    on_event: Callable[[Event], None] | None = None,
    stop: StopRequest | None = None,
) -> ExecutionRecord:
    """Re-run a Failed or Stopped execution from the steps that did not succeed, reusing the properties of those
    that did."""
    api = ApiForRun(settings.home, settings.region)  # started when a job first needs it
    try:
        return _engine(settings, on_event, stop, api).retry(execution_id)
    finally:
        api.close()


def list_executions(settings: Settings) -> list[ExecutionRecord]:
    """Every execution under ``settings.home``, newest first."""
    return ExecutionStore(settings.executions_root).list()


def describe_execution(execution_id: str, settings: Settings) -> ExecutionRecord:
    """One execution; UsageError if there is none with that id."""
    return ExecutionStore(settings.executions_root).load(execution_id)


def trial_logs(execution_id: str, step_name: str, settings: Settings) -> list[Path]:
    """A Tuning step's trial logs, in trial order (empty for other steps)."""
    return ExecutionStore(settings.executions_root).trial_logs(execution_id, step_name)


def _has_job_process(steps: object) -> bool:
    """Whether a job process may run: a step whose type runs one, here or in a Condition's branches."""
    if not isinstance(steps, list):
        return False
    for step in steps:
        if not isinstance(step, dict):
            continue
        declared = STEP_TYPES.get(str(step.get("Type")))
        arguments = step.get("Arguments")
        if not isinstance(arguments, dict):
            arguments = {}
        if (declared is not None and declared.job_process) or any(
            _has_job_process(arguments.get(branch)) for branch in ("IfSteps", "ElseSteps")
        ):
            return True
    return False


def _engine(settings: Settings, on_event: OnEvent | None, stop: StopRequest | None, api: ApiForRun) -> Engine:
    store = ObjectStore(settings.store_root)
    # What runners and writers killed in earlier runs left behind.
    store.sweep_stale_temp_files()
    ExecutionStore(settings.executions_root).sweep_temp_files()
    container.sweep_scratch()
    return Engine(
        settings,
        step_types=STEP_TYPES,
        store=store,
        registry=Registry.from_settings(settings),
        on_event=on_event,
        stop=stop,
        aws_environment=api.environment,
    )
