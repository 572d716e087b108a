"""The local engine: runs a parsed pipeline definition step by step, in dependency order.

Independent steps run in parallel (up to ``settings.max_parallel_steps``). A step whose dependency was
skipped (the branch not taken by a Condition) is Skipped; after a failure no further step starts, the
running ones finish, and the execution ends Failed. Every change is saved to the execution record at once.
``on_event`` receives an Event for each change; it may be called from worker threads, one call at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from showcase.errors import DefinitionError, UsageError
from showcase.local import definition as definitions
from showcase.local.digests import FileDigests
from showcase.local.expressions import Resolver
from showcase.local.inputs import missing_inputs
from showcase.local.jobs import Executor, UpstreamStep, job_name
from showcase.local.overrides import parameter_values
from showcase.local.records import (
    ExecutionRecord,
    ExecutionStore,
    Outcome,
    StepRecord,
    execution_arn,
    new_execution_id,
    now,
)
from showcase.local.steps import StepRun, run_step
from showcase.settings import Settings
from showcase.statuses import DONE, TERMINAL, ExecutionStatus, StepStatus


class EventKind(str, Enum):
    """What an Event reports (a ``str``: it compares equal to its value)."""

    EXECUTION_STARTED = "execution_started"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    EXECUTION_FINISHED = "execution_finished"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    execution_id: str
    status: ExecutionStatus | StepStatus
    step_name: str | None = None
    step_type: str | None = None
    message: str | None = None
    time: float = field(default_factory=time.time)


OnEvent = Callable[[Event], None]


class Readiness(Enum):
    """What the engine does next with a step that has not started."""

    WAIT = "wait"
    """A dependency has not finished yet."""
    SKIP = "skip"
    """A dependency was skipped, or the step is on the branch its Condition did not take."""
    RUN = "run"
    BLOCKED = "blocked"
    """A step of the execution failed: no further step starts, and this one stays NotStarted."""


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        executors: Mapping[str, Executor],
        store: Any,
        registry: Any,
        on_event: OnEvent | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.executors = dict(executors)
        self.store = store
        self.registry = registry
        self.on_event = on_event or (lambda event: None)
        self.sleep = sleep
        self.records = ExecutionStore(settings.executions_root)
        self.digests = FileDigests(settings.home / "digests.json")
        self._lock = threading.RLock()

    def start(self, raw: dict[str, Any], *, pipeline_name: str, parameters: Mapping[str, Any]) -> ExecutionRecord:
        """Check the definition and the parameters, then run a new execution to its end."""
        parsed = definitions.parse(raw, self.executors)
        values = parameter_values(parsed.parameters, parameters)
        missing = missing_inputs(parsed, values, self.store)
        if missing:
            raise DefinitionError(
                f"the definition reads objects the local object store ({self.settings.store_root}) does not hold: "
                f"{'; '.join(missing)}; put them there first (showcase-local start --upload LOCAL=s3://..., "
                "or showcase-local store put LOCAL s3://...)"
            )
        execution_id = new_execution_id()
        record = ExecutionRecord(execution_id, execution_arn(pipeline_name, execution_id), pipeline_name)
        record.parameters = values
        record.steps = [StepRecord(step.name, step.type) for step in parsed.steps.values()]
        self.records.save_inputs(execution_id, raw, values)
        return self._run(parsed, record)

    def retry(self, execution_id: str) -> ExecutionRecord:
        """Run a Failed execution again from its failed steps, reusing what succeeded (same id)."""
        record = self.records.load(execution_id)
        if record.status != ExecutionStatus.FAILED:
            raise UsageError(f"execution {execution_id} is {record.status}; only a Failed execution can be retried")
        raw, values = self.records.load_inputs(execution_id)
        parsed = definitions.parse(raw, self.executors)
        record.reopen()
        record.parameters = values
        return self._run(parsed, record)

    # -- one execution ------------------------------------------------------------------------------

    def _run(self, parsed: definitions.Definition, record: ExecutionRecord) -> ExecutionRecord:
        self.records.save(record)
        self._emit(Event(EventKind.EXECUTION_STARTED, record.execution_id, record.status))
        pending = [name for name in parsed.steps if record.step(name).status not in TERMINAL]
        running: dict[Future[Outcome], str] = {}
        with ThreadPoolExecutor(self.settings.max_parallel_steps, thread_name_prefix="step") as pool:
            while pending or running:
                for name in list(pending):
                    readiness = self._readiness(parsed, record, name)
                    if readiness is Readiness.WAIT:
                        continue
                    pending.remove(name)
                    if readiness is Readiness.BLOCKED:
                        continue  # never starts: its record stays NotStarted
                    if readiness is Readiness.SKIP:
                        self._update(record, name, StepRecord.skip)
                    else:
                        self._update(record, name, StepRecord.queue)
                        running[pool.submit(self._step, parsed, record, name)] = name
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    self._finish(parsed, record, running.pop(future), future.result())
        return self._close(record)

    def _readiness(self, parsed: definitions.Definition, record: ExecutionRecord, name: str) -> Readiness:
        if record.failure_reason is not None:
            return Readiness.BLOCKED
        spec = parsed.steps[name]
        statuses = {dep: record.step(dep).status for dep in spec.dependencies}
        if any(status not in TERMINAL for status in statuses.values()):
            return Readiness.WAIT
        if StepStatus.SKIPPED in statuses.values():
            return Readiness.SKIP
        if spec.branch and record.step(spec.branch[0]).properties.get("Outcome") is not spec.branch[1]:
            return Readiness.SKIP
        return Readiness.RUN

    def _step(self, parsed: definitions.Definition, record: ExecutionRecord, name: str) -> Outcome:
        spec = parsed.steps[name]
        log_path = self.records.log_path(record.execution_id, name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._update(record, name, lambda step: step.begin(str(log_path)))
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- {now().isoformat()} {spec.type} step {name} of execution {record.execution_id}\n")
            run = StepRun(
                spec=spec,
                pipeline_name=record.pipeline_name,
                execution_id=record.execution_id,
                resolver=self._resolver(parsed, record, name),
                log=log,
                work_root=self.records.directory(record.execution_id) / "work" / name,
                store=self.store,
                registry=self.registry,
                executors=self.executors,
                history=lambda: [r for r in self.records.list() if r.execution_id != record.execution_id],
                sleep=self.sleep,
                parameters=dict(record.parameters),
                upstream=self._upstream(parsed, record, name),
                digests=self.digests,
            )
            return run_step(run)

    def _upstream(self, parsed: definitions.Definition, record: ExecutionRecord, name: str) -> tuple[UpstreamStep, ...]:
        """The finished steps ``name`` depends on, directly or transitively, in the definition's run order."""
        ancestors: set[str] = set()
        todo = list(parsed.steps[name].dependencies)
        while todo:
            dep = todo.pop()
            if dep not in ancestors:
                ancestors.add(dep)
                todo.extend(parsed.steps[dep].dependencies)
        with self._lock:
            return tuple(
                UpstreamStep(step.name, step.type, step.status, step.arguments, step.properties, step.cached_from)
                for step in (record.step(other) for other in parsed.steps if other in ancestors)
                if step.status in DONE
            )

    def _resolver(self, parsed: definitions.Definition, record: ExecutionRecord, name: str) -> Resolver:
        name_of_job = job_name(record.execution_id, name)
        with self._lock:
            properties = {step.name: step.properties for step in record.steps if step.status in DONE}
        variables = {
            "PipelineExecutionId": record.execution_id,
            "PipelineExecutionArn": record.execution_arn,
            "PipelineName": record.pipeline_name,
            "PipelineArn": record.execution_arn.rpartition("/execution/")[0],
            "StartDateTime": record.start.isoformat(),
            "TrainingJobName": name_of_job,
            "ProcessingJobName": name_of_job,
        }
        return Resolver(
            parameters=record.parameters,
            variables=variables,
            step_properties=properties,
            property_files=parsed.property_files,
            read_bytes=self.store.get_bytes,
        )

    def _finish(self, parsed: definitions.Definition, record: ExecutionRecord, name: str, outcome: Outcome) -> None:
        step = record.step(name)
        if outcome.status == StepStatus.FAILED and record.failure_reason is None:
            reason = outcome.failure_reason or "no reason given"
            record.failure_reason = reason if step.type == "Fail" else f"step {name!r} failed: {reason}"
        self._update(record, name, lambda step: step.finish(outcome))

    def _close(self, record: ExecutionRecord) -> ExecutionRecord:
        with self._lock:
            record.close()
            self.records.save(record)
        self._emit(
            Event(EventKind.EXECUTION_FINISHED, record.execution_id, record.status, message=record.failure_reason)
        )
        return record

    def _update(self, record: ExecutionRecord, name: str, change: Callable[[StepRecord], None]) -> None:
        """Apply one of StepRecord's changes to step ``name``, save the record and report the change."""
        with self._lock:
            step = record.step(name)
            change(step)
            self.records.save(record)
            kind = EventKind.STEP_FINISHED if step.status in TERMINAL else EventKind.STEP_STARTED
            if step.status != StepStatus.STARTING:
                self._emit(Event(kind, record.execution_id, step.status, name, step.type, step.failure_reason))

    def _emit(self, event: Event) -> None:
        with self._lock:
            self.on_event(event)
