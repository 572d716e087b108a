"""The Model executor (a ModelStep that creates a model without registering it): one model record.

The record lives in the registry's SQLite file (``Registry.create_model``), named
``pipelines-<execution id>-<step name>`` (``jobs.job_name``); a Transform step finds it there by the
``ModelName`` property. As SageMaker's CreateModel, every ``ModelDataUrl`` must exist. A model of several
``Containers`` (an inference pipeline, Mode ``Serial``) is checked as ``serving.containers`` serves it. Properties are
DescribeModel's response. Never cached: SageMaker caches jobs, not model creation.
"""

from __future__ import annotations

from typing import Any

from showcase.clock import timestamp
from showcase.errors import RegistryError
from showcase.local.jobs import JobContext
from showcase.local.steps.common import fail, is_expression, refuse
from showcase.local.steptype import AwsStep, StepType
from showcase.store import StoreError

CONTAINER_KEYS = ("PrimaryContainer", "Containers")
UNSUPPORTED = {"VpcConfig": "there is no VPC locally"}


class ModelExecutor:
    def problems(self, arguments: dict[str, Any]) -> list[str]:
        found = [f"{key} is not supported locally: {why}" for key, why in UNSUPPORTED.items() if key in arguments]
        given = [key for key in CONTAINER_KEYS if key in arguments]
        if len(given) != 1:
            return [*found, "a Model step needs exactly one of PrimaryContainer and Containers"]
        containers = arguments["Containers"] if given == ["Containers"] else [arguments["PrimaryContainer"]]
        if not isinstance(containers, list) or not containers:
            return [*found, "Containers must be a non-empty list"]
        for index, container in enumerate(containers):
            where = "PrimaryContainer" if given == ["PrimaryContainer"] else f"Containers[{index}]"
            if not isinstance(container, dict) or "Image" not in container:
                found.append(f"{where} needs an Image (ModelPackageName containers are not supported locally)")
            elif container.get("Mode", "SingleModel") not in ("SingleModel",) and not is_expression(
                container.get("Mode")
            ):
                found.append(f"{where}.Mode {container['Mode']} is not supported locally; use SingleModel")
        if given == ["Containers"] or "InferenceExecutionConfig" in arguments:
            from showcase.serving.containers import containers_problems  # numpy: only for a pipeline model

            found += containers_problems(containers, arguments.get("InferenceExecutionConfig"), "")
        return found

    def run(self, context: JobContext) -> dict[str, Any]:
        refuse(context, self.problems(context.arguments))
        request = {key: value for key, value in context.arguments.items() if key != "ModelName"}
        containers = request.get("Containers") or [request["PrimaryContainer"]]
        for container in containers:
            url = container.get("ModelDataUrl")
            if url is not None and not _exists(context, url):
                raise fail(context, f"Could not find model data at {url}.")
        name = context.job_name
        try:
            context.registry.create_model(ModelName=name, **request)
            described: dict[str, Any] = context.registry.describe_model(ModelName=name)
        except RegistryError as exc:
            raise fail(context, f"CreateModel {name}: {exc}") from exc
        context.log.write(f"created model {name} ({described['ModelArn']})\n")
        for container in containers:
            context.log.write(f"  image {container['Image']} model data {container.get('ModelDataUrl', '-')}\n")
        described["CreationTime"] = timestamp(described["CreationTime"])
        return described


def _exists(context: JobContext, uri: object) -> bool:
    try:
        return isinstance(uri, str) and context.store.exists(uri)
    except StoreError:
        return False


STEP = StepType("Model", AwsStep("Model", "ModelArn"), executor=ModelExecutor())
