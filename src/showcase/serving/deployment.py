"""What an endpoint serves, decided from ``endpoint_config_adj.json`` and kept under ``<home>/endpoints/<name>/``.

    endpoints/<EndpointName>/
        deployment.json     the model package being served (and the previous one), capture settings, generation
        server.json         pid, host and port of the running server (written once it listens)
        models/<group>/<version>-<id>/xgboost-model   extracted archives, checked before deployment.json names them
        workers/<pid>.json  each worker's loaded generation and request metrics

Deploying resolves ``ModelPackageName`` in the local registry to its ``ModelDataUrl``, extracts the archive from
the object store and loads it with XGBoost *before* writing ``deployment.json``: a model that cannot be loaded
never reaches a worker. Workers watch ``deployment.json`` and swap models in place (see ``showcase.serving.app``).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from showcase.archives import ArchiveError, extract_model_archive
from showcase.clock import timestamp
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME, EndpointConfig
from showcase.errors import RegistryError, UsageError
from showcase.files import write_json_atomically
from showcase.processes import pid_alive
from showcase.registry import Registry
from showcase.registry.provenance import unpickle_permission
from showcase.serving.errors import ModelLoadError
from showcase.settings import Settings
from showcase.statuses import ApprovalStatus
from showcase.store import ObjectStore, StoreError, split_uri

logger = logging.getLogger(__name__)

DEFAULT_CAPTURE_URI = "s3://showcase-local/datacapture"
VARIANT_NAME = "AllTraffic"
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@dataclass(frozen=True)
class CaptureConfig:
    enabled: bool = False
    sampling_percentage: int = 0
    destination_uri: str = DEFAULT_CAPTURE_URI


@dataclass(frozen=True)
class Deployment:
    """One deployed model package; ``previous`` is what served before (the fallback if this one cannot load)."""

    endpoint_name: str
    model_package_arn: str
    model_data_url: str
    model_dir: str
    generation: int
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    deployed_at: str = ""
    previous: dict[str, Any] | None = None
    unpickle: bool = False
    """Whether its workers may unpickle its ``xgboost-model``: decided when it was deployed (this home trained the
    archive, or pickled models are allowed), and checked then in a process of its own."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def as_previous(self) -> dict[str, Any]:
        """What the next deployment keeps of this one, to fall back on."""
        return {"model_package_arn": self.model_package_arn, "model_dir": self.model_dir, "unpickle": self.unpickle}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Deployment:
        return cls(**{**raw, "capture": CaptureConfig(**raw.get("capture") or {})})


class EndpointPaths:
    """The files of one endpoint under ``<home>/endpoints/<name>/``."""

    def __init__(self, home: Path, endpoint_name: str) -> None:
        self.name = check_endpoint_name(endpoint_name)
        self.root = home / "endpoints" / self.name

    @property
    def deployment_file(self) -> Path:
        return self.root / "deployment.json"

    @property
    def server_file(self) -> Path:
        return self.root / "server.json"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def workers_dir(self) -> Path:
        return self.root / "workers"


def check_endpoint_name(name: str) -> str:
    if not _ENDPOINT_NAME.match(name):
        raise UsageError(
            f"endpoint name {name!r} is not valid: letters, digits and single hyphens, at most 63 characters"
        )
    return name


def endpoint_name_of(config: EndpointConfig) -> str:
    return check_endpoint_name(config.parameters.get("EndpointName") or DEFAULT_ENDPOINT_NAME)


def capture_config_of(config: EndpointConfig, source: str) -> CaptureConfig:
    """EnableDataCapture / SamplingPercentage / DataCaptureS3Uri, checked."""
    parameters = config.parameters
    enabled_text = parameters.get("EnableDataCapture", "false").strip().lower()
    if enabled_text not in ("true", "false"):
        raise UsageError(f"{source}: EnableDataCapture must be 'true' or 'false', got {enabled_text!r}")
    percentage_text = parameters.get("SamplingPercentage", "100" if enabled_text == "true" else "0")
    try:
        percentage = int(percentage_text)
    except ValueError:
        percentage = -1
    if not 0 <= percentage <= 100:
        raise UsageError(f"{source}: SamplingPercentage must be a whole number from 0 to 100, got {percentage_text!r}")
    destination = parameters.get("DataCaptureS3Uri") or DEFAULT_CAPTURE_URI
    try:
        split_uri(destination, prefix=True)
    except StoreError as exc:
        raise UsageError(f"{source}: DataCaptureS3Uri: {exc}") from None
    return CaptureConfig(enabled_text == "true", percentage, destination.rstrip("/"))


