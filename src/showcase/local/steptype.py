"""What a pipeline step type is: the one declaration its module makes, read by every part that needs to know.

A step type is one module of ``showcase.local.steps`` that declares a ``StepType``, and one line of the table
``showcase.local.steps.STEP_TYPES``. The declaration says everything about the type that is not its executor's
own business, and each reader takes it from there:

    what it says                                  who reads it
    ────────────────────────────────────────────  ─────────────────────────────────────────────────────────────
    executor (a job), evaluator (Condition, Fail)  the definition parser (problems), the engine (runs or evaluates)
      or why it is refused                         the definition parser (one line naming the step and why)
    step_fields, branches                          the definition parser (what the request is, nested steps)
    cacheable, cache_key                           the cache (the key), lineage (an upstream step's inputs)
    inputs, outputs                                inputs (what must be in the object store before a run)
    job_process                                    docs/architecture.md's table (tests/test_step_types.py)
    aws: Metadata key, ARN property and resource   aws.pipelines (a step's type from SageMaker's answer), the
    describe, job_name_length                      local API (ListPipelineExecutionSteps, Describe*Job)

The engine never imports the table: ``showcase.local.run_definition`` hands it to the engine, and tests hand it
one whose executors are fakes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from showcase.local.jobs import MAX_JOB_NAME, Executor
from showcase.local.record import Outcome

Resolve = Callable[[Any], Any]


class Evaluator(Protocol):
    """A step the engine evaluates itself, with no job and no executor (Condition, Fail)."""

    def arguments(self, step: Mapping[str, Any]) -> dict[str, Any]:
        """The step's request, from its definition entry."""
        ...

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        """Why it cannot be evaluated, checked before the execution starts (empty: it can)."""
        ...

    def references(self, arguments: dict[str, Any]) -> Any:
        """The part of ``arguments`` whose expressions it reads (checked when the definition is parsed)."""
        ...

    def evaluate(self, arguments: dict[str, Any], resolve: Resolve, log: TextIO) -> Outcome:
        """Its outcome, resolving what it reads through ``resolve``; raises StepFailed for what cannot be read."""
        ...


@dataclass(frozen=True)
class Location:
    """Where a step's arguments name an S3 location: keys joined by dots, ``[]`` after the key of a list for each
    of its items (``ProcessingInputs[].S3Input.S3Uri``)."""

    path: str
    named_by: str | None = None
    """The key of a list item shown beside its index (``ChannelName``: ``InputDataConfig[0] (train)``)."""
    json_quoted: bool = False
    """The value is JSON text holding the location, as a script-mode hyperparameter is."""

    def find(self, arguments: Any) -> Iterator[tuple[str, Any]]:
        """``(label, value)`` for each place the path reaches in ``arguments``; a value may be an expression."""
        head, listed, tail = self.path.partition("[]")
        if not listed:
            yield self.path, self._value(_dig(arguments, head))
            return
        items = _dig(arguments, head)
        for index, item in enumerate(items if isinstance(items, list) else []):
            label = f"{head}[{index}]" + (f" ({_dig(item, self.named_by)})" if self.named_by else "")
            yield label, self._value(_dig(item, tail.removeprefix(".")))

    def _value(self, value: Any) -> Any:
        if not self.json_quoted or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value


def _dig(value: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class AwsStep:
    """How SageMaker reports a step of this type in ListPipelineExecutionSteps: the key of its ``Metadata`` and,
    for a step that makes a resource, the property holding that resource's ARN."""

    metadata: str
    arn_property: str | None = None
    arn_resource: str | None = None
    """The ARN's resource type when the resource is a job named after the step (its ARN is known while it runs)."""


@dataclass(frozen=True)
class StepType:
    """Everything the runtime knows of one pipeline step ``Type``. Exactly one of ``executor`` (a job step),
    ``evaluator`` (a step the engine evaluates itself) and ``refused`` (why it cannot run here) is given."""

    name: str
    aws: AwsStep
    executor: Executor | None = None
    evaluator: Evaluator | None = None
    refused: str | None = None
    cacheable: bool = False
    """Whether SageMaker's CacheConfig applies to it (jobs: yes; model creation, registration: no)."""
    cache_key: tuple[str, ...] | None = None
    """The arguments that make its cache key, SageMaker's "if this changes, the step reruns" (None: all of them)."""
    step_fields: tuple[str, ...] = ()
    """Keys of its request kept beside ``Arguments`` in the definition (QualityCheck's ``SkipCheck``, ...): merged
    into its arguments, so they are checked, resolved and cached alike."""
    branches: tuple[tuple[str, bool], ...] = ()
    """Keys of its request holding nested steps, with the outcome under which they run (Condition's)."""
    inputs: tuple[Location, ...] = ()
    """Where it reads objects from S3 that must be in the object store before the run (unless a step writes them)."""
    outputs: tuple[Location, ...] = ()
    """Where it writes to S3."""
    job_process: bool = False
    """Whether its work runs in a job process of its own (else in the runner's process)."""
    describe: str | None = None
    """The Describe* operation that answers for the job it runs (its properties are that answer's shape)."""
    job_name_length: int = MAX_JOB_NAME
    """The longest name its job may have (a tuning job's is 32 characters)."""

    def __post_init__(self) -> None:
        given = [part for part in (self.executor, self.evaluator, self.refused) if part is not None]
        if len(given) != 1:
            raise ValueError(f"step type {self.name}: give exactly one of executor, evaluator and refused")

    @property
    def engine_evaluated(self) -> bool:
        """Evaluated by the engine itself (Condition, Fail), with no job."""
        return self.evaluator is not None

    def arguments_of(self, step: Mapping[str, Any]) -> dict[str, Any]:
        """The step's request as this type reads it from its definition entry."""
        if self.evaluator is not None:
            return self.evaluator.arguments(step)
        arguments: dict[str, Any] = step["Arguments"] if isinstance(step.get("Arguments"), dict) else {}
        return {**arguments, **{key: step[key] for key in self.step_fields if step.get(key) is not None}}

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        """Why a step of this type cannot run here, checked before the execution starts (empty: it can)."""
        runner = self.executor or self.evaluator
        return runner.problems(arguments) if runner is not None else []

    def references(self, arguments: dict[str, Any]) -> Any:
        """The part of ``arguments`` whose expressions the step reads."""
        return self.evaluator.references(arguments) if self.evaluator is not None else arguments


def refused(name: str, why: str, metadata: str) -> StepType:
    """A step type the local runtime cannot run, and why: its table line until a module runs it."""
    return StepType(name, AwsStep(metadata), refused=why)
