"""Training jobs that run a ``@step`` function: the SageMaker SDK's remote-function entry point, in the job.

The SDK's ``@step`` decorator (v3 ``sagemaker.mlops.workflow.function_step.step``, v2
``sagemaker.workflow.function_step.step``) makes a Training step whose ``ContainerEntrypoint`` is
``/bin/bash /opt/ml/input/data/sagemaker_remote_function_bootstrap/job_driver.sh`` with the job's options as
``ContainerArguments``. On SageMaker the driver runs ``bootstrap_runtime_environment.py`` (unpack the workspace,
run the pre-execution commands, pip- or conda-install the dependencies), then ``python -m
sagemaker.core.remote_function.invoke_function`` (v2: ``sagemaker.remote_function.invoke_function``), which
downloads the pickled function and arguments from S3 (verifying their signature against
``REMOTE_FUNCTION_SECRET_KEY``), calls the function and uploads its result (``results/payload.pkl``,
``metadata.json`` and, for a step whose value feeds another, ``results.json``) or its exception.

Here the runner does the bootstrap's part that can be done offline, and the job's process runs the SDK's own
entry point, unchanged, inside the job's own ``/opt/ml``, reaching S3 through the local AWS API
(``JobContext.aws_environment``, as every job does), with the Python of the SDK that built the step (read from
``--client_sagemaker_pysdk_version``, as the bootstrap reads it; the table ``RUNTIMES``): a function built with
the SDK v3 runs with this interpreter, one built with the SDK v2 with the SDK v2 environment's
(``showcase.v2env``, made from its lock on first use) and v2's entry point. Either is the image's Python, stood in
for, and the job's ``python``, ``python3``, ``pip`` and ``pip3`` are it (``container.job_tools``), as the image's
are the Python the bootstrap installed the client's SDK into: the client's Python must be the same major.minor, as
the bootstrap requires. The dependency file
(``dependencies=``, in the ``pre_exec_script_and_dependencies`` channel) is checked against that environment, not
installed, as a script-mode ``requirements.txt`` is (``images.requirements``). Refused, naming the step and why:
another SDK, one whose payloads carry an HMAC of ``REMOTE_FUNCTION_SECRET_KEY`` (before 2.256.0 and 3.2.0; the
SDK that runs the job checks a SHA-256 hash), another Python, a conda environment or a conda ``.yml`` file,
``pre_execution_commands``/``pre_execution_script`` (shell commands that would change the environment),
``include_local_workdir`` (its workspace archive), Spark.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from showcase import v2env
from showcase.errors import UsageError
from showcase.local.jobs import JobContext
from showcase.local.processes import container
from showcase.local.steps import user_code
from showcase.local.steps.common import (
    Trained,
    fail,
    host_path,
    instance_type,
    is_expression,
    run_job_process,
    stage_channels,
)
from showcase.local.steps.standins import image_problem, repository
from showcase.local.steps.training_env import training_environment

BOOTSTRAP_CHANNEL = "sagemaker_remote_function_bootstrap"
"""The channel holding ``job_driver.sh`` and the bootstrap scripts (v2 and v3 alike)."""
DRIVER = f"/opt/ml/input/data/{BOOTSTRAP_CHANNEL}/job_driver.sh"
DEPENDENCIES_CHANNEL = "pre_exec_script_and_dependencies"
PRE_EXECUTION_SCRIPT = "pre_exec.sh"
WORKSPACE = "sagemaker_remote_function_workspace"
"""The directory the SDK's driver changes into before it invokes the function."""
ENTRY_POINT = "sagemaker.core.remote_function.invoke_function"
"""The SDK v3's entry point (``job.py``'s ``ENTRYPOINT_SCRIPT``): the one this interpreter has."""
ENTRY_POINT_V2 = "sagemaker.remote_function.invoke_function"
"""The SDK v2's entry point: the one the SDK v2 environment has."""


