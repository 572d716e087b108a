"""State for the dashboard's tests, built once per session with the real runtime on the real data.

``dashboard_home`` holds: a Succeeded execution that registered a PendingManualApproval package (version 1),
a second Succeeded one (version 2, another MaxDepth), a Failed one (MSE above MseThreshold=1.0), a Succeeded run
of the tuned variant (two trials; version 3), and an endpoint serving version 1 with worker metrics and captured
requests written by the serving code itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from showcase import local
from showcase.dashboard import create_app
from showcase.dashboard.local_source import LocalSource
from showcase.registry import Registry
from showcase.serving.capture import CaptureWriter
from showcase.serving.deployment import CaptureConfig, Deployment, EndpointPaths, write_deployment
from showcase.serving.fleet import Fleet
from showcase.serving.metrics import WorkerMetrics
from showcase.settings import Settings, load

GROUP = "crayonShowcasePackageGroup"
ENDPOINT = "dash-endpoint"
ORIGIN = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class State:
    home: Path
    settings: Settings
    succeeded: str
    second: str
    failed: str
    tuned: str

    def registry(self) -> Registry:
        return Registry(self.settings.registry_path)

    def status(self, version: int) -> str:
        described = self.registry().describe_model_package(ModelPackageName=f"{GROUP}/{version}")
        return str(described["ModelApprovalStatus"])


def _run(definition: dict[str, Any], uploads: dict[str, bytes], settings: Settings, **parameters: Any) -> str:
    record = local.run_definition(
        definition, pipeline_name="crayonShowcasePipeline", parameters=parameters, uploads=uploads, settings=settings
    )
    return record.execution_id


def _build(abalone_path: Path, **kwargs: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    from showcase.pipeline import get_pipeline, local_kwargs

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOWCASE_INPUT_DATA", str(abalone_path))
        pipeline = get_pipeline(**local_kwargs(), **kwargs)
    return json.loads(pipeline.definition()), dict(pipeline.sagemaker_session.pending_uploads)


@pytest.fixture(scope="session")
def pipeline_definition(abalone_path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    return _build(abalone_path)


def _endpoint(settings: Settings, arn: str, model_data_url: str) -> None:
    paths = EndpointPaths(settings.home, ENDPOINT)
    capture = CaptureConfig(enabled=True, sampling_percentage=100, destination_uri="s3://showcase-local/datacapture")
    write_deployment(
        paths,
        Deployment(
            ENDPOINT,
            Fleet.single(1, arn, model_data_url, str(paths.models_dir / "x")),
            1,
            capture,
            "2026-01-01T00:00:00",
        ),
    )
    metrics = WorkerMetrics(paths.workers_dir, pid=os.getpid())
    for seconds in (0.001, 0.002, 0.003, 0.004):
        metrics.observe(200, seconds)
    metrics.observe(415, 0.0005)
    metrics.write()
    from showcase.store import ObjectStore

    writer = CaptureWriter(ObjectStore(settings.store_root), capture, ENDPOINT)
    for row in range(3):
        writer.maybe_capture("text/csv", f"0.{row},0.1,0.2,0.3,0.4,0.5,0.6,1,0,0".encode(), "text/csv", b"9.5")
    writer.close()


@pytest.fixture(scope="session")
def dashboard_state(
    tmp_path_factory: pytest.TempPathFactory,
    pipeline_definition: tuple[dict[str, Any], dict[str, bytes]],
    abalone_path: Path,
) -> State:
    home = tmp_path_factory.mktemp("dashboard-home")
    settings = load(home)
    definition, uploads = pipeline_definition
    succeeded = _run(definition, uploads, settings, ModelApprovalStatus="PendingManualApproval")
    second = _run(definition, uploads, settings, ModelApprovalStatus="PendingManualApproval", MaxDepth=3)
    failed = _run(definition, uploads, settings, MseThreshold=1.0)
    tuned_definition, tuned_uploads = _build(abalone_path, tune=True, tuning_max_jobs=2)
    tuned = _run(
        tuned_definition, tuned_uploads, settings, ModelApprovalStatus="PendingManualApproval", MseThreshold=10.0
    )
    registry = Registry(settings.registry_path)
    first = registry.describe_model_package(ModelPackageName=f"{GROUP}/1")
    _endpoint(settings, first["ModelPackageArn"], first["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])
    return State(home, settings, succeeded, second, failed, tuned)


@pytest.fixture()
def client(dashboard_state: State) -> Iterator[TestClient]:
    with TestClient(create_app(LocalSource(dashboard_state.settings)), base_url=ORIGIN) as test_client:
        yield test_client


@pytest.fixture()
def state(dashboard_state: State) -> State:
    return dashboard_state
