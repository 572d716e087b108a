"""Training that runs the user's own code in a framework image, with the host's Python.

Two shapes, as the SageMaker SDK emits them:

- **Script mode** (SDK v2 framework estimators): ``HyperParameters`` carry ``sagemaker_program`` (the
  script, JSON-quoted) and ``sagemaker_submit_directory`` (an ``s3://`` URI of a ``sourcedir.tar.gz``, or of
  a prefix holding the source). The source is staged into ``/opt/ml/code`` (the archive extracted
  defensively), and ``python <program> --name value ...`` runs there, the other hyperparameters JSON-decoded
  and passed as arguments as the sagemaker-training toolkit does.
- **A container entrypoint**: ``AlgorithmSpecification.ContainerEntrypoint`` (+ ``ContainerArguments``).
  ``python``/``python3`` becomes this interpreter; its script must lie in a staged channel
  (``/opt/ml/input/data/<channel>/...``) or in ``/opt/ml/code`` (staged from ``sagemaker_submit_directory``).
  Where jobs get their own ``/opt/ml`` (``container``), another host program may run too: SDK v3
  ``ModelTrainer(source_code=...)`` jobs run SageMaker's ``sm_train.sh`` driver in bash, as in the image.
  Elsewhere every word that is (or starts with, or is ``--flag=``) a path under ``/opt/ml`` is rewritten to
  its place in the job's directory, and the v3 driver, which hard-codes ``/opt/ml``, is refused.

A ``requirements.txt`` in the source (script mode), or the file SDK v3's driver installs
(``SourceCode(requirements=...)``), is checked against this environment before the job starts, not installed:
a job asking for what is not installed is refused, naming each unmet requirement (``requirements``).

Both run as a subprocess (no shell) with the host environment minus ``AWS_*``, the job's ``Environment``
and SageMaker's training environment (``training_env``), naming ``/opt/ml`` paths (host paths without the
view). After a zero exit everything under ``/opt/ml/model`` becomes ``model.tar.gz`` and, if the script wrote any,
``/opt/ml/output/data`` becomes ``output.tar.gz``.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from showcase.archives import ArchiveError, extract_model_archive, write_model_archive
from showcase.local.images import requirements
from showcase.local.jobs import JobContext
from showcase.local.processes import container
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.local.steps.common import (
    PYTHON_PROGRAM,
    Trained,
    container_argument,
    fail,
    host_path,
    instance_type,
    is_expression,
    job_view,
    run_job_process,
    stage,
    stage_channels,
)
from showcase.local.steps.standins import image_problem
from showcase.local.steps.training_env import (
    ScriptInfo,
    command_line_arguments,
    decode_hyperparameter,
    raw_hyperparameters,
    training_environment,
    user_hyperparameters,
)
from showcase.store import StoreError
from showcase.store.objects import job_files

PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
CODE_DIR = "/opt/ml/code"
CHANNELS_DIR = "/opt/ml/input/data"
V3_DRIVER = "sm_train.sh"
_V3_DRIVER_PATH = re.compile(r"/opt/ml/[^\s'\"&;|]*/sm_train\.sh")
V3_REFUSAL = (
    "SDK v3 ModelTrainer source_code jobs run SageMaker's sm_train.sh driver, which reads and writes /opt/ml "
    "itself, and jobs cannot have their own /opt/ml on this host; use the v2 script-mode shape or a processing step"
)


# -- which shape --------------------------------------------------------------------------------------


def has_entrypoint(arguments: dict[str, Any]) -> bool:
    spec = arguments.get("AlgorithmSpecification")
    return isinstance(spec, dict) and spec.get("ContainerEntrypoint") is not None


def is_script_mode(arguments: dict[str, Any]) -> bool:
    hyperparameters = arguments.get("HyperParameters")
    return isinstance(hyperparameters, dict) and bool({PROGRAM, SUBMIT_DIRECTORY} & set(hyperparameters))


# -- problems (static: arguments may still hold expressions) ------------------------------------------


def script_mode_problems(arguments: dict[str, Any]) -> list[str]:
    found = _image_problems(arguments)
    hyperparameters = arguments["HyperParameters"]
    program = hyperparameters.get(PROGRAM)
    if program is None:
        found.append(f"script mode needs HyperParameters.{PROGRAM} (the entry point script) as well")
    elif not is_expression(program) and (problem := _script_problem(decode_hyperparameter(program))):
        found.append(f"HyperParameters.{PROGRAM} {program!r}: {problem}")
    found += _submit_directory_problems(hyperparameters, required=True)
    return found


def entrypoint_problems(arguments: dict[str, Any]) -> list[str]:
    spec = arguments["AlgorithmSpecification"]
    entrypoint, extra = spec.get("ContainerEntrypoint"), spec.get("ContainerArguments") or []
    words = [*(entrypoint if isinstance(entrypoint, list) else []), *(extra if isinstance(extra, list) else [])]
    view = container.availability()
    if any(isinstance(word, str) and V3_DRIVER in word for word in words) and not view.available:
        return [f"{V3_REFUSAL} ({view.reason})"]
    found = _image_problems(arguments)
    if is_expression(entrypoint):
        return found
    program = entrypoint[0] if isinstance(entrypoint, list) and entrypoint else None
    if view.available and isinstance(program, str) and not PYTHON_PROGRAM.match(PurePosixPath(program).name):
        # With its own /opt/ml a job may run a host program (SageMaker's sm_train.sh driver runs in bash).
        if shutil.which(program) is None:
            found.append(f"AlgorithmSpecification.ContainerEntrypoint program {program!r} is not on this host")
        return found
    if not isinstance(program, str) or not PYTHON_PROGRAM.match(PurePosixPath(program).name):
        found.append(
            f"AlgorithmSpecification.ContainerEntrypoint {entrypoint!r}: only python/python3 running a script "
            "can train locally (a shell or another program needs the image itself); give e.g. "
            "['python3', '/opt/ml/input/data/code/train.py'] or use the v2 script-mode shape"
        )
        return found
    script = words[1] if len(words) > 1 else None
    if is_expression(script):
        return found
    hyperparameters = arguments.get("HyperParameters")
    has_code = isinstance(hyperparameters, dict) and SUBMIT_DIRECTORY in hyperparameters
    channels = [item.get("ChannelName") for item in arguments.get("InputDataConfig") or [] if isinstance(item, dict)]
    if not _staged_script(script, channels, has_code):
        where = [f"{CHANNELS_DIR}/<channel>/ (channels: {', '.join(map(str, channels)) or 'none'})"]
        where += [f"{CODE_DIR}/"] if has_code else []
        found.append(
            f"AlgorithmSpecification.ContainerEntrypoint: the script {script!r} must be a file the runtime stages, "
            f"under {' or '.join(where)}"
        )
    if isinstance(hyperparameters, dict):
        found += _submit_directory_problems(hyperparameters, required=False)
    return found


def _image_problems(arguments: dict[str, Any]) -> list[str]:
    return [problem for problem in [image_problem(arguments["AlgorithmSpecification"]["TrainingImage"])] if problem]


def _script_problem(program: object) -> str | None:
    if not isinstance(program, str) or not program.endswith(".py"):
        return "expected the name of a .py script (a JSON-quoted string, as the SDK writes it)"
    path = PurePosixPath(program)
    if path.is_absolute() or ".." in path.parts:
        return "expected a path inside the source directory"
    return None


def _submit_directory_problems(hyperparameters: dict[str, Any], *, required: bool) -> list[str]:
    submit = hyperparameters.get(SUBMIT_DIRECTORY)
    if submit is None:
        return [f"script mode needs HyperParameters.{SUBMIT_DIRECTORY} (the source's s3:// URI)"] if required else []
    if is_expression(submit):
        return []
    decoded = decode_hyperparameter(submit)
    if not isinstance(decoded, str) or not decoded.startswith("s3://"):
        return [
            f"HyperParameters.{SUBMIT_DIRECTORY} {submit!r}: expected the s3:// URI of a sourcedir.tar.gz or "
            "of a prefix holding the source (local file:// sources are not supported)"
        ]
    return []


def _staged_script(script: object, channels: list[Any], has_code: bool) -> bool:
    if not isinstance(script, str) or ".." in PurePosixPath(script).parts:
        return False
    if has_code and script.startswith(CODE_DIR + "/"):
        return True
    parts = PurePosixPath(script).parts
    prefix = PurePosixPath(CHANNELS_DIR).parts
    return (
        len(parts) > len(prefix) + 1
        and parts[: len(prefix)] == prefix
        and any(is_expression(name) or parts[len(prefix)] == name for name in channels)
    )


# -- running ------------------------------------------------------------------------------------------


def run_script_mode(context: JobContext, name: str) -> Trained:
    raw = raw_hyperparameters(context.arguments)
    program = str(decode_hyperparameter(raw[PROGRAM]))
    submit = str(decode_hyperparameter(raw[SUBMIT_DIRECTORY]))
    channels = stage_channels(context)
    code_dir = _stage_source(context, submit)
    if not (code_dir / program).is_file():
        present = sorted(path.relative_to(code_dir).as_posix() for path in code_dir.rglob("*.py"))
        raise fail(
            context,
            f"ClientError: {PROGRAM} {program!r} is not in the source at {submit} "
            f"(its Python files: {', '.join(present) or 'none'})",
        )
    check_requirements(context, code_dir / "requirements.txt", f"{CODE_DIR}/requirements.txt")
    hyperparameters = user_hyperparameters(raw)
    arguments = command_line_arguments(hyperparameters)
    in_view = job_view(context)
    env = training_environment(
        context.work_dir,
        job_name=name,
        channels=channels,
        hyperparameters=hyperparameters,
        script=ScriptInfo(entry_point=program, module_dir=submit, arguments=arguments),
        instance_type=instance_type(context),
        in_view=in_view,
    )
    _execute(context, name, [sys.executable, program, *arguments], env, cwd=code_dir, in_view=in_view)
    return Trained(hyperparameters=raw, archives=archives(context))


def run_entrypoint(context: JobContext, name: str) -> Trained:
    raw = raw_hyperparameters(context.arguments)
    spec = context.arguments["AlgorithmSpecification"]
    words = [*spec["ContainerEntrypoint"], *(spec.get("ContainerArguments") or [])]
    if not all(isinstance(word, (str, int, float)) for word in words):
        raise fail(context, f"ContainerEntrypoint and ContainerArguments must be strings, got {words!r}")
    channels = stage_channels(context)
    if SUBMIT_DIRECTORY in raw:
        _stage_source(context, str(decode_hyperparameter(raw[SUBMIT_DIRECTORY])))
    for driver_path in {path for word in words[1:] for path in _V3_DRIVER_PATH.findall(str(word))}:
        driver = host_path(context.work_dir, driver_path)
        found = requirements.v3_requirements_file(driver, context.work_dir) if driver.is_file() else None
        if found is not None:
            check_requirements(context, found, f"{CONTAINER_ROOT}/{found.relative_to(context.work_dir).as_posix()}")
    in_view = job_view(context)
    program = str(words[0])
    command = [sys.executable if PYTHON_PROGRAM.match(PurePosixPath(program).name) else program]
    try:
        command += [str(word) if in_view else container_argument(context.work_dir, str(word)) for word in words[1:]]
    except ValueError as exc:
        raise fail(context, f"ContainerArguments: {exc}") from exc
    env = training_environment(
        context.work_dir,
        job_name=name,
        channels=channels,
        hyperparameters=user_hyperparameters(raw),
        instance_type=instance_type(context),
        in_view=in_view,
    )
    _execute(context, name, command, env, cwd=context.work_dir, in_view=in_view)
    return Trained(hyperparameters=raw, archives=archives(context))


def check_requirements(
    context: JobContext,
    path: Path,
    shown: str,
    *,
    packages: Path | None = None,
    environment: str = "this environment",
    refusal: Callable[[str, str, list[str]], str] = requirements.refusal,
) -> None:
    """Refuse the job when its requirements file asks for what the environment it runs in lacks (see
    ``requirements``): this one, or the one whose ``site-packages`` is ``packages``, called ``environment`` in the
    log, with ``refusal``'s line."""
    if not path.is_file():
        return
    problems = requirements.unmet(path, packages=packages)
    if problems:
        raise fail(context, refusal(context.step_name, shown, problems))
    context.log.write(f"{shown}: every requirement is met by {environment} (a local job installs nothing)\n")


