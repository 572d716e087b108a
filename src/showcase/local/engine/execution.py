"""The local engine: runs a parsed pipeline definition step by step, in dependency order.

Independent steps run in parallel (up to ``settings.max_parallel_steps``). A step whose dependency was
skipped (the branch not taken by a Condition) is Skipped; after a failure no further step starts, the
running ones finish, and the execution ends Failed. A ``StopRequest`` does what StopPipelineExecution does:
the execution is Stopping, no further step starts, every running job gets SIGTERM and, once the grace is over
(or at once when the request is hurried), SIGKILL; its steps end Stopped and the execution Stopped.

One process runs an execution at a time: the runner holds the execution's lock (``ExecutionStore.hold``) from
its start (or retry) to its end. Each change of a step is appended to the record's journal at once, and when a
step ends only its dependents are looked at again: a run costs in proportion to its steps, whatever their number.
``on_event`` receives an Event for each change; it may be called from worker threads, one call at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from showcase.clock import timestamp
from showcase.errors import DefinitionError, ShowcaseError
from showcase.local import definition as definitions
from showcase.local.digests import FileDigests
from showcase.local.engine.events import Event, EventKind, OnEvent, StopRequest
from showcase.local.engine.plan import DoneProperties, Plan, Readiness, stopping
from showcase.local.engine.step import StepRun, run_step
from showcase.local.expressions import Resolver
from showcase.local.inputs import missing_inputs
from showcase.local.jobs import JobStop, UpstreamStep, job_name
from showcase.local.records import (
    ExecutionRecord,
    ExecutionStore,
    Outcome,
    StepRecord,
    execution_arn,
    new_execution_id,
)
from showcase.local.steptype import StepType
from showcase.processes import ProcessLock
from showcase.settings import Settings
from showcase.statuses import DONE, TERMINAL, ExecutionStatus, StepStatus

TICK_S = 0.1
"""How often the engine looks at its ``StopRequest`` while steps run."""
RETRYABLE = (ExecutionStatus.FAILED, ExecutionStatus.STOPPED)
"""What a retry accepts: an execution that Failed or was Stopped. botocore's model of RetryPipelineExecution
(sagemaker service-2.json) says only "Retry the execution of the pipeline." and lists ConflictException among its
errors, not which statuses it takes; both ended statuses short of Succeeded are taken here, and an execution still
running is refused (by its lock)."""


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        step_types: Mapping[str, StepType],
        store: Any,
        registry: Any,
        on_event: OnEvent | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: StopRequest | None = None,
        aws_environment: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self.settings = settings
        self.aws_environment = aws_environment
        self.step_types = dict(step_types)
        self.store = store
        self.registry = registry
        self.on_event = on_event or (lambda event: None)
        self.sleep = sleep
        self.stop_request = stop or StopRequest()
        self.records = ExecutionStore(settings.executions_root)
        self.digests = FileDigests(settings.home / "digests.json")
        self._lock = threading.RLock()

    def stop(self, *, now: bool = False) -> None:
        """Stop the execution this engine runs (see ``StopRequest``)."""
        self.stop_request.stop(now=now)

    def start(self, raw: dict[str, Any], *, pipeline_name: str, parameters: Mapping[str, Any]) -> ExecutionRecord:
        """Check the definition and the parameters, then run a new execution to its end."""
        parsed = definitions.parse(raw, self.step_types)
        values = parsed.parameter_values(parameters)
        missing = missing_inputs(parsed, values, self.store)
        if missing:
            raise DefinitionError(
                f"the definition reads objects the local object store ({self.settings.store_root}) does not hold: "
                f"{'; '.join(missing)}; put them there first (showcase-local start --upload LOCAL=s3://..., "
                "or showcase-local store put LOCAL s3://...)"
            )
        execution_id = new_execution_id()
        lock = self.records.hold(execution_id)
        record = ExecutionRecord(
            execution_id,
            execution_arn(pipeline_name, execution_id, self.settings.region, self.settings.account),
            pipeline_name,
        )
        record.parameters = values
        record.steps = [StepRecord(step.name, step.type) for step in parsed.steps.values()]
        try:
            self.records.save_inputs(execution_id, raw, values)
        except BaseException:
            lock.release()
            raise
        return self._run(parsed, record, lock)

    def retry(self, execution_id: str) -> ExecutionRecord:
        """Run a Failed or Stopped execution again from the steps that did not succeed, reusing what succeeded
        (same id). Refused while another process runs it."""
        self.records.load(execution_id)  # an unknown id says so before anything is created
        lock = self.records.hold(execution_id)
        try:
            record = self.records.load(execution_id, holding=True)
            if record.status in (ExecutionStatus.EXECUTING, ExecutionStatus.STOPPING):
                raise ShowcaseError(
                    f"execution {execution_id} is running in process {record.pid}; wait for it or stop it "
                    f"(kill -INT {record.pid})"
                )
            if record.status not in RETRYABLE:
                raise ShowcaseError(
                    f"execution {execution_id} is {record.status}; only a Failed or Stopped execution can be retried"
                )
            raw, values = self.records.load_inputs(execution_id)
            parsed = definitions.parse(raw, self.step_types)
            self.records.save(record)  # the journal folded in before anything changes
            record.reopen()
            record.parameters = values
        except BaseException:
            lock.release()
            raise
        return self._run(parsed, record, lock)

    # -- one execution ------------------------------------------------------------------------------

    def _run(self, parsed: definitions.Definition, record: ExecutionRecord, lock: ProcessLock) -> ExecutionRecord:
        with lock:
            try:
                self.records.save(record)
                self._emit(Event(EventKind.EXECUTION_STARTED, record.execution_id, record.status))
                self._schedule(parsed, record)
            except BaseException as exc:  # the record must not stay Executing once the lock is let go
                with self._lock:
                    if record.failure_reason is None and record.status == ExecutionStatus.EXECUTING:
                        record.failure_reason = f"the local engine ended on an error: {type(exc).__name__}: {exc}"
                self._close(record)
                raise
            return self._close(record)

    def _schedule(self, parsed: definitions.Definition, record: ExecutionRecord) -> None:
        """Run every step once its dependencies have ended, in definition order among those ready together."""
        plan = Plan(parsed, record)
        running: dict[Future[Outcome], str] = {}
        stops: dict[str, JobStop] = {}
        hurried = False
        with ThreadPoolExecutor(self.settings.max_parallel_steps, thread_name_prefix="step") as pool:
            while True:
                hurried = self._heed_stop(record, stops, hurried)
                for name in plan.ready():
                    readiness = self._readiness(parsed, record, name)
                    if readiness is Readiness.BLOCKED:
                        continue  # never starts: its record stays NotStarted, and so do its dependents
                    if readiness is Readiness.SKIP:
                        self._update(record, name, StepRecord.skip)
                        plan.ended(name)
                        continue
                    stops[name] = JobStop()
                    self._update(record, name, StepRecord.queue)
                    running[pool.submit(self._step, parsed, record, name, stops[name])] = name
                if not running:
                    break
                try:
                    done, _ = wait(running, timeout=TICK_S, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # no signal handler of the caller's: Ctrl-C stops, a second one hurries
                    self.stop_request.stop("KeyboardInterrupt", now=self.stop_request.requested)
                    continue
                for future in sorted(done, key=lambda item: plan.position[running[item]]):
                    name = running.pop(future)
                    del stops[name]
                    self._finish(record, name, future.result())
                    plan.ended(name)

    def _heed_stop(self, record: ExecutionRecord, stops: dict[str, JobStop], hurried: bool) -> bool:
        """Act on the StopRequest once it is made (and once more when it is hurried); whether jobs were hurried."""
        request = self.stop_request
        if request.requested and record.status == ExecutionStatus.EXECUTING:
            with self._lock:
                record.request_stop()
                self.records.save_change(record)
            message = f"{request.reason}: stopping its jobs (SIGTERM; SIGKILL after their grace)"
            self._emit(Event(EventKind.EXECUTION_STOPPING, record.execution_id, record.status, message=message))
            for name, stop in stops.items():
                stop.set()
                if record.step(name).status == StepStatus.EXECUTING:  # only this thread ends a step: no race
                    self._update(record, name, stopping)
        if request.hurried and not hurried:
            for stop in stops.values():
                stop.hurry()
            message = f"{request.reason} again: killing its jobs now (SIGKILL)"
            self._emit(Event(EventKind.EXECUTION_STOPPING, record.execution_id, record.status, message=message))
            return True
        return hurried

    def _readiness(self, parsed: definitions.Definition, record: ExecutionRecord, name: str) -> Readiness:
        """A step on a branch its Condition did not take is Skipped whenever its turn comes, even after another
        step failed (when the Fail branch ends the execution before the other branch's last dependency does)."""
        spec = parsed.steps[name]
        if any(record.step(dep).status == StepStatus.SKIPPED for dep in spec.dependencies):
            return Readiness.SKIP
        if spec.branch and record.step(spec.branch[0]).properties.get("Outcome") is not spec.branch[1]:
            return Readiness.SKIP
        if record.failure_reason is not None or record.status != ExecutionStatus.EXECUTING:
            return Readiness.BLOCKED
        return Readiness.RUN

    def _step(self, parsed: definitions.Definition, record: ExecutionRecord, name: str, stop: JobStop) -> Outcome:
        if stop.is_set():  # stopped while it waited for a worker: it never begins
            return Outcome(StepStatus.STOPPED)
        spec = parsed.steps[name]
        log_path = self.records.log_path(record.execution_id, name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._update(record, name, lambda step: step.begin(str(log_path)))
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- {timestamp()} {spec.type} step {name} of execution {record.execution_id}\n")
            run = StepRun(
                spec=spec,
                pipeline_name=record.pipeline_name,
                execution_id=record.execution_id,
                resolver=self._resolver(parsed, record, name),
                log=log,
                work_root=self.records.directory(record.execution_id) / "work" / name,
                store=self.store,
                registry=self.registry,
                history=lambda: [r for r in self.records.list() if r.execution_id != record.execution_id],
                sleep=self.sleep,
                parameters=dict(record.parameters),
                upstream=lambda: self._upstream(parsed, record, name),
                digests=self.digests,
                stop=stop,
                home=self.settings.home,
                aws_environment=self.aws_environment,
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
                UpstreamStep(
                    step.name,
                    step.type,
                    step.status,
                    step.arguments,
                    step.properties,
                    step.cached_from,
                    key_attributes=parsed.steps[step.name].step_type.cache_key,
                )
                for step in (record.step(other) for other in parsed.steps if other in ancestors)
                if step.status in DONE
            )

    def _resolver(self, parsed: definitions.Definition, record: ExecutionRecord, name: str) -> Resolver:
        name_of_job = job_name(record.execution_id, name)
        variables = {
            "PipelineExecutionId": record.execution_id,
            "PipelineExecutionArn": record.execution_arn,
            "PipelineName": record.pipeline_name,
            "PipelineArn": record.execution_arn.rpartition("/execution/")[0],
            "StartDateTime": timestamp(record.start),
            "TrainingJobName": name_of_job,
            "ProcessingJobName": name_of_job,
        }
        return Resolver(
            parameters=record.parameters,
            variables=variables,
            step_properties=DoneProperties(record, self._lock),
            property_files=parsed.property_files,
            read_bytes=self.store.get_bytes,
        )

    def _finish(self, record: ExecutionRecord, name: str, outcome: Outcome) -> None:
        step = record.step(name)
        if outcome.status == StepStatus.FAILED and record.failure_reason is None:
            reason = outcome.failure_reason or "no reason given"
            record.failure_reason = reason if step.type == "Fail" else f"step {name!r} failed: {reason}"
        self._update(record, name, lambda step: step.finish(outcome))

    def _close(self, record: ExecutionRecord) -> ExecutionRecord:
        with self._lock:
            record.close()
            self.records.save(record)
        message = record.failure_reason
        if record.status == ExecutionStatus.STOPPED:
            message = self.stop_request.reason or "stopped"
        self._emit(Event(EventKind.EXECUTION_FINISHED, record.execution_id, record.status, message=message))
        return record

    def _update(self, record: ExecutionRecord, name: str, change: Callable[[StepRecord], None]) -> None:
        """Apply one of StepRecord's changes to step ``name``, journal it and report it."""
        with self._lock:
            step = record.step(name)
            change(step)
            self.records.save_change(record, step)
            if step.status in TERMINAL:
                kind = EventKind.STEP_FINISHED
            elif step.status == StepStatus.STOPPING:
                kind = EventKind.STEP_STOPPING
            else:
                kind = EventKind.STEP_STARTED
            if step.status != StepStatus.STARTING:
                self._emit(Event(kind, record.execution_id, step.status, name, step.type, step.failure_reason))

    def _emit(self, event: Event) -> None:
        with self._lock:
            self.on_event(event)