@dataclass(frozen=True)
class Runtime:
    """Where the job of a function built with one major version of the SDK runs."""

    entry_point: str
    sha256_since: str
    """The first release whose payloads carry a SHA-256 hash (before it: an HMAC of REMOTE_FUNCTION_SECRET_KEY)."""
    in_v2_environment: bool


RUNTIMES = {
    "3": Runtime(ENTRY_POINT, "3.2.0", in_v2_environment=False),
    "2": Runtime(ENTRY_POINT_V2, "2.256.0", in_v2_environment=True),
}
"""By the major version of ``--client_sagemaker_pysdk_version`` (v2 and v3 ``job.py``: ``_check_sagemaker_version``
names the two releases)."""
REMOTE_FUNCTION_IMAGES = ("sagemaker-base-python", "sagemaker-distribution")
"""Repository prefixes of the images SageMaker offers for remote functions (besides its framework images)."""
UNSUPPORTED_OPTIONS = {
    "--job_conda_env": "job_conda_env (a conda environment in the image)",
    "--spark_config": "spark_config (a Spark application)",
    "--distribution": "a distributed run (torchrun or mpirun)",
}


def applies(arguments: dict[str, Any]) -> bool:
    """A Training step made by ``@step``: its entrypoint is the SDK's ``job_driver.sh`` from the bootstrap channel."""
    spec = arguments.get("AlgorithmSpecification")
    entrypoint = spec.get("ContainerEntrypoint") if isinstance(spec, dict) else None
    return isinstance(entrypoint, list) and DRIVER in entrypoint


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """``--name value`` pairs of ``ContainerArguments`` (``--property_references`` takes the rest in pairs)."""
    words = arguments["AlgorithmSpecification"].get("ContainerArguments") or []
    options: dict[str, Any] = {}
    for index, word in enumerate(words):
        if isinstance(word, str) and word.startswith("--"):
            following = words[index + 1] if index + 1 < len(words) else None
            options[word] = None if isinstance(following, str) and following.startswith("--") else following
    return options


def problems(arguments: dict[str, Any]) -> list[str]:
    """Why this @step job cannot run here, known from its definition."""
    found: list[str] = []
    image = arguments["AlgorithmSpecification"].get("TrainingImage")
    if isinstance(image, str) and not (repository(image) or "").startswith(REMOTE_FUNCTION_IMAGES):
        found += [problem for problem in [image_problem(image)] if problem]
    view = container.availability()
    if not view.available:
        found.append(
            f"a @step function's job needs its own /opt/ml, which jobs cannot have on this host ({view.reason})"
        )
    options = _options(arguments)
    found += [f"{what} is not supported locally" for option, what in UNSUPPORTED_OPTIONS.items() if option in options]
    found += _sdk_problems(options.get("--client_sagemaker_pysdk_version"))
    python = options.get("--client_python_version")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if isinstance(python, str) and python != here:
        found.append(
            f"it was built with Python {python} and a local job runs with this Python {here}, and the SDK's "
            "bootstrap requires the same major.minor (RuntimeEnvironmentError); build it with Python " + here
        )
    workspace = options.get("--func_step_s3_dir")
    channels = [item.get("ChannelName") for item in arguments.get("InputDataConfig") or [] if isinstance(item, dict)]
    if isinstance(workspace, str) and workspace in channels:
        found.append("include_local_workdir=True (the workspace archive) is not supported locally")
    found += _dependency_problems(options.get("--dependency_settings"))
    return found


def _sdk_problems(sdk: object) -> list[str]:
    if not isinstance(sdk, str):
        return []
    runtime = RUNTIMES.get(sdk.split(".")[0])
    if runtime is None:
        return [
            f"it was built with the SageMaker Python SDK {sdk} (ContainerArguments --client_sagemaker_pysdk_version): "
            "local jobs run @step functions built with the SDK v2 or v3; build the module with one of them"
        ]
    try:
        signed = Version(sdk) < Version(runtime.sha256_since)
    except InvalidVersion:
        return [f"--client_sagemaker_pysdk_version {sdk!r} is not a version of the SageMaker Python SDK"]
    if signed:
        return [
            f"it was built with the SageMaker Python SDK {sdk} (ContainerArguments --client_sagemaker_pysdk_version), "
            "whose payloads carry an HMAC of REMOTE_FUNCTION_SECRET_KEY, which the SDK a local job runs it with no "
            f"longer checks (it checks what SDK {runtime.sha256_since} and later write); build it with "
            f"sagemaker>={runtime.sha256_since}"
        ]
    return []