def _stage_source(context: JobContext, submit: str) -> Path:
    code_dir = host_path(context.work_dir, CODE_DIR)
    what = f"the source ({SUBMIT_DIRECTORY})"
    if not submit.endswith(".tar.gz"):
        stage(context, what, submit, code_dir)
        return code_dir
    files = stage(context, what, submit, context.work_dir / "source")
    if len(files) != 1:
        raise fail(context, f"ClientError: {SUBMIT_DIRECTORY} {submit} should be one .tar.gz object")
    try:
        extract_model_archive(files[0], code_dir)
    except ArchiveError as exc:
        raise fail(context, f"ClientError: {SUBMIT_DIRECTORY}: {exc}") from exc
    return code_dir


def _execute(
    context: JobContext, name: str, command: list[str], env: dict[str, str], *, cwd: Path, in_view: bool
) -> None:
    (context.work_dir / "output").mkdir(exist_ok=True)
    run_job_process(context, "TrainingJob", name, command, env=env, cwd=cwd, in_view=in_view)


def archives(context: JobContext, *, empty_model: bool = True) -> dict[str, Path]:
    """``model.tar.gz`` of ``/opt/ml/model`` (``empty_model``: even when it holds nothing) and, when the script
    wrote any, ``output.tar.gz`` of its data. A symbolic link that leads out of the job's directory fails the job."""
    archives = {}
    for file_name, container_dir, always in (
        ("model.tar.gz", "/opt/ml/model", empty_model),
        ("output.tar.gz", "/opt/ml/output/data", False),
    ):
        try:
            files = job_files(host_path(context.work_dir, container_dir), context.work_dir, str(CONTAINER_ROOT))
        except StoreError as exc:
            raise fail(context, f"AlgorithmError: {container_dir}: {exc}") from exc
        if files or always:
            try:
                archives[file_name] = write_model_archive(files, context.work_dir / "archives" / file_name)
            except ArchiveError as exc:
                raise fail(context, f"AlgorithmError: packaging {container_dir} as {file_name}: {exc}") from exc
            context.log.write(f"{file_name}: {len(files)} file(s) from {container_dir}\n")
    return archives
