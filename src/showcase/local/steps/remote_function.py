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
entry point, unchanged, with this interpreter (the image's Python, stood in for: the client's Python must be
the same major.minor, as the bootstrap requires) inside the job's own ``/opt/ml``, reaching S3 through the local
AWS API (``JobContext.aws_environment``, as every job does). The dependency file (``dependencies=``, in the
``pre_exec_script_and_dependencies`` channel) is checked against this environment, not installed, as a
script-mode ``requirements.txt`` is (``images.requirements``). Refused, naming the step and why: a definition
built with the SDK v2 (its entry point is v2's, which this interpreter does not have), another Python,
a conda environment or a conda ``.yml`` file, ``pre_execution_commands``/``pre_execution_script`` (shell
commands that would change this environment), ``include_local_workdir`` (its workspace archive), Spark.
"""

from __future__ import annotations

import json
import sys
from typing import Any

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
    sdk = options.get("--client_sagemaker_pysdk_version")
    if isinstance(sdk, str) and not sdk.startswith("3."):
        found.append(
            f"it was built with the SageMaker Python SDK {sdk}, whose entry point ({ENTRY_POINT.replace('.core', '')}) "
            "local jobs do not have: they run the SDK v3's; build the module with the SDK v3 "
            "(sagemaker.mlops.workflow.function_step.step)"
        )
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
    channels = stage_channels(context)
    dependencies = host_path(context.work_dir, f"/opt/ml/input/data/{DEPENDENCIES_CHANNEL}")
    if (dependencies / PRE_EXECUTION_SCRIPT).is_file():
        raise fail(
            context,
            "ClientError: pre_execution_commands and pre_execution_script are not run locally: they would change the "
            "runtime's environment; install what they install in it instead, and drop them",
        )
    dependency_file = json.loads(str(_options(context.arguments).get("--dependency_settings") or "{}"))
    if isinstance(dependency_file.get("dependency_file"), str):
        file_name = dependency_file["dependency_file"]
        user_code.check_requirements(
            context, dependencies / file_name, f"/opt/ml/input/data/{DEPENDENCIES_CHANNEL}/{file_name}"
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
    command = [sys.executable, "-m", ENTRY_POINT, *words]
    run_job_process(context, "TrainingJob", name, command, env=env, cwd=workspace, in_view=True)
    return Trained(hyperparameters={}, archives=user_code.archives(context))
