"""The Processing executor: runs a processing job's script with the host's Python.

Inputs are staged from the object store into the job's directory at their ``LocalPath`` (``/opt/ml/<rest>``
is ``<work_dir>/<rest>``), ``python``/``python3`` becomes this interpreter (``sys.executable``), and after a
zero exit each output's ``LocalPath`` is uploaded to its ``S3Output.S3Uri`` (a symbolic link in it that leads out
of the job's directory fails the step, naming the output and the link). Where the host allows it the
job sees its directory as ``/opt/ml`` (``container``), so scripts that hard-code
``/opt/ml/processing/...`` run unchanged; elsewhere every argument that is (or starts with, or is
``--flag=``) a path under ``/opt/ml/processing`` is rewritten to the job's directory instead. The script
runs as a subprocess (no shell) in ``work_dir`` with the host environment minus ``AWS_*`` variables, plus
the job's ``Environment``; what it writes to ``/opt/ml/output/message`` is its ``ExitMessage``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from showcase.clock import timestamp
from showcase.local.jobs import JobContext
from showcase.local.processes import container
from showcase.local.steps.common import (
    PROCESSING_ROOT,
    PYTHON_PROGRAM,
    container_argument,
    fail,
    host_path,
    is_expression,
    job_arn,
    local_path_problem,
    refuse,
    run_job_process,
    stage,
)
from showcase.local.steps.standins import image_problem
from showcase.local.steptype import AwsStep, Location, StepType
from showcase.names import shown
from showcase.statuses import JobStatus
from showcase.store import StoreError


class ProcessingExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        app = arguments.get("AppSpecification")
        if not isinstance(app, dict) or "ImageUri" not in app:
            return ["a Processing step needs AppSpecification.ImageUri"]
        found = [problem for problem in [image_problem(app["ImageUri"])] if problem]
        found += _entrypoint_problems(app.get("ContainerEntrypoint"))
        for index, item in enumerate(_list(arguments.get("ProcessingInputs"))):
            found += _input_problems(index, item)
        outputs = arguments.get("ProcessingOutputConfig") or {}
        for index, item in enumerate(_list(outputs.get("Outputs") if isinstance(outputs, dict) else None)):
            found += _output_problems(index, item)
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        arguments = context.arguments
        refuse(context, self.problems(arguments))
        name = context.job_name
        started = timestamp()
        app = arguments["AppSpecification"]
        for index, item in enumerate(arguments.get("ProcessingInputs") or []):
            s3 = item["S3Input"]
            what = f"ProcessingInputs[{index}] ({item.get('InputName', '?')})"
            stage(context, what, s3.get("S3Uri"), host_path(context.work_dir, s3["LocalPath"]))
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for item in outputs:
            host_path(context.work_dir, item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
        (context.work_dir / "processing").mkdir(exist_ok=True)
        (context.work_dir / "output").mkdir(exist_ok=True)

        view = container.availability()
        if not view.available:
            context.log.write(f"no /opt/ml of its own ({view.reason}): container paths in arguments are mapped\n")
        words = [*app["ContainerEntrypoint"], *(app.get("ContainerArguments") or [])]
        command = _command(context, words, rewrite=not view.available)
        run_job_process(context, "ProcessingJob", name, command, env={}, cwd=context.work_dir, in_view=view.available)
        for item in outputs:
            _upload(context, item)
        ended = timestamp()
        properties: dict[str, Any] = {
            key: arguments[key]
            for key in ("ProcessingResources", "Environment", "StoppingCondition", "RoleArn", "NetworkConfig")
            if key in arguments
        }
        properties.update(
            ProcessingJobName=name,
            ProcessingJobArn=job_arn(context, "processing-job", name),
            ProcessingJobStatus=JobStatus.COMPLETED,
            ExitMessage=container.read_report(context.work_dir, container.MESSAGE_FILE),
            AppSpecification=app,
            ProcessingInputs=arguments.get("ProcessingInputs") or [],
            ProcessingOutputConfig=arguments.get("ProcessingOutputConfig") or {"Outputs": []},
            CreationTime=started,
            ProcessingStartTime=started,
            ProcessingEndTime=ended,
            LastModifiedTime=ended,
        )
        return properties


def _command(context: JobContext, parts: list[Any], *, rewrite: bool) -> list[str]:
    """The command to run: ``python``/``python3`` is this interpreter; without the container view, container
    paths are rewritten to the job's directory."""
    if not parts or not all(isinstance(part, (str, int, float)) for part in parts):
        raise fail(context, f"ContainerEntrypoint and ContainerArguments must be strings, got {parts!r}")
    words = [str(part) for part in parts]
    program = words[0]
    if PYTHON_PROGRAM.match(Path(program).name):
        program = sys.executable
    elif rewrite and program.startswith(PROCESSING_ROOT):
        program = _rewrite(context, program)
    if not rewrite:
        return [program, *words[1:]]
    return [program, *(_rewrite(context, word) for word in words[1:])]


