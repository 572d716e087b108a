"""A model's containers, staged for a job that serves them in its own process (a Transform job, Clarify's job).

The model is the record a Model step created (``ModelName``, in the registry). Its last container's archive is
extracted into ``<under>/model`` (``/opt/ml/model`` for a Transform job), each container before it, of an
inference pipeline, into ``<under>/containers/<n>/model``; the job loads them as the endpoint does
(``serving.model``, ``serving.containers``). Whether the job may unpickle a pickled ``xgboost-model`` (the images
before 1.3-1 write one) is decided here without reading the model: only when this home's training job wrote the
archive, byte for byte, or ``SHOWCASE_ALLOW_PICKLED_MODELS`` allows it (``registry.provenance``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from showcase.archives import ArchiveError, extract_model_archive
from showcase.errors import RegistryError
from showcase.local.jobs import JobContext
from showcase.local.processes.container import CONTAINER_ROOT
from showcase.local.steps.common import fail, host_path
from showcase.local.steps.standins import repository
from showcase.registry.provenance import unpickle_permission
from showcase.settings import pickled_models_allowed
from showcase.store import StoreError

SERVED_IMAGES = frozenset({"sagemaker-xgboost"})
"""The image of a served model's last container."""


def stage_model(context: JobContext, model_name: str, under: str = "") -> dict[str, Any]:
    """Extract the model's archives under the job's ``/opt/ml/<under>`` and decide whether the job may unpickle
    the last one; the model part of the job's configuration (paths in it are relative to ``/opt/ml``)."""
    try:
        described = context.registry.describe_model(ModelName=model_name)
    except RegistryError as exc:
        raise fail(context, f"ModelName {model_name}: {exc} (a Model step creates it)") from exc
    containers = described.get("Containers") or [described["PrimaryContainer"]]
    if len(containers) > 1:
        from showcase.serving.containers import containers_problems

        problems = containers_problems(containers, described.get("InferenceExecutionConfig"), f"model {model_name}: ")
        if problems:
            raise fail(context, "; ".join(problems))
    image, url = containers[-1]["Image"], containers[-1].get("ModelDataUrl")
    if repository(image) not in SERVED_IMAGES or url is None:
        raise fail(
            context,
            f"model {model_name}: image {image} with model data {url} cannot be served locally "
            f"(served: {', '.join(sorted(SERVED_IMAGES))} with a ModelDataUrl)",
        )
    base = f"{CONTAINER_ROOT}/{under}".rstrip("/")
    front = [
        _stage_front(context, model_name, index, container, under) for index, container in enumerate(containers[:-1])
    ]
    archive = host_path(context.work_dir, f"{base}/model.tar.gz")
    try:
        _extract(context, url, archive, host_path(context.work_dir, f"{base}/model"))
        permission = unpickle_permission(archive, context.registry.path, allowed=pickled_models_allowed())
    except (StoreError, ArchiveError, RegistryError, OSError) as exc:
        raise fail(context, f"model {model_name}: {url}: {exc}") from exc
    if permission:
        context.log.write(f"model {model_name}: a pickled xgboost-model may be loaded: {permission}\n")
    return {
        "ModelName": model_name, "ModelDataUrl": url, "Image": image, "Unpickle": permission is not None,
        "Front": front,
    }  # fmt: skip


def _stage_front(
    context: JobContext, model_name: str, index: int, container: dict[str, Any], under: str
) -> dict[str, Any]:
    """A container before the last: its archive extracted under ``<under>/containers/<index>``, its environment."""
    from showcase.serving.containers import FrontSpec, label_of

    url = str(container["ModelDataUrl"])
    where = f"{under}/containers/{index}".lstrip("/")
    try:
        _extract(
            context,
            url,
            host_path(context.work_dir, f"{CONTAINER_ROOT}/{where}/model.tar.gz"),
            host_path(context.work_dir, f"{CONTAINER_ROOT}/{where}/model"),
        )
    except (StoreError, ArchiveError, OSError) as exc:
        raise fail(context, f"model {model_name}: Containers[{index}] {url}: {exc}") from exc
    context.log.write(f"model {model_name}: Containers[{index}] {container['Image']} from {url}\n")
    return FrontSpec(label_of(container, index), f"{where}/model", container.get("Environment") or {}).to_json()


def _extract(context: JobContext, url: str, archive: Path, model_dir: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(context.store.path_of(url), archive)
    extract_model_archive(archive, model_dir)
