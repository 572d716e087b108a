"""The Training executor: the built-in XGBoost algorithm, or the user's own code in a framework image.

Which way a step trains is read from its arguments through the ``SHAPES`` table (first match wins):
a ``ContainerEntrypoint`` or framework script mode (``sagemaker_program``) run user code (``user_code``);
anything else is the built-in algorithm (image repository ``sagemaker-xgboost``, ``xgboost_algorithm``), which
runs as a job process of its own as the user's code does (``showcase.local.images``), with SageMaker's
``/opt/ml/input/config/{hyperparameters,inputdataconfig,resourceconfig}.json``.

Channels ``InputDataConfig[].DataSource.S3DataSource.S3Uri`` (S3Prefix) are staged into
``<work_dir>/input/data/<channel>`` (the container's ``/opt/ml/input/data/<channel>``); the model is
written to ``<work_dir>/model`` and uploaded as ``model.tar.gz`` to
``<OutputDataConfig.S3OutputPath>/<TrainingJobName>/output/model.tar.gz``, where TrainingJobName is
``pipelines-<execution id>-<step name>`` (see ``jobs.job_name``). Failures carry the container's
prefixes: ``ClientError:`` for bad hyperparameters or data, ``AlgorithmError:`` otherwise; the algorithm's
own are what it wrote to ``/opt/ml/output/failure``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from showcase.clock import timestamp
from showcase.errors import JobStopped, RegistryError
from showcase.local import images
from showcase.local.images.hyperparameters import HyperparameterError, validate, version_problem
from showcase.local.images.xgboost_job import FinalMetrics
from showcase.local.jobs import JobContext
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.local.steps import remote_function, user_code
from showcase.local.steps.common import (
    Trained,
    fail,
    instance_type,
    is_expression,
    job_arn,
    job_view,
    refuse,
    run_job_process,
    stage_channels,
)
from showcase.local.steps.standins import image_problem, repository
from showcase.local.steps.training_env import raw_hyperparameters, training_environment
from showcase.local.steptype import AwsStep, Location, StepType
from showcase.names import CHANNEL_NAME, shown
from showcase.registry.provenance import TrainedArchives
from showcase.statuses import JobStatus
from showcase.store import StoreError

ALGORITHM_IMAGES = frozenset({"sagemaker-xgboost"})
"""Training images whose built-in algorithm runs locally (algorithm mode, no script)."""


@dataclass(frozen=True)
class Shape:
    """One way a Training step trains: when it applies, what stops it running here, how it runs."""

    name: str
    applies: Callable[[dict[str, Any]], bool]
    problems: Callable[[dict[str, Any]], list[str]]
    run: Callable[[JobContext, str], Trained]


def _algorithm_problems(arguments: dict[str, Any]) -> list[str]:
    image = arguments["AlgorithmSpecification"]["TrainingImage"]
    if not isinstance(image, str):
        return []
    if repository(image) not in ALGORITHM_IMAGES:
        return [
            f"image {image} is not a built-in algorithm the local runtime can train "
            f"(supported repositories: {', '.join(sorted(ALGORITHM_IMAGES))}); to run your own code in a "
            "framework image, use script mode (sagemaker_program) or a python ContainerEntrypoint"
        ]
    return [problem for problem in [image_problem(image), version_problem(image)] if problem]


def _run_algorithm(context: JobContext, name: str) -> Trained:
    """The built-in algorithm as a job process of its own (``showcase.local.images``): the runner stages the channels,
    writes ``/opt/ml/input/config/*.json``, reads the per-round lines as they come and archives ``/opt/ml/model``."""
    arguments = context.arguments
    hyperparameters = raw_hyperparameters(arguments)
    image = str(arguments["AlgorithmSpecification"]["TrainingImage"])
    try:
        validate(hyperparameters, image)  # as CreateTrainingJob would: before any data is staged
    except HyperparameterError as exc:
        raise fail(context, f"ClientError: {exc}") from exc
    context.log.write(f"TrainingJob {name}: hyperparameters {hyperparameters}\n")
    channels = stage_channels(context)
    in_view = job_view(context)
    env = images.environment() | training_environment(
        context.work_dir,
        job_name=name,
        channels=channels,
        hyperparameters=hyperparameters,
        instance_type=instance_type(context),
        in_view=in_view,
    )
    root = str(CONTAINER_ROOT) if in_view else str(context.work_dir)
    final = FinalMetrics()
    command = images.command("xgboost", root, image)
    run_job_process(
        context, "TrainingJob", name, command, env=env, cwd=context.work_dir, in_view=in_view, on_line=final.read
    )
    return Trained(hyperparameters=hyperparameters, archives=user_code.archives(context), metrics=final.values)


NOTEBOOK_JOB_ENTRYPOINT = ["amazon_sagemaker_scheduler"]
"""What ``NotebookJobStep`` (a Training step) runs: the scheduler in SageMaker Distribution's image."""


def _is_notebook_job(arguments: dict[str, Any]) -> bool:
    return arguments["AlgorithmSpecification"].get("ContainerEntrypoint") == NOTEBOOK_JOB_ENTRYPOINT


def _notebook_job_problems(arguments: dict[str, Any]) -> list[str]:
    return [
        "a NotebookJobStep runs a notebook with SageMaker's headless execution scheduler (amazon_sagemaker_scheduler "
        "in the SageMaker Distribution image), which the local runtime does not have; run the notebook's code as a "
        "@step function or a processing script"
    ]


def _never(context: JobContext, name: str) -> Trained:
    raise fail(context, "; ".join(_notebook_job_problems(context.arguments)))


SHAPES: tuple[Shape, ...] = (
    Shape("notebook job", _is_notebook_job, _notebook_job_problems, _never),
    Shape("@step function", remote_function.applies, remote_function.problems, remote_function.run),
    Shape("container entrypoint", user_code.has_entrypoint, user_code.entrypoint_problems, user_code.run_entrypoint),
    Shape("script mode", user_code.is_script_mode, user_code.script_mode_problems, user_code.run_script_mode),
    Shape("built-in algorithm", lambda arguments: True, _algorithm_problems, _run_algorithm),
)


def shape_of(arguments: dict[str, Any]) -> Shape:
    return next(shape for shape in SHAPES if shape.applies(arguments))


class TrainingExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        spec = arguments.get("AlgorithmSpecification")
        if not isinstance(spec, dict) or "TrainingImage" not in spec:
            return ["a Training step needs AlgorithmSpecification.TrainingImage (AlgorithmName is not supported)"]
        found = shape_of(arguments).problems(arguments)
        if spec.get("TrainingInputMode") == "Pipe":
            found.append("TrainingInputMode Pipe is not supported locally; use File")
        channels = arguments.get("InputDataConfig") or []
        if not isinstance(channels, list):
            found.append(f"InputDataConfig must be a list of channels, got {shown(channels)}")
            channels = []
        for index, channel in enumerate(channels):
            found += _channel_name_problems(index, channel)
            data_source = channel.get("DataSource") if isinstance(channel, dict) else None
            source = data_source.get("S3DataSource") if isinstance(data_source, dict) else None
            if not isinstance(source, dict):
                found.append(f"InputDataConfig[{index}]: only S3DataSource channels run locally")
            elif source.get("S3DataType", "S3Prefix") not in ("S3Prefix",) and not is_expression(
                source.get("S3DataType")
            ):
                found.append(
                    f"InputDataConfig[{index}]: S3DataType {source.get('S3DataType')} is not supported locally"
                )
            elif isinstance(channel, dict) and channel.get("CompressionType") == "Gzip":
                found.append(f"InputDataConfig[{index}]: CompressionType Gzip is not supported locally")
        output = arguments.get("OutputDataConfig")
        if not isinstance(output, dict) or "S3OutputPath" not in output:
            found.append("a Training step needs OutputDataConfig.S3OutputPath")
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        arguments = context.arguments
        refuse(context, self.problems(arguments))
        name = context.job_name
        started = timestamp()
        output = f"{str(arguments['OutputDataConfig']['S3OutputPath']).rstrip('/')}/{name}/output"
        try:
            trained = shape_of(arguments).run(context, name)
        except JobStopped:
            # As SageMaker does for a stopped job: what the job saved in /opt/ml/model before it ended is uploaded
            # (nothing, when it saved nothing).
            _upload(context, output, user_code.archives(context, empty_model=False))
            raise
        _upload(context, output, trained.archives)
        ended = timestamp()
        model_uri = f"{output}/model.tar.gz"
        return _properties(context, name, trained.hyperparameters, model_uri, trained.metrics, started, ended)


def _channel_name_problems(index: int, channel: object) -> list[str]:
    """A channel's name becomes the directory ``/opt/ml/input/data/<channel>``: it follows ChannelName's rule."""
    name = channel.get("ChannelName") if isinstance(channel, dict) else None
    if is_expression(name):
        return []
    problem = CHANNEL_NAME.problem("ChannelName", name)
    return [f"InputDataConfig[{index}]: {problem}"] if problem else []


def _upload(context: JobContext, output: str, archives: dict[str, Path]) -> None:
    """Upload the job's archives; ``model.tar.gz`` is also noted, by its sha256, as one this home trained."""
    for file_name, archive in archives.items():
        try:
            context.store.put_file(f"{output}/{file_name}", archive)
            if file_name == "model.tar.gz":
                TrainedArchives(context.registry.path).record(
                    archive, uri=f"{output}/{file_name}", job_name=context.job_name
                )
        except (StoreError, RegistryError) as exc:
            raise fail(context, f"uploading {file_name}: {exc}") from exc
        context.log.write(f"uploaded {file_name} to {output}/{file_name}\n")


def _properties(
    context: JobContext,
    name: str,
    hyperparameters: dict[str, str],
    model_uri: str,
    metrics: dict[str, float],
    started: str,
    ended: str,
) -> dict[str, Any]:
    arguments = context.arguments
    properties: dict[str, Any] = {
        key: arguments[key]
        for key in ("InputDataConfig", "OutputDataConfig", "ResourceConfig", "StoppingCondition", "RoleArn")
        if key in arguments
    }
    seconds = int((datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds())
    properties.update(
        TrainingJobName=name,
        TrainingJobArn=job_arn(context, "training-job", name),
        TrainingJobStatus=JobStatus.COMPLETED,
        SecondaryStatus="Completed",
        AlgorithmSpecification=arguments["AlgorithmSpecification"],
        HyperParameters=hyperparameters,
        ModelArtifacts={"S3ModelArtifacts": model_uri},
        FinalMetricDataList=[
            {"MetricName": metric, "Value": value, "Timestamp": ended} for metric, value in metrics.items()
        ],
        CreationTime=started,
        TrainingStartTime=started,
        TrainingEndTime=ended,
        LastModifiedTime=ended,
        TrainingTimeInSeconds=seconds,
        BillableTimeInSeconds=0,
    )
    return properties


STEP = StepType(
    "Training",
    AwsStep("TrainingJob", "TrainingJobArn", "training-job"),
    executor=TrainingExecutor(),
    cacheable=True,
    cache_key=(
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
    inputs=(
        Location("InputDataConfig[].DataSource.S3DataSource.S3Uri", named_by="ChannelName"),
        Location(f"HyperParameters.{user_code.SUBMIT_DIRECTORY}", json_quoted=True),
    ),
    outputs=(Location("OutputDataConfig.S3OutputPath"),),
    job_process=True,
    describe="DescribeTrainingJob",
)
