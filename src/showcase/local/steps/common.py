"""Helpers shared by the step types' executors: container paths, staging from the object store, running a job's
process (``run_job_process``) and saying why it failed as SageMaker does.

Container paths: a job's ``/opt/ml/<rest>`` is ``<work_dir>/<rest>`` on the host, so
``/opt/ml/processing/input/code`` becomes ``<work_dir>/processing/input/code`` and a training
channel ``/opt/ml/input/data/train`` becomes ``<work_dir>/input/data/train``; the job itself sees
``work_dir`` as ``/opt/ml`` where the host allows it (``container``).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from showcase.errors import JobStopped, StepFailed
from showcase.local.jobs import JobContext
from showcase.local.processes import container
from showcase.local.processes.commands import clean_environment
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.local.processes.guard import SETUP_FAILED
from showcase.local.processes.subprocesses import Finished, run_logged
from showcase.names import shown
from showcase.settings import DEFAULT_ACCOUNT, DEFAULT_REGION, execution_role_arn
from showcase.store import StoreError

DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
PROCESSING_ROOT = "/opt/ml/processing"
MAX_LOCAL_PATH = 256
"""botocore shape ProcessingLocalPath's limit."""
RESOURCE_METADATA = "/opt/ml/metadata/resource-metadata.json"
RESOURCE_KINDS = {"ProcessingJob": "processing-job", "TrainingJob": "training-job", "TransformJob": "transform-job"}
"""A SageMaker job's kind -> the resource type in its ARN (a Lambda function's process is no SageMaker job: it
gets no resource metadata)."""
PYTHON_PROGRAM = re.compile(r"^python(\d+(\.\d+)*)?$")
"""An entrypoint program the host's interpreter stands in for (``python``, ``python3``, ``/usr/bin/python3.12``)."""


def is_expression(value: object) -> bool:
    """An unresolved pipeline expression (``{"Get": ...}``, ``{"Std:Join": ...}``, ...)."""
    return isinstance(value, dict) and any(key == "Get" or key.startswith("Std:") for key in value)


def job_arn(context: JobContext, kind: str, name: str) -> str:
    region = getattr(context.registry, "region", DEFAULT_REGION)
    account = getattr(context.registry, "account", DEFAULT_ACCOUNT)
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


def host_path(work_dir: Path, container_path: str) -> Path:
    """Map a container path under ``/opt/ml`` to its place in ``work_dir``."""
    path = PurePosixPath(container_path)
    if not path.is_relative_to(CONTAINER_ROOT) or ".." in path.parts:
        raise ValueError(f"{container_path!r} is not a path under {CONTAINER_ROOT}")
    return work_dir.joinpath(*path.relative_to(CONTAINER_ROOT).parts)


def container_argument(work_dir: Path, word: str, root: str = str(CONTAINER_ROOT)) -> str:
    """A command-line word naming a container path under ``root`` (alone or as ``--flag=path``) -> host path.

    Other words come back unchanged; raises ValueError for a path under ``root`` that escapes it (``..``).
    """
    flag, eq, value = word.partition("=") if word.startswith("-") else ("", "", word)
    if value != root and not value.startswith(root.rstrip("/") + "/"):
        return word
    return f"{flag}{eq}{host_path(work_dir, value)}"


def fail(context: JobContext, message: str) -> StepFailed:
    """A StepFailed for this step, its message also written to the step log."""
    context.log.write(f"ERROR: {message}\n")
    context.log.flush()
    return StepFailed(message, step_name=context.step_name, execution_id=context.execution_id)


def refuse(context: JobContext, problems: list[str]) -> None:
    """Fail the step with every reason its resolved arguments cannot run here (none: return)."""
    if problems:
        raise fail(context, "; ".join(problems))


