"""The contract between the local engine and the step executors.

The engine (``showcase.local.engine``) parses a pipeline definition, resolves each step's
``Arguments`` (parameters, execution variables, other steps' properties, ``Std:Join``,
``Std:JsonGet``) and hands the resolved arguments to the executor registered for the step's
``Type``. An executor runs the job and returns the properties that later steps may reference —
the same shape as SageMaker's ``Describe*`` response for that step type, e.g.
``{"ProcessingOutputConfig": {"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": ...}}]}}``
for Processing, ``{"ModelArtifacts": {"S3ModelArtifacts": ...}}`` for Training,
``{"ModelPackageArn": ...}`` for RegisterModel.

A step type that keeps part of its request beside ``Arguments`` (QualityCheck's ``SkipCheck``,
``RegisterNewBaseline``, ...) names those keys in its executor's optional ``step_fields`` tuple: the
definition parser merges them into the arguments, so they are checked, resolved and cached alike.

An executor reports a failed job by raising ``StepFailed`` whose message is the failure reason
shown to the user (as SageMaker's ``FailureReason``); anything it writes to ``context.log`` ends
up in the step's log file.

``context.parameters`` and ``context.upstream`` describe the execution around the step (its parameter
values; the steps it depends on, directly or not, with their resolved arguments): what an executor needs
to record lineage, as the RegisterModel executor does.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from showcase.registry import Registry
    from showcase.store import ObjectStore

MAX_JOB_NAME = 63


def job_name(execution_id: str, step_name: str, max_length: int = MAX_JOB_NAME) -> str:
    """The name of the job a pipeline step starts: ``pipelines-<execution id>-<step name>``.

    The one naming rule: the engine gives it to the step as ``Execution.TrainingJobName`` /
    ``Execution.ProcessingJobName``, and the executor names (and reports) its job by it. Deterministic,
    and valid as a SageMaker job or model name: letters, digits and hyphens, at most ``max_length``
    characters (a tuning job's name is at most 32), a digest of the whole standing in for what is cut.
    """
    raw = f"pipelines-{execution_id}-{step_name}"
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-zA-Z0-9-]", "-", raw)).strip("-")
    if len(name) > max_length:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
        name = name[: max_length - len(digest) - 1].rstrip("-") + "-" + digest
    return name


@dataclass(frozen=True)
class UpstreamStep:
    """A finished step an executor's step depends on."""

    name: str
    type: str
    status: str
    arguments: Mapping[str, Any]
    """Its resolved ``Arguments`` (empty for Condition steps and for records written before they were kept)."""
    properties: Mapping[str, Any]
    cached_from: str | None = None


@dataclass(frozen=True)
class JobContext:
    """Everything an executor may use to run one attempt of one step."""

    pipeline_name: str
    execution_id: str
    step_name: str
    step_type: str
    arguments: dict[str, Any]
    """The step's ``Arguments`` with every expression resolved to a plain JSON value."""
    work_dir: Path
    """An empty directory that belongs to this attempt; the job's container paths map into it."""
    log: TextIO
    """The step's log file, opened for writing text; subprocess output goes here too."""
    store: ObjectStore
    registry: Registry
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """The execution's parameter values (defaults merged with the overrides)."""
    upstream: tuple[UpstreamStep, ...] = ()
    """The steps this one depends on, directly or transitively, that succeeded (or were cached), in run order."""
    job_name: str | None = None
    """The job's name when the step's own name does not make it (a tuning job's trials); see ``common.job_name``."""
    stop: threading.Event | None = None
    """Set by another thread to stop the job as StopTrainingJob does (a tuning job's early stopping, a stop of
    the execution): its process gets SIGTERM, then SIGKILL, and the executor raises ``JobStopped``. The engine
    gives every step a ``JobStop``, whose ``hurry`` cuts the grace short."""


class JobStop(threading.Event):
    """A stop request for a job: set, its process group gets SIGTERM, and SIGKILL once the grace is over or as
    soon as ``hurry`` is called. A stop made ``within`` another counts as set (and hurried) once that one is:
    a tuning job's trials are stopped with their step, and each may also be stopped on its own (early stopping).
    """

    def __init__(self, within: threading.Event | None = None) -> None:
        super().__init__()
        self.within = within
        self._hurried = threading.Event()

    def is_set(self) -> bool:
        return super().is_set() or (self.within is not None and self.within.is_set())

    def hurry(self) -> None:
        """Stop now: SIGKILL, with no grace (a second Ctrl-C)."""
        self._hurried.set()
        self.set()

    def hurried(self) -> bool:
        return self._hurried.is_set() or (isinstance(self.within, JobStop) and self.within.hurried())


def hurried(stop: threading.Event | None) -> bool:
    """Whether ``stop`` asks for SIGKILL at once (a plain Event never does)."""
    return isinstance(stop, JobStop) and stop.hurried()


class Executor(Protocol):
    """Runs one step type."""

    cacheable: bool
    """Whether SageMaker's CacheConfig applies to this step type (jobs: yes; registration: no)."""

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        """Why this step cannot run here, checked before the execution starts (empty: it can).

        ``arguments`` are unresolved: expressions (dicts with ``Get``, ``Std:Join``, ...) may
        stand where values will be. Check only what is knowable statically: image, entrypoint,
        step shape.
        """
        ...

    def run(self, context: JobContext) -> dict[str, Any]:
        """Run the job; return its Describe*-shaped properties or raise ``StepFailed``."""
        ...
