"""What an endpoint serves, decided from ``endpoint_config_adj.json`` and kept under ``<home>/endpoints/<name>/``.

    endpoints/<EndpointName>/
        deployment.json     the fleet being served (its variants' model packages), during a blue/green update
                            the new fleet and its share of traffic, the fleet before (the fallback), capture
                            settings, generation, and the config's parameters
        server.json         pid, host and port of the running server (written once it listens)
        models/<group>/<version>-<id>/xgboost-model   extracted archives, checked before deployment.json names them
        workers/<pid>.json  each worker's loaded generation and request metrics (per variant)
        deployments/<id>.json  each update's record: steps, alarms, outcome (``showcase.serving.rollout``)

Deploying resolves each variant's model package in the local registry to its ``ModelDataUrl``, extracts the
archive from the object store and loads it with XGBoost *before* writing ``deployment.json``: a model that cannot
be loaded never reaches a worker. Workers watch ``deployment.json`` and swap in place (see ``showcase.serving.app``).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from showcase.clock import timestamp
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME, EndpointConfig
from showcase.errors import UsageError
from showcase.files import write_json_atomically
from showcase.processes import pid_alive
from showcase.serving.fleet import PRIMARY, Fleet, prepare_fleet
from showcase.settings import Settings
from showcase.store import StoreError, split_uri

DEFAULT_CAPTURE_URI = "s3://showcase-local/datacapture"
VARIANT_NAME = PRIMARY
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@dataclass(frozen=True)
class CaptureConfig:
    enabled: bool = False
    sampling_percentage: int = 0
    destination_uri: str = DEFAULT_CAPTURE_URI


@dataclass(frozen=True)
class Deployment:
    """What an endpoint serves: ``fleet``; during a blue/green update, also ``new_fleet`` with ``new_share`` of the
    traffic. ``previous`` is the fleet that served before ``fleet`` (a worker's fallback if a model file went bad)."""

    endpoint_name: str
    fleet: Fleet
    generation: int
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    deployed_at: str = ""
    previous: Fleet | None = None
    new_fleet: Fleet | None = None
    new_share: float = 0.0
    parameters: dict[str, str] = field(default_factory=dict)
    """The endpoint config's parameters ``fleet`` was deployed from (a promotion deploys them elsewhere)."""

    @property
    def model_package_arn(self) -> str:
        """The package of the variant ``AllTraffic`` (the first production variant)."""
        return self.fleet.primary.model_package_arn

    @property
    def model_data_url(self) -> str:
        return self.fleet.primary.model_data_url

    @property
    def model_dir(self) -> str:
        return self.fleet.primary.model_dir

    def fleets(self) -> list[Fleet]:
        return [fleet for fleet in (self.fleet, self.new_fleet) if fleet is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint_name": self.endpoint_name,
            "generation": self.generation,
            "deployed_at": self.deployed_at,
            "fleet": self.fleet.to_json(),
            "new_fleet": self.new_fleet.to_json() if self.new_fleet else None,
            "new_share": self.new_share,
            "previous": self.previous.to_json() if self.previous else None,
            "capture": {
                "enabled": self.capture.enabled,
                "sampling_percentage": self.capture.sampling_percentage,
                "destination_uri": self.capture.destination_uri,
            },
            "parameters": dict(self.parameters),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Deployment:
        capture = CaptureConfig(**raw.get("capture") or {})
        generation = int(raw["generation"])
        if "fleet" not in raw:  # a deployment.json of one model package, as written before variants
            previous = raw.get("previous")
            return cls(
                raw["endpoint_name"],
                Fleet.single(generation, raw["model_package_arn"], raw.get("model_data_url", ""), raw["model_dir"]),
                generation,
                capture,
                raw.get("deployed_at", ""),
                Fleet.single(0, previous["model_package_arn"], "", previous["model_dir"]) if previous else None,
            )
        return cls(
            raw["endpoint_name"],
            Fleet.from_json(raw["fleet"]),
            generation,
            capture,
            raw.get("deployed_at", ""),
            Fleet.from_json(raw["previous"]) if raw.get("previous") else None,
            Fleet.from_json(raw["new_fleet"]) if raw.get("new_fleet") else None,
            float(raw.get("new_share", 0.0)),
            dict(raw.get("parameters") or {}),
        )


class EndpointPaths:
    """The files of one endpoint under ``<home>/endpoints/<name>/``."""

    def __init__(self, home: Path, endpoint_name: str) -> None:
        self.name = check_endpoint_name(endpoint_name)
        self.home = home
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

    @property
    def deployments_dir(self) -> Path:
        return self.root / "deployments"

    @property
    def lock_file(self) -> Path:
        """Held by the process deploying to the endpoint: one deployment at a time."""
        return self.root / "deploy.lock"


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
) -> tuple[Deployment, Fleet]:
    """Resolve, extract and load the config's variants; the deployment that serves them at once (the hot swap),
    and their fleet. Nothing is written, and nothing is left extracted, if any of it fails."""
    name = endpoint_name_of(config)
    capture = capture_config_of(config, source)
    generation = (previous.generation if previous else 0) + 1
    paths = EndpointPaths(settings.home, name)
    fleet = prepare_fleet(config.parameters, settings, paths.models_dir, fleet_id=generation, source=source)
    deployment = Deployment(
        endpoint_name=name,
        fleet=fleet,
        generation=generation,
        capture=capture,
        deployed_at=timestamp(timespec="seconds"),
        previous=previous.fleet if previous else None,
        parameters=dict(config.parameters),
    )
    return deployment, fleet


def write_deployment(paths: EndpointPaths, deployment: Deployment) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    write_json_atomically(paths.deployment_file, deployment.to_json())
    keep = set().union(*(fleet.model_dirs() for fleet in (*deployment.fleets(), deployment.previous) if fleet))
    _prune_models(paths, keep=keep)


def read_deployment(paths: EndpointPaths) -> Deployment | None:
    try:
        raw = json.loads(paths.deployment_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Deployment.from_json(raw)


def _prune_models(paths: EndpointPaths, keep: set[str]) -> None:
    """Remove extracted models no fleet of the deployment (current, new or previous) names."""
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