def stage(context: JobContext, what: str, uri: object, dest: Path) -> list[Path]:
    """Copy ``uri`` (a single object or an S3Prefix) from the object store into ``dest``."""
    if not isinstance(uri, str):
        raise fail(context, f"{what}: expected an s3:// URI, got {uri!r}")
    try:
        files = context.store.download(uri, dest)
    except StoreError as exc:
        raise fail(context, f"{what}: {exc}") from exc
    context.log.write(f"staged {what} from {uri} ({len(files)} file(s)) into {dest}\n")
    return files


def stage_channels(context: JobContext) -> dict[str, dict[str, Any]]:
    """Stage every ``InputDataConfig`` channel into ``/opt/ml/input/data/<channel>``; name -> its config."""
    channels: dict[str, dict[str, Any]] = {}
    for channel in context.arguments.get("InputDataConfig") or []:
        name = str(channel["ChannelName"])
        directory = host_path(context.work_dir, f"/opt/ml/input/data/{name}")
        stage(context, f"channel {name!r}", channel["DataSource"]["S3DataSource"]["S3Uri"], directory)
        channels[name] = channel
    return channels


def job_view(context: JobContext) -> bool:
    """Whether the job gets its own /opt/ml; said in the step log when it does not."""
    view = container.availability()
    if not view.available:
        context.log.write(f"no /opt/ml of its own ({view.reason}): SM_* variables and arguments name host paths\n")
    return view.available


def instance_type(context: JobContext) -> str:
    """The job's ``ResourceConfig.InstanceType`` (``ml.m5.xlarge`` when it names none)."""
    found = (context.arguments.get("ResourceConfig") or {}).get("InstanceType")
    return found if isinstance(found, str) else DEFAULT_INSTANCE_TYPE


@dataclass(frozen=True)
class Trained:
    """What one way of training produced; the Training executor uploads and describes it."""

    hyperparameters: dict[str, str]
    """As the job's ``HyperParameters`` property (strings, as on SageMaker)."""
    archives: dict[str, Path]
    """``{"model.tar.gz": path, ...}``: uploaded to ``<S3OutputPath>/<job name>/output/<file name>``."""
    metrics: dict[str, float] = field(default_factory=dict)


def run_job_process(
    context: JobContext,
    kind: str,
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    in_view: bool = False,
    on_line: Callable[[str], None] | None = None,
    python: str = sys.executable,
) -> None:
    """Run a job's command as SageMaker would report it: log it, run it, turn a timeout or an exit into StepFailed.

    ``kind`` is ``ProcessingJob``, ``TrainingJob``, ``TransformJob`` or ``Lambda``; ``env`` is added to the
    host environment (less AWS_*), after the step's own ``Environment`` and the local API's settings
    (``context.aws_environment``);
    ``StoppingCondition.MaxRuntimeInSeconds`` bounds the run. The job finds its name, ARN and role in
    ``/opt/ml/metadata/resource-metadata.json`` (``write_resource_metadata``).
    ``in_view``: the job sees its ``work_dir`` as ``/opt/ml`` (``container``). A failed job's reason is what
    it wrote to ``/opt/ml/output/failure`` (training) or ``/opt/ml/output/message`` (processing), as on
    SageMaker; else the last line it wrote to stderr. ``on_line`` sees each line the job writes as it writes it;
    ``context.stop`` set stops the job (SIGTERM, then SIGKILL), and ``JobStopped`` is raised.
    ``python``: the interpreter the job runs with, which its ``python``, ``python3``, ``pip`` and ``pip3`` are
    (``container.job_tools``).
    """
    arguments = context.arguments
    job_env = {str(key): str(value) for key, value in (arguments.get("Environment") or {}).items()}
    context.log.write(
        f"{kind} {name}: {shlex.join(command)} (in {cwd}{', /opt/ml is ' + str(context.work_dir) if in_view else ''})\n"
    )
    context.log.flush()
    stopping = arguments.get("StoppingCondition") or {}
    if kind in RESOURCE_KINDS:
        write_resource_metadata(context, kind, name)
    aws = context.aws_environment()  # the local API's endpoint, fixed credentials, the region: over the step's own
    with container.job_tools(python) as tools, container.prepared(context.work_dir) as view:
        finished = run_logged(
            command,
            env=clean_environment({**tools, **job_env, **aws, **env}),
            cwd=cwd,
            log=context.log,
            timeout_s=stopping.get("MaxRuntimeInSeconds"),
            view=view if in_view else None,
            stop=context.stop,
            on_line=on_line,
        )
    if finished.returncode != 0 or finished.stopped or finished.timed_out:
        raise _ended_badly(context, kind, name, finished, in_view)


