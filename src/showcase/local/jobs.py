"""The contract between the local engine and the step executors.

The engine (``showcase.local.engine``) parses a pipeline definition, resolves each step's
``Arguments`` (parameters, execution variables, other steps' properties, ``Std:Join``,
``Std:JsonGet``) and hands the resolved arguments to the executor registered for the step's
``Type``. An executor runs the job and returns the properties that later steps may reference —
the same shape as SageMaker's ``Describe*`` response for that step type, e.g.
``{"ProcessingOutputConfig": {"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": ...}}]}}``
for Processing, ``{"ModelArtifacts": {"S3ModelArtifacts": ...}}`` for Training,
``{"ModelPackageArn": ...}`` for RegisterModel.

An executor reports a failed job by raising ``StepFailed`` whose message is the failure reason
shown to the user (as SageMaker's ``FailureReason``); anything it writes to ``context.log`` ends
up in the step's log file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from showcase.registry import Registry
    from showcase.store import ObjectStore


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
