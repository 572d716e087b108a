"""Statuses, in SageMaker's words: one enum per kind of thing that has a status.

Each enum is ``str``-valued, so a member *is* its SageMaker string: it compares equal to the string
an API response or a saved record holds, and JSON, templates and f-strings show the plain word
(``f"{StepStatus.FAILED}"`` is ``Failed``). Parse a string with ``StepStatus(text)``.

    ExecutionStatus   PipelineExecutionStatus        Executing, Stopping, Stopped, Failed, Succeeded
    StepStatus        ListPipelineExecutionSteps'    Starting, Executing, Stopping, Stopped, Failed, Succeeded
                      StepStatus, plus the local     NotStarted (not reached yet), Skipped (a branch not
                      runtime's three words          taken), Cached (a cache hit)
    JobStatus         TrainingJobStatus,             InProgress, Completed, Failed, Stopping, Stopped
                      ProcessingJobStatus,
                      TransformJobStatus and
                      HyperParameterTuningJobStatus
    ApprovalStatus    ModelApprovalStatus            PendingManualApproval, Approved, Rejected
    MonitoringStatus  MonitoringExecutionStatus      Pending, InProgress, Completed, CompletedWithViolations,
                                                     Failed, Stopping, Stopped
    EndpointStatus    EndpointStatus                 OutOfService, Creating, Updating, SystemUpdating, RollingBack,
                                                     InService, Deleting, Failed, UpdateRollbackFailed
"""

from __future__ import annotations

from enum import Enum


class _Word(str, Enum):
    """A status word: a ``str`` whose ``str()`` and ``format()`` are the word itself on every Python."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class ExecutionStatus(_Word):
    EXECUTING = "Executing"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"


class StepStatus(_Word):
    NOT_STARTED = "NotStarted"
    STARTING = "Starting"
    EXECUTING = "Executing"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"
    SKIPPED = "Skipped"
    CACHED = "Cached"


class JobStatus(_Word):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class ApprovalStatus(_Word):
    PENDING_MANUAL_APPROVAL = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"


class MonitoringStatus(_Word):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    COMPLETED_WITH_VIOLATIONS = "CompletedWithViolations"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class EndpointStatus(_Word):
    OUT_OF_SERVICE = "OutOfService"
    CREATING = "Creating"
    UPDATING = "Updating"
    SYSTEM_UPDATING = "SystemUpdating"
    ROLLING_BACK = "RollingBack"
    IN_SERVICE = "InService"
    DELETING = "Deleting"
    FAILED = "Failed"
    UPDATE_ROLLBACK_FAILED = "UpdateRollbackFailed"


TERMINAL: frozenset[str] = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.STOPPED, StepStatus.SKIPPED, StepStatus.CACHED}
)
"""The statuses an execution or a step never leaves (an execution ends Succeeded, Failed or Stopped)."""

DONE: frozenset[str] = frozenset({StepStatus.SUCCEEDED, StepStatus.CACHED})
"""The step statuses whose properties later steps may read."""