def write_resource_metadata(context: JobContext, kind: str, name: str) -> None:
    """``/opt/ml/metadata/resource-metadata.json``, as a SageMaker job finds it: the SageMaker SDK's
    ``get_execution_role()`` reads the job's role there (``ExecutionRoleArn``) and makes no AWS call."""
    account = getattr(context.registry, "account", DEFAULT_ACCOUNT)
    role = context.arguments.get("RoleArn")
    document = {
        "ResourceName": name,
        "ResourceArn": job_arn(context, RESOURCE_KINDS[kind], name),
        "ExecutionRoleArn": role if isinstance(role, str) and role else execution_role_arn(account),
    }
    path = host_path(context.work_dir, RESOURCE_METADATA)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


def _ended_badly(
    context: JobContext, kind: str, name: str, finished: Finished, in_view: bool
) -> JobStopped | StepFailed:
    """Why a job that did not exit 0 ended, as SageMaker reports it: Stopped, its timeout, the view that could not
    be set up, what it wrote to its failure or message file, or the last line of its stderr."""
    if finished.stopped:
        message = f"{kind} {name} was stopped (Stopped, as by StopTrainingJob)"
        context.log.write(f"{message}\n")
        context.log.flush()
        return JobStopped(message, step_name=context.step_name, execution_id=context.execution_id)
    if finished.timed_out:
        limit = (context.arguments.get("StoppingCondition") or {})["MaxRuntimeInSeconds"]
        return fail(context, f"{kind} {name} stopped: it ran longer than StoppingCondition.MaxRuntimeInSeconds={limit}")
    last = finished.stderr_tail[-1] if finished.stderr_tail else "(no output on stderr)"
    if in_view and finished.returncode == SETUP_FAILED and last.startswith("container view:"):
        return fail(context, f"{kind} {name} did not start: {last}; SHOWCASE_CONTAINER_VIEW=off runs jobs without it")
    report = container.read_report(
        context.work_dir, container.FAILURE_FILE if kind == "TrainingJob" else container.MESSAGE_FILE
    )
    if report:
        return fail(context, report)
    missing = (
        None
        if in_view
        else container.missing_path_reason(context.work_dir, finished.stderr_tail, container.availability().reason)
    )
    return fail(
        context,
        f"AlgorithmError: {kind} {name}: the script exited with code {finished.returncode}: "
        f"{missing or last} (the step log has the full output)",
    )


def local_path_problem(what: str, local_path: object) -> list[str]:
    """A LocalPath becomes a directory of the job: it stays under /opt/ml/processing, at most 256 characters
    (botocore shape ProcessingLocalPath), with no ``..`` and no NUL."""
    if not isinstance(local_path, str):
        return [] if is_expression(local_path) else [f"{what}.LocalPath is required"]
    outside = local_path != PROCESSING_ROOT and not local_path.startswith(PROCESSING_ROOT + "/")
    if outside or ".." in local_path.split("/") or "\x00" in local_path:
        return [f"{what}.LocalPath {shown(local_path)} must be under {PROCESSING_ROOT}/"]
    if len(local_path) > MAX_LOCAL_PATH:
        return [f"{what}.LocalPath is {len(local_path)} characters; ProcessingLocalPath is at most {MAX_LOCAL_PATH}"]
    return []