def _dependency_problems(settings: object) -> list[str]:
    if settings is None or is_expression(settings):
        return []
    try:
        dependency_file = json.loads(str(settings)).get("dependency_file")
    except (ValueError, AttributeError):
        return [f"--dependency_settings {settings!r} is not the SDK's JSON"]
    if isinstance(dependency_file, str) and not dependency_file.endswith(".txt"):
        return [
            f"dependencies={dependency_file!r}: a conda environment file cannot be checked locally; "
            "give a requirements.txt"
        ]
    return []


def run(context: JobContext, name: str) -> Trained:
    """Stage the channels, check the dependency file, then run the SDK's entry point in the job's ``/opt/ml``."""
    options = _options(context.arguments)
    runtime = RUNTIMES[str(options.get("--client_sagemaker_pysdk_version") or "3").split(".")[0]]
    python, packages = _interpreter(context, runtime)
    channels = stage_channels(context)
    dependencies = host_path(context.work_dir, f"/opt/ml/input/data/{DEPENDENCIES_CHANNEL}")
    if (dependencies / PRE_EXECUTION_SCRIPT).is_file():
        raise fail(
            context,
            "ClientError: pre_execution_commands and pre_execution_script are not run locally: they would change the "
            "runtime's environment; install what they install in it instead, and drop them",
        )
    dependency_file = json.loads(str(options.get("--dependency_settings") or "{}"))
    if isinstance(dependency_file.get("dependency_file"), str):
        file_name = dependency_file["dependency_file"]
        shown = f"/opt/ml/input/data/{DEPENDENCIES_CHANNEL}/{file_name}"
        if packages is None:
            user_code.check_requirements(context, dependencies / file_name, shown)
        else:
            user_code.check_requirements(
                context,
                dependencies / file_name,
                shown,
                packages=packages,
                environment="the SDK v2 environment",
                refusal=_v2_refusal,
            )
    workspace = context.work_dir / WORKSPACE
    workspace.mkdir(exist_ok=True)
    env = training_environment(
        context.work_dir,
        job_name=name,
        channels=channels,
        hyperparameters={},
        instance_type=instance_type(context),
        in_view=True,
    )
    words = [str(word) for word in context.arguments["AlgorithmSpecification"].get("ContainerArguments") or []]
    (context.work_dir / "output").mkdir(exist_ok=True)
    command = [python, "-m", runtime.entry_point, *words]
    run_job_process(context, "TrainingJob", name, command, env=env, cwd=workspace, in_view=True, python=python)
    return Trained(hyperparameters={}, archives=user_code.archives(context))


def _interpreter(context: JobContext, runtime: Runtime) -> tuple[str, Path | None]:
    """The Python the job runs with, and the ``site-packages`` its dependencies are checked against (None: this
    environment's)."""
    if not runtime.in_v2_environment:
        return sys.executable, None
    try:
        environment = v2env.ensure()
    except UsageError as exc:
        raise fail(
            context, f"ClientError: a function built with the SageMaker Python SDK v2 runs there: {exc}"
        ) from None
    context.log.write(
        f"built with the SDK v2: the job runs with the SDK v2 environment's Python ({environment.root})\n"
    )
    return str(environment.python), environment.site_packages


def _v2_refusal(step: str, shown: str, problems: list[str]) -> str:
    return (
        f"ClientError: step {step}: {shown} asks for {len(problems)} requirement(s) the SDK v2 "
        f"environment does not meet: {'; '.join(problems)}. A function built with the SDK v2 runs in that "
        "environment, which holds what its lock pins, and a local job installs nothing: drop them, or build the "
        "module with the SDK v3 to run it with the packages of the environment that runs the pipeline"
    )