def prepare_deployment(
    config: EndpointConfig, settings: Settings, *, source: str, previous: Deployment | None = None
) -> tuple[Deployment, int]:
    """Resolve, extract and load the config's model package (its number of features); nothing is written if any of
    it fails."""
    name = endpoint_name_of(config)
    arn = config.parameters.get("ModelPackageName")
    if not arn:
        raise UsageError(
            f"{source} names no ModelPackageName; write it with deploy/build_config_file.py "
            "(the newest Approved package of a group)"
        )
    capture = capture_config_of(config, source)
    registry = Registry.from_settings(settings)
    try:
        package = registry.describe_model_package(ModelPackageName=arn)
    except RegistryError as exc:
        raise UsageError(f"{source}: ModelPackageName: {exc}") from None
    status = package.get("ModelApprovalStatus")
    if status != ApprovalStatus.APPROVED:
        force = " --force" if status == ApprovalStatus.REJECTED else ""
        raise UsageError(
            f"model package {arn} is {status}, not Approved; approve it (showcase registry approve {arn}{force}, "
            "or UpdateModelPackage) and deploy again"
        )
    url = package["InferenceSpecification"]["Containers"][0].get("ModelDataUrl")
    if not url:
        raise ModelLoadError(f"model package {arn} has no ModelDataUrl", model_package_arn=arn)
    store = ObjectStore(settings.store_root)
    try:
        archive = store.path_of(url)
    except StoreError as exc:
        raise ModelLoadError(f"{arn}: ModelDataUrl {url}: {exc}", model_package_arn=arn) from exc
    if not archive.is_file():
        raise ModelLoadError(f"{arn}: ModelDataUrl {url} does not exist in the object store", model_package_arn=arn)
    paths = EndpointPaths(settings.home, name)
    group, version = arn.rsplit("/", 2)[-2:]
    model_dir = paths.models_dir / group / f"{version}-{uuid.uuid4().hex[:8]}"
    try:
        image = str(package["InferenceSpecification"]["Containers"][0].get("Image", ""))
        num_features, unpickle = _extract_and_check(archive, model_dir, settings, arn=arn, image=image)
    except (ModelLoadError, RegistryError):
        shutil.rmtree(model_dir, ignore_errors=True)
        raise
    deployment = Deployment(
        endpoint_name=name,
        model_package_arn=arn,
        model_data_url=url,
        model_dir=str(model_dir),
        generation=(previous.generation if previous else 0) + 1,
        capture=capture,
        deployed_at=timestamp(timespec="seconds"),
        previous=None if previous is None else previous.as_previous(),
        unpickle=unpickle,
    )
    return deployment, num_features


def _extract_and_check(archive: Path, model_dir: Path, settings: Settings, *, arn: str, image: str) -> tuple[int, bool]:
    """Extract and load the model (its number of features) and whether workers may unpickle it.

    A pickled ``xgboost-model`` (the images before 1.3-1) is loaded only when this home's training job wrote the
    archive or the settings allow it, and then in a process of its own, as the workers will: never in this one.
    """
    from showcase.serving.model import check_in_own_process, is_pickled, load_model

    try:
        extract_model_archive(archive, model_dir)
    except ArchiveError as exc:
        raise ModelLoadError(f"{arn}: {exc}", model_package_arn=arn) from exc
    if is_pickled(model_dir):
        permission = unpickle_permission(archive, settings.registry_path, allowed=settings.allow_pickled_models)
        if permission is not None:
            logger.info("%s: a pickled xgboost-model may be loaded: %s", arn, permission)
            return check_in_own_process(model_dir, model_package_arn=arn, image=image), True
    return load_model(model_dir, model_package_arn=arn, image=image).num_features, False


def write_deployment(paths: EndpointPaths, deployment: Deployment) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    write_json_atomically(paths.deployment_file, deployment.to_json())
    _prune_models(paths, keep={deployment.model_dir, (deployment.previous or {}).get("model_dir", "")})


def read_deployment(paths: EndpointPaths) -> Deployment | None:
    try:
        raw = json.loads(paths.deployment_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Deployment.from_json(raw)


def _prune_models(paths: EndpointPaths, keep: set[str]) -> None:
    """Remove extracted models other than the current and previous one."""
    if not paths.models_dir.is_dir():
        return
    for group_dir in paths.models_dir.iterdir():
        for model_dir in group_dir.iterdir() if group_dir.is_dir() else []:
            if str(model_dir) not in keep:
                shutil.rmtree(model_dir, ignore_errors=True)


# -- the running server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    host: str
    port: int
    workers: int
    started_at: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def write_server_info(paths: EndpointPaths, info: ServerInfo) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    write_json_atomically(paths.server_file, asdict(info))


def read_server_info(paths: EndpointPaths) -> ServerInfo | None:
    """The running server, or None when there is none (a stale file of a dead server counts as none)."""
    try:
        info = ServerInfo(**json.loads(paths.server_file.read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None
    return info if pid_alive(info.pid) else None


def child_pids(pid: int) -> list[int]:
    """The live children of a process (the server's workers), from /proc."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [child for child in map(int, text.split()) if pid_alive(child)]