def _rewrite(context: JobContext, word: str) -> str:
    """A container path under /opt/ml/processing (alone or as ``--flag=path``) -> its host path."""
    try:
        return container_argument(context.work_dir, word, PROCESSING_ROOT)
    except ValueError as exc:
        raise fail(context, f"argument {word!r}: {exc}") from exc


def _upload(context: JobContext, item: dict[str, Any]) -> None:
    s3 = item["S3Output"]
    local = host_path(context.work_dir, s3["LocalPath"])
    try:
        uris = context.store.upload_dir(
            local, s3["S3Uri"], within=context.work_dir, shown_as=str(container.CONTAINER_ROOT)
        )
    except StoreError as exc:
        raise fail(context, f"output {item.get('OutputName', '?')}: {exc}") from exc
    context.log.write(f"uploaded output {item.get('OutputName')}: {len(uris)} object(s) to {s3['S3Uri']}\n")


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _entrypoint_problems(entrypoint: object) -> list[str]:
    if is_expression(entrypoint):
        return []
    if not isinstance(entrypoint, list) or not entrypoint:
        return [
            "AppSpecification.ContainerEntrypoint is required locally: the runtime cannot run an image's "
            "default entrypoint (give e.g. ['python3', '/opt/ml/processing/input/code/script.py'])"
        ]
    program = entrypoint[0]
    if not isinstance(program, str) or PYTHON_PROGRAM.match(Path(program).name) or program.startswith(PROCESSING_ROOT):
        return []
    if shutil.which(program) is None:
        return [f"ContainerEntrypoint program {program!r} is not available on this host"]
    return []


def _name_problem(what: str, item: dict[str, Any], key: str) -> list[str]:
    """InputName and OutputName are required strings (how properties and the logs name an input or output)."""
    name = item.get(key)
    if (isinstance(name, str) and name) or is_expression(name):
        return []
    return [f"{what}.{key} is required (a non-empty string), got {shown(name)}"]


def _input_problems(index: int, item: object) -> list[str]:
    what = f"ProcessingInputs[{index}]"
    if not isinstance(item, dict) or "S3Input" not in item:
        return [f"{what}: only S3Input inputs run locally (not DatasetDefinition)"]
    s3 = item["S3Input"]
    if not isinstance(s3, dict):
        return [f"{what}.S3Input must be an object"]
    found = _name_problem(what, item, "InputName") + local_path_problem(f"{what}.S3Input", s3.get("LocalPath"))
    unsupported = {
        "S3DataType": ("ManifestFile",),
        "S3InputMode": ("Pipe",),
        "S3CompressionType": ("Gzip",),
    }
    for key, values in unsupported.items():
        if s3.get(key) in values:
            found.append(f"{what}.S3Input.{key} {s3[key]} is not supported locally")
    return found


def _output_problems(index: int, item: object) -> list[str]:
    what = f"ProcessingOutputConfig.Outputs[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("S3Output"), dict):
        return [f"{what}: only S3Output outputs run locally (not FeatureStoreOutput)"]
    return _name_problem(what, item, "OutputName") + local_path_problem(
        f"{what}.S3Output", item["S3Output"].get("LocalPath")
    )


STEP = StepType(
    "Processing",
    AwsStep("ProcessingJob", "ProcessingJobArn", "processing-job"),
    executor=ProcessingExecutor(),
    cacheable=True,
    cache_key=("AppSpecification", "Environment", "ProcessingInputs"),
    inputs=(Location("ProcessingInputs[].S3Input.S3Uri"),),
    outputs=(Location("ProcessingOutputConfig.Outputs[].S3Output.S3Uri"),),
    job_process=True,
    describe="DescribeProcessingJob",
)
