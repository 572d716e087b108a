"""The project's exceptions.

    ShowcaseError                 every error this project raises on purpose
    ├── UsageError                a flag, keyword or file given by the user is wrong
    ├── DefinitionError           a pipeline definition cannot be run (cycle, unknown reference, ...)
    ├── StepFailed                a step of an execution failed (carries step_name, execution_id)
    ├── ExecutionFailed           a pipeline execution ended Failed or Stopped
    ├── RegistryError             the model registry refused a request
    │   ├── NoApprovedPackage     a model package group has no Approved package
    │   └── NoSuchModelPackageGroup  a model package group that does not exist
    ├── AwsError                  an AWS API call failed (translated from botocore at the boundary)
    ├── DeploymentCheckFailed     a deployed stack and its endpoint disagree, or one is unhealthy
    ├── StoreError                the local object store refused a request (showcase.store.errors)
    │   ├── InvalidUri            an s3:// URI that is malformed or would escape the store's root
    │   └── NoSuchKey             no object under that URI
    └── ArchiveError              a model archive is unreadable or holds an unsafe member (showcase.archives)

CLIs catch ShowcaseError at their entry point and print its message as one line, exiting non-zero.
"""

from __future__ import annotations

from showcase.statuses import ExecutionStatus


class ShowcaseError(Exception):
    """Root of every error raised on purpose by this project."""

    exit_code = 1


class UsageError(ShowcaseError):
    """A flag, keyword argument or input file given by the user is wrong."""

    exit_code = 2


class DefinitionError(ShowcaseError):
    """A pipeline definition is malformed or uses something that cannot be run."""

    exit_code = 2


class StepFailed(ShowcaseError):
    """A step failed; the message is the step's failure reason."""

    def __init__(self, message: str, *, step_name: str = "", execution_id: str = "") -> None:
        super().__init__(message)
        self.step_name = step_name
        self.execution_id = execution_id


class ExecutionFailed(ShowcaseError):
    """A pipeline execution ended in a status other than Succeeded."""

    def __init__(self, message: str, *, execution_id: str = "", status: str = ExecutionStatus.FAILED) -> None:
        super().__init__(message)
        self.execution_id = execution_id
        self.status = status


class RegistryError(ShowcaseError):
    """The model registry refused a request."""


class NoApprovedPackage(RegistryError):
    """A model package group holds no package with status Approved."""

    def __init__(self, group_name: str) -> None:
        super().__init__(
            f"model package group {group_name!r} has no Approved model package; "
            "run the pipeline, or approve a package, then try again"
        )
        self.group_name = group_name


class NoSuchModelPackageGroup(RegistryError):
    """A model package group that does not exist (in this region and account, or in the local registry)."""

    def __init__(self, group_name: str, hint: str = "") -> None:
        super().__init__(f"model package group {group_name!r} does not exist" + (f"; {hint}" if hint else ""))
        self.group_name = group_name


class AwsError(ShowcaseError):
    """An AWS API call failed; the message names the call and AWS's own error."""


class DeploymentCheckFailed(ShowcaseError):
    """The stack and the endpoint disagree, or one of them is not healthy."""

    def __init__(self, message: str, *, stack_name: str = "", endpoint_name: str = "") -> None:
        super().__init__(message)
        self.stack_name = stack_name
        self.endpoint_name = endpoint_name
