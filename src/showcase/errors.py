"""The project's exceptions: the whole tree, wherever each class is defined.

    ShowcaseError                   every error this project raises on purpose (exit code 1)
    ├── UsageError                  a flag, keyword or file given by the user is wrong (exit code 2)
    │   ├── ApprovalRefused         approving a Rejected package without force (registry.approval)
    │   └── NoSuchResource          what the user named is not in the home: an execution, a step, an endpoint
    │                               (exit code 1, as every "does not exist": the command line itself was fine)
    ├── DefinitionError             a pipeline definition cannot be run: cycle, unknown reference, ... (exit code 2)
    ├── StepFailed                  a step of an execution failed (carries step_name, execution_id)
    │   └── JobStopped              its job was stopped before it ended (StopTrainingJob; a tuning job's early stopping)
    ├── ExecutionFailed             a pipeline execution ended Failed or Stopped (carries execution_id, status)
    ├── RegistryError               the model registry refused a request
    │   ├── NoApprovedPackage       a model package group has no Approved package
    │   └── NoSuchModelPackageGroup a model package group that does not exist
    ├── AwsError                    an AWS API call failed (translated from botocore in aws.boundary)
    ├── DeploymentCheckFailed       a deployed stack and its endpoint disagree, or one is unhealthy
    ├── MonitoringError             a monitoring run cannot start: no such endpoint, no baseline, an unreadable one
    ├── FileWriteError              a file could not be written (disk full, no permission; carries path)
    ├── StoreError                  the local object store refused a request (store.errors)
    │   ├── InvalidUri              an s3:// URI that is malformed or would escape the store's root
    │   └── NoSuchKey               no object under that URI
    ├── ArchiveError                a model archive is unreadable or holds an unsafe member (archives)
    ├── ServingError                the local endpoint cannot be deployed, started or reached (serving.errors)
    │   ├── ModelLoadError          a model XGBoost cannot load (carries model_package_arn)
    │   ├── EndpointNotRunning      no live server for an endpoint name (carries endpoint_name)
    │   ├── DeploymentRolledBack    an update rolled back by itself (serving.rollout; carries endpoint_name, reason)
    │   └── PromotionNotApproved    a promotion nobody approved yet (carries model_package_arn, stage)
    ├── DashboardError              a request the dashboard cannot answer, with its HTTP status (dashboard.source)
    │   ├── NotFound                404: no execution, step, package, report or endpoint by that name
    │   ├── Conflict                409: the request contradicts the current state
    │   └── Unsupported             501: this source cannot do that
    ├── HyperparameterError         a hyperparameter the XGBoost container would reject (images.hyperparameters)
    ├── AlgorithmClientError        data or configuration the XGBoost container would reject
    │                               (images.xgboost_algorithm; reported as the container's "ClientError: ...")
    ├── AnalysisError               a dataset Model Monitor's analyzer cannot profile (images.analyzer;
    │                               the analyzer job's ExitMessage)
    └── ClarifyError                a dataset or model Clarify's stand-in cannot analyze (images.clarify;
                                    the Clarify job's ExitMessage)

Outside the tree on purpose: ``serving.codec.RequestError`` (an HTTP status and message the endpoint answers
a bad request with), and the container scripts' own ``preprocess.DataError`` and ``evaluate.EvaluationError``
(they import nothing from the project). Messages name what was expected, what came, and what to do next;
a message meant for one surface only (a CLI flag such as ``--force``) is phrased by that surface from the
error's attributes. CLIs catch ShowcaseError at their entry point (``cli.common.run_cli``) and print its
message as one line, exiting with its ``exit_code``; the dashboard turns it into an error page.
"""

from __future__ import annotations

from showcase.statuses import ExecutionStatus


class ShowcaseError(Exception):
    """Root of every error raised on purpose by this project."""

    exit_code = 1


class UsageError(ShowcaseError):
    """A flag, keyword argument or input file given by the user is wrong."""

    exit_code = 2


class NoSuchResource(UsageError):
    """A name the user gave (an execution id, a step, an endpoint) matches nothing in the home.

    A UsageError, so that code catching those still sees it (the local API answers it ResourceNotFound); its exit
    code is 1, the code of every "does not exist" (a model package, a group, a monitored endpoint): the command
    was understood, what it names is not there.
    """

    exit_code = 1


class DefinitionError(ShowcaseError):
    """A pipeline definition is malformed or uses something that cannot be run."""

    exit_code = 2


class StepFailed(ShowcaseError):
    """A step failed; the message is the step's failure reason."""

    def __init__(self, message: str, *, step_name: str = "", execution_id: str = "") -> None:
        super().__init__(message)
        self.step_name = step_name
        self.execution_id = execution_id


class JobStopped(StepFailed):
    """A job was stopped before it ended: its status is Stopped, not Failed."""


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


class FileWriteError(ShowcaseError):
    """A file this project writes could not be written; nothing was left half-written."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class DeploymentCheckFailed(ShowcaseError):
    """The stack and the endpoint disagree, or one of them is not healthy."""

    def __init__(self, message: str, *, stack_name: str = "", endpoint_name: str = "") -> None:
        super().__init__(message)
        self.stack_name = stack_name
        self.endpoint_name = endpoint_name


class MonitoringError(ShowcaseError):
    """A data-quality monitoring run cannot start: no such endpoint, no baseline, or a baseline it cannot read."""
