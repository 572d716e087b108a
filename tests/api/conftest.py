"""The real ``showcase-local api`` server, in a process of its own on a free loopback port over a temporary home."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDLOCALTEST", "AWS_SECRET_ACCESS_KEY": "local-secret-not-checked"}


@dataclass(frozen=True)
class Api:
    url: str
    home: Path
    process: subprocess.Popen[str]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for a client process: AWS_ENDPOINT_URL at this API, dummy credentials, no profile."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return {**env, **CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.url, **extra}

    def client(self, service: str) -> object:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}),
        )


def start_api(home: Path, *extra: str, env: dict[str, str] | None = None, log_level: str = "WARNING") -> Api:
    """Start ``showcase-local api --port 0`` and wait (bounded) for the line that names its URL."""
    command = ["showcase", "--home", str(home), "--log-level", log_level, "api", "--port", "0", *extra]
    process = subprocess.Popen(
        [sys.executable, "-m", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("AWS API on "):
        process.kill()
        raise AssertionError(f"the API did not start: {line}{process.communicate()[1]}")
    url = line.split()[3]
    _wait_until_answering(url)
    return Api(url, home, process)


def _wait_until_answering(url: str) -> None:
    for _ in range(100):
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{url}/", method="GET"), timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answered (an S3 error is an answer)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def stop_api(api: Api) -> str:
    """SIGTERM, a bounded wait; what it wrote on stderr. The endpoints it created outlive it, as on SageMaker:
    each one still serving is stopped as a user would stop it (``showcase endpoint stop``), so none is left."""
    api.process.send_signal(signal.SIGTERM)
    try:
        _, stderr = api.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        api.process.kill()
        _, stderr = api.process.communicate()
    stop_endpoints(api.home)
    return stderr


def stop_endpoints(home: Path) -> None:
    """Stop every endpoint still serving under ``home``."""
    from showcase.serving.deployment import EndpointPaths, read_server_info

    for directory in sorted((home / "endpoints").glob("*")):
        if read_server_info(EndpointPaths(home, directory.name)) is None:
            continue
        command = [sys.executable, "-m", "showcase", "--home", str(home), "endpoint", "stop"]
        subprocess.run([*command, "--endpoint-name", directory.name], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    running = start_api(tmp_path_factory.mktemp("api-home"))
    try:
        yield running
    finally:
        stop_api(running)
