"""The contract between the local engine and the step executors: what a job step gets, and what it returns.

The engine (``showcase.local.engine``) parses a pipeline definition, resolves each step's
``Arguments`` (parameters, execution variables, other steps' properties, ``Std:Join``,
``Std:JsonGet``) and hands the resolved arguments to the executor its step type declares
(``showcase.local.steptype``). An executor runs the job and returns the properties that later steps may
reference — the same shape as SageMaker's ``Describe*`` response for that step type, e.g.
``{"ProcessingOutputConfig": {"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": ...}}]}}``
for Processing, ``{"ModelArtifacts": {"S3ModelArtifacts": ...}}`` for Training,
``{"ModelPackageArn": ...}`` for RegisterModel.

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
from collections.abc import Callable, Mapping
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
    key_attributes: tuple[str, ...] | None = None
    """The arguments its step type keys its cache on: what, changed, would rerun it (None: all of them)."""


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
    job_name: str = ""
    """The name of the job this attempt runs: the engine names it by ``job_name`` within its step type's
    ``job_name_length``; a tuning job names its trials. Left empty, it is ``job_name(execution_id, step_name)``."""
    stop: threading.Event | None = None
    """Set by another thread to stop the job as StopTrainingJob does (a tuning job's early stopping, a stop of
    the execution): its process gets SIGTERM, then SIGKILL, and the executor raises ``JobStopped``. The engine
    gives every step a ``JobStop``, whose ``hurry`` cuts the grace short."""
    home: Path | None = None
    """The home the execution runs in (a Callback step keeps its token and reads its queue there)."""
    aws_environment: Callable[[], Mapping[str, str]] = dict
    """The AWS settings a job's process gets (``AWS_ENDPOINT_URL`` of the local API over the home, fixed
    credentials, the region: ``processes.awsapi``); the first call may wait for the API to listen."""

    def __post_init__(self) -> None:
        if not self.job_name:
            object.__setattr__(self, "job_name", job_name(self.execution_id, self.step_name))


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
    """Runs the jobs of one step type (its ``StepType`` declares the rest)."""

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
