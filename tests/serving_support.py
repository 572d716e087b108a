"""Helpers for the endpoint tests: a tiny registered model, an endpoint config, a real server subprocess."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from showcase.archives import write_model_archive
from showcase.registry import Registry
from showcase.serving.deployment import EndpointPaths, ServerInfo, read_server_info
from showcase.store import ObjectStore

REPO = Path(__file__).resolve().parents[1]
NUM_FEATURES = 10
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROW = "-0.574,-0.432,-1.064,-0.642,-0.608,-0.726,-0.638,0,0,1"


def train_booster(offset: float = 0.0, rounds: int = 8) -> xgb.Booster:
    """A small regression booster on 10 features; ``offset`` shifts every prediction (a "new version")."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(400, NUM_FEATURES))
    label = 10.0 + 3.0 * features[:, 0] - 2.0 * features[:, 1] + offset
    params = {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1, "seed": 0}
    return xgb.train(params, xgb.DMatrix(features, label=label), num_boost_round=rounds)


def broken_model() -> bytes:
    """An ``xgboost-model`` that loads and answers its probe row of missing values, but ``inf`` for every real row.

    One tree: missing values go right to a finite leaf; any value below 1e30 goes left, to a leaf of 1e39, which
    XGBoost reads as float32 infinity. What a model saved with corrupt leaves does to every request."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(50, NUM_FEATURES))
    params = {"objective": "reg:squarederror", "max_depth": 1, "nthread": 1, "seed": 0}
    booster = xgb.train(params, xgb.DMatrix(features, label=features[:, 0]), num_boost_round=1)
    document = json.loads(bytes(booster.save_raw(raw_format="json")))
    tree = document["learner"]["gradient_booster"]["model"]["trees"][0]
    tree["split_conditions"] = [1e30, 1e39, 0.25]
    tree["default_left"] = [0, 0, 0]
    return json.dumps(document).encode()


def register(
    home: Path,
    booster: xgb.Booster | bytes,
    *,
    group: str = "TestGroup",
    status: str = "Approved",
    model_metrics: dict[str, Any] | None = None,
) -> str:
    """Archive the booster (or raw bytes as ``xgboost-model``), store it, register it as the pipeline does."""
    work = home / "work"
    work.mkdir(parents=True, exist_ok=True)
    model_file = work / "xgboost-model"
    if isinstance(booster, bytes):
        model_file.write_bytes(booster)
    else:
        model_file.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    registry = Registry(home / "registry.sqlite")
    count = len(registry.list_model_packages()["ModelPackageSummaryList"])
    archive = write_model_archive([model_file], work / f"model-{count}.tar.gz")
    uri = ObjectStore(home / "store").put_file(f"s3://showcase-local/models/{group}/{count}/model.tar.gz", archive)
    response = registry.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": uri, "Environment": {}}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=status,
        **({"ModelMetrics": model_metrics} if model_metrics else {}),
    )
    return str(response["ModelPackageArn"])


def approve(home: Path, arn: str) -> None:
    Registry(home / "registry.sqlite").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")


def write_config(path: Path, arn: str, *, name: str = "test-endpoint", **extra: str) -> Path:
    parameters = {
        "EndpointInstanceCount": "1",
        "EndpointInstanceType": "ml.m5.large",
        "SamplingPercentage": "0",
        "EnableDataCapture": "false",
        "ModelPackageName": arn,
        "ModelExecutionRoleArn": "arn:aws:iam::000000000000:role/showcase",
        "EndpointName": name,
        **extra,
    }
    path.write_text(json.dumps({"Parameters": parameters, "Tags": []}))
    return path


def cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "showcase", "endpoint", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        check=False,
    )


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("SAGEMAKER_BIND_TO_PORT", None)
    env.pop("SAGEMAKER_MODEL_SERVER_WORKERS", None)
    return env


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    info: ServerInfo
    paths: EndpointPaths
    log: Path

    @property
    def port(self) -> int:
        return self.info.port

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def invoke(self, body: str, content_type: str = "text/csv", accept: str | None = None) -> tuple[int, str]:
        headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
        status, _, payload = self.request("POST", "/invocations", body, headers)
        return status, payload.decode()

    def workers(self) -> list[int]:
        from showcase.serving.deployment import child_pids

        return child_pids(self.info.pid)


@contextmanager
def serving(
    home: Path,
    config: Path,
    *,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    from_environment: bool = False,
    extra_args: tuple[str, ...] = (),
) -> Iterator[RunningServer]:
    """``showcase-endpoint serve`` on a free loopback port; stopped with SIGTERM (bounded waits throughout).

    The port (0: the system picks one) and the worker count go in as flags, or, ``from_environment``, as
    SageMaker's container gets them: ``SAGEMAKER_BIND_TO_PORT`` and ``SAGEMAKER_MODEL_SERVER_WORKERS``.
    """
    name = json.loads(config.read_text())["Parameters"]["EndpointName"]
    paths = EndpointPaths(home.resolve(), name)
    log = home / f"server-{name}.log"
    args = [sys.executable, "-m", "showcase", "endpoint", "serve", "--config", str(config), "--home", str(home)]
    env = {**_env(), **(extra_env or {})}
    if from_environment:
        env.update(SAGEMAKER_BIND_TO_PORT="0", SAGEMAKER_MODEL_SERVER_WORKERS=str(workers))
    else:
        args += ["--port", "0", "--workers", str(workers)]
    args += ["--log-level", "INFO", *extra_args]
    with log.open("wb") as sink:
        process = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        info = _wait_ready(process, paths, log, workers)
        yield RunningServer(process, info, paths, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen[bytes], paths: EndpointPaths, log: Path, workers: int) -> ServerInfo:
    for _ in range(600):  # up to ~60 s
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        info = read_server_info(paths)
        if info is not None and _ping(info.port) and _booted(paths, info, workers):
            return info
        time.sleep(0.1)
    raise AssertionError(f"the server did not become ready:\n{log.read_text()}")


def _booted(paths: EndpointPaths, info: ServerInfo, workers: int) -> bool:
    from showcase.serving.deployment import child_pids

    live = child_pids(info.pid)
    return len(live) == workers and all((paths.workers_dir / f"{pid}.json").exists() for pid in live)


def _ping(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/ping")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
