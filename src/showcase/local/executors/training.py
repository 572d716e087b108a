"""The Training executor: the built-in XGBoost algorithm, or the user's own code in a framework image.

Which way a step trains is read from its arguments through the ``SHAPES`` table (first match wins):
a ``ContainerEntrypoint`` or framework script mode (``sagemaker_program``) run user code (``user_code``);
anything else is the built-in algorithm (image repository ``sagemaker-xgboost``, ``xgboost_algorithm``).

Channels ``InputDataConfig[].DataSource.S3DataSource.S3Uri`` (S3Prefix) are staged into
``<work_dir>/input/data/<channel>`` (the container's ``/opt/ml/input/data/<channel>``); the model is
written to ``<work_dir>/model`` and uploaded as ``model.tar.gz`` to
``<OutputDataConfig.S3OutputPath>/<TrainingJobName>/output/model.tar.gz``, where TrainingJobName is
``pipelines-<execution id>-<step name>`` (see ``common.job_name``). Failures carry the container's
prefixes: ``ClientError:`` for bad hyperparameters or data, ``AlgorithmError:`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from showcase.archives import write_model_archive
from showcase.local.executors import user_code
from showcase.local.executors.common import (
    Trained,
    fail,
    host_path,
    is_expression,
    job_arn,
    job_name,
    refuse,
    stage_channels,
    timestamp,
)
from showcase.local.executors.hyperparameters import HyperparameterError, validate
from showcase.local.executors.images import image_problem, repository
from showcase.local.executors.training_env import as_text
from showcase.local.jobs import JobContext
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
    return [problem for problem in [image_problem(image)] if problem]


def _run_algorithm(context: JobContext, name: str) -> Trained:
    # Imported here: XGBoost (and the pandas, SciPy and scikit-learn it imports) costs about a second, which a
    # run whose training step is a cache hit need not pay.
    from showcase.local.executors import xgboost_algorithm as algorithm

    arguments = context.arguments
    raw_hyperparameters = {str(k): as_text(v) for k, v in (arguments.get("HyperParameters") or {}).items()}
    try:
        hyperparameters = validate(raw_hyperparameters)
    except HyperparameterError as exc:
        raise fail(context, f"ClientError: {exc}") from exc
    context.log.write(f"TrainingJob {name}: hyperparameters {raw_hyperparameters}\n")

    channels = {}
    for channel_name, channel in stage_channels(context).items():
        directory = host_path(context.work_dir, f"/opt/ml/input/data/{channel_name}")
        try:
            kind = algorithm.content_kind(channel.get("ContentType"))
            channels[channel_name] = algorithm.load_channel(
                channel_name, directory, kind, csv_weights=hyperparameters.get("csv_weights") == 1
            )
        except algorithm.AlgorithmClientError as exc:
            raise fail(context, f"ClientError: {exc}") from exc
    if "train" not in channels:
        raise fail(context, "ClientError: the 'train' channel is required (InputDataConfig has none)")

    model_dir = host_path(context.work_dir, "/opt/ml/model")
    try:
        image = str(arguments["AlgorithmSpecification"]["TrainingImage"])
        metrics = algorithm.train(
            hyperparameters, channels, model_dir, context.log, pickled=algorithm.writes_pickle(image)
        )
    except algorithm.AlgorithmClientError as exc:
        raise fail(context, f"ClientError: {exc}") from exc
    archive = write_model_archive(
        [model_dir / algorithm.MODEL_FILE], host_path(context.work_dir, "/opt/ml/output/model.tar.gz")
    )
    return Trained(hyperparameters=raw_hyperparameters, archives={"model.tar.gz": archive}, metrics=metrics)


SHAPES: tuple[Shape, ...] = (
    Shape("container entrypoint", user_code.has_entrypoint, user_code.entrypoint_problems, user_code.run_entrypoint),
    Shape("script mode", user_code.is_script_mode, user_code.script_mode_problems, user_code.run_script_mode),
    Shape("built-in algorithm", lambda arguments: True, _algorithm_problems, _run_algorithm),
)


def shape_of(arguments: dict[str, Any]) -> Shape:
    return next(shape for shape in SHAPES if shape.applies(arguments))


class TrainingExecutor:
    cacheable = True

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        spec = arguments.get("AlgorithmSpecification")
        if not isinstance(spec, dict) or "TrainingImage" not in spec:
            return ["a Training step needs AlgorithmSpecification.TrainingImage (AlgorithmName is not supported)"]
        found = shape_of(arguments).problems(arguments)
        if spec.get("TrainingInputMode") == "Pipe":
            found.append("TrainingInputMode Pipe is not supported locally; use File")
        for index, channel in enumerate(arguments.get("InputDataConfig") or []):
            source = channel.get("DataSource", {}).get("S3DataSource") if isinstance(channel, dict) else None
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
        name = job_name(context)
        started = timestamp()
        trained = shape_of(arguments).run(context, name)
        output = f"{str(arguments['OutputDataConfig']['S3OutputPath']).rstrip('/')}/{name}/output"
        for file_name, archive in trained.archives.items():
            try:
                context.store.put_file(f"{output}/{file_name}", archive)
            except StoreError as exc:
                raise fail(context, f"uploading {file_name}: {exc}") from exc
            context.log.write(f"uploaded {file_name} to {output}/{file_name}\n")
        ended = timestamp()
        model_uri = f"{output}/model.tar.gz"
        return _properties(context, name, trained.hyperparameters, model_uri, trained.metrics, started, ended)


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
