"""Running one step as its type declares: a step the engine evaluates (Condition, Fail) by its evaluator; a job
step by its executor, through the cache and the retry policies. A job stopped through ``StepRun.stop`` (the
execution is being stopped) ends its step Stopped, and is not retried."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from showcase.clock import now
from showcase.errors import JobStopped, StepFailed
from showcase.local import cache
from showcase.local.definition import StepSpec
from showcase.local.digests import FileDigests
from showcase.local.expressions import Resolver
from showcase.local.jobs import Executor, JobContext, UpstreamStep, job_name
from showcase.local.record import ExecutionRecord, Outcome
from showcase.local.retry import next_wait
from showcase.local.steptype import Evaluator, StepType
from showcase.statuses import StepStatus


@dataclass
class StepRun:
    """Everything one step needs from its execution."""

    spec: StepSpec
    pipeline_name: str
    execution_id: str
    resolver: Resolver
    log: TextIO
    work_root: Path
    store: Any
    registry: Any
    history: Callable[[], Iterable[ExecutionRecord]]
    sleep: Callable[[float], None]
    parameters: dict[str, Any] = field(default_factory=dict)
    upstream: Callable[[], tuple[UpstreamStep, ...]] = tuple
    """The steps this one depends on (``JobContext.upstream``), looked up only for a job step."""
    digests: FileDigests | None = None
    """Remembered file digests for cache keys (None: every input is read)."""
    stop: threading.Event | None = None
    """Set when the execution is being stopped: the step's job is stopped (``JobContext.stop``)."""
    home: Path | None = None
    """The execution's home (``JobContext.home``)."""
    aws_environment: Callable[[], Mapping[str, str]] = dict
    """What a job's process gets to reach the local AWS API (``JobContext.aws_environment``)."""


def run_step(run: StepRun) -> Outcome:
    """Run one step to an Outcome; an unresolvable reference is the step's failure, not the engine's."""
    declared = run.spec.step_type
    try:
        if declared.evaluator is not None:
            return _evaluate(run, declared.evaluator)
        return _execute(run, declared)
    except StepFailed as exc:
        run.log.write(f"failed: {exc}\n")
        return Outcome(StepStatus.FAILED, failure_reason=str(exc))


def _evaluate(run: StepRun, evaluator: Evaluator) -> Outcome:
    return evaluator.evaluate(run.spec.arguments, run.resolver.resolve, run.log)


def _execute(run: StepRun, declared: StepType) -> Outcome:
    """A job step: its cached properties when CacheConfig finds a hit, else its executor's attempts."""
    assert declared.executor is not None, f"step type {declared.name} has no executor"
    arguments = run.resolver.resolve(run.spec.arguments)
    key = None
    config = run.spec.raw.get("CacheConfig") or {}
    if declared.cacheable and config.get("Enabled"):
        key = cache.cache_key(declared, arguments, run.store, run.digests)
        ttl = cache.expire_after(config.get("ExpireAfter"))
        hit = cache.find_hit(key, run.pipeline_name, ttl, now(), run.history())
        if hit is not None:
            run.log.write(f"cache hit: reusing step {hit[1].name!r} of execution {hit[0].execution_id}\n")
            return Outcome(
                StepStatus.CACHED,
                hit[1].properties,
                cache_key=key,
                cached_from=hit[0].execution_id,
                arguments=arguments,
            )
    outcome = _attempts(run, declared.executor, arguments, key)
    outcome.arguments = arguments
    return outcome


def _attempts(run: StepRun, executor: Executor, arguments: dict[str, Any], key: str | None) -> Outcome:
    policies = list(run.spec.raw.get("RetryPolicies") or [])
    started = time.monotonic()
    upstream = run.upstream()
    attempt = 0
    while True:
        attempt += 1
        work_dir = _fresh_dir(run.work_root)
        run.log.write(f"attempt {attempt}: running {run.spec.type} job in {work_dir}\n")
        run.log.flush()
        context = JobContext(
            run.pipeline_name, run.execution_id, run.spec.name, run.spec.type, arguments,
            work_dir, run.log, run.store, run.registry, run.parameters, upstream, stop=run.stop,
            aws_environment=run.aws_environment, home=run.home,
            job_name=job_name(run.execution_id, run.spec.name, run.spec.step_type.job_name_length),
        )  # fmt: skip
        try:
            properties = executor.run(context)
            return Outcome(StepStatus.SUCCEEDED, properties, cache_key=key, attempts=attempt)
        except JobStopped as exc:
            run.log.write(f"attempt {attempt} stopped: {exc}\n")
            return Outcome(StepStatus.STOPPED, cache_key=key, attempts=attempt)
        except Exception as exc:  # every executor failure is recorded; retry policies decide what is retried
            wait = next_wait(policies, exc, attempt - 1, time.monotonic() - started)
            reason = _reason(run.spec, exc)
            run.log.write(f"attempt {attempt} failed: {reason}\n")
            if not isinstance(exc, StepFailed):
                run.log.write(traceback.format_exc())
            if wait is not None and _stopped(run):
                run.log.write("not retried: the execution is being stopped\n")
                return Outcome(StepStatus.STOPPED, cache_key=key, attempts=attempt)
            if wait is None:
                return Outcome(StepStatus.FAILED, failure_reason=reason, cache_key=key, attempts=attempt)
            run.log.write(f"retrying in {wait:g} s (RetryPolicies)\n")
            run.sleep(wait)
            if _stopped(run):
                run.log.write("not retried: the execution is being stopped\n")
                return Outcome(StepStatus.STOPPED, cache_key=key, attempts=attempt)


def _stopped(run: StepRun) -> bool:
    return run.stop is not None and run.stop.is_set()


def _fresh_dir(root: Path) -> Path:
    """``root/attempt-<n>`` for the first n not used yet: a retried execution never reuses a dirty directory."""
    root.mkdir(parents=True, exist_ok=True)
    n = 1 + sum(1 for _ in root.glob("attempt-*"))
    while True:
        try:
            (root / f"attempt-{n}").mkdir()
            return root / f"attempt-{n}"
        except FileExistsError:
            n += 1


def _reason(spec: StepSpec, exc: Exception) -> str:
    if isinstance(exc, StepFailed):
        return str(exc)
    return f"internal error in the local {spec.type} executor: {type(exc).__name__}: {exc}"
