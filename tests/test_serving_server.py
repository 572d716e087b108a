"""The real server on a loopback port: boto3 and predict.py against it, hot swap under load, a killed worker,
a drained shutdown, and capture files. Every wait is a bounded loop; nothing asserts on time."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import psutil
import pytest
from botocore.config import Config

from tests.serving_support import (
    REPO,
    ROW,
    RunningServer,
    approve,
    cli,
    register,
    serving,
    train_booster,
    write_config,
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def score(offset: float, row: str = ROW) -> float:
    values = np.array([[float(v) for v in row.split(",")]])
    return float(train_booster(offset).inplace_predict(values)[0])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("endpoint-home")
    config = write_config(home / "config.json", register(home, train_booster()))
    with serving(home, config, workers=2) as running:
        yield running


def runtime_client(port: int) -> object:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def test_boto3_invoke_endpoint_unchanged(server: RunningServer) -> None:
    runtime = runtime_client(server.port)
    response = runtime.invoke_endpoint(  # type: ignore[attr-defined]
        EndpointName="test-endpoint", Body=f"{ROW}\n{ROW}", ContentType="text/csv", Accept="text/csv"
    )
    assert response["ContentType"] == "text/csv; charset=utf-8"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert [float(v) for v in response["Body"].read().decode().splitlines()] == [score(0.0)] * 2
    response = runtime.invoke_endpoint(  # type: ignore[attr-defined]
        EndpointName="test-endpoint", Body=ROW, ContentType="text/csv", Accept="application/json"
    )
    assert json.loads(response["Body"].read()) == {"predictions": [{"score": score(0.0)}]}


def test_boto3_sees_model_and_validation_errors(server: RunningServer) -> None:
    runtime = runtime_client(server.port)
    with pytest.raises(runtime.exceptions.ModelError) as caught:  # type: ignore[attr-defined]
        runtime.invoke_endpoint(EndpointName="test-endpoint", Body="1,2", ContentType="text/csv")  # type: ignore[attr-defined]
    assert caught.value.response["OriginalStatusCode"] == 400
    assert "row 1 has 2 values" in caught.value.response["OriginalMessage"]
    with pytest.raises(runtime.exceptions.ModelError) as caught:  # type: ignore[attr-defined]
        runtime.invoke_endpoint(EndpointName="test-endpoint", Body=ROW, ContentType="application/json")  # type: ignore[attr-defined]
    assert caught.value.response["OriginalStatusCode"] == 415
    with pytest.raises(runtime.exceptions.ValidationError, match="Endpoint nope of account 000000000000 not found"):  # type: ignore[attr-defined]
        runtime.invoke_endpoint(EndpointName="nope", Body=ROW, ContentType="text/csv")  # type: ignore[attr-defined]


def test_predict_py_prints_predictions(server: RunningServer) -> None:
    payload = REPO / "predict" / "sample_payload.csv"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "predict" / "predict.py"),
            "--endpoint-url",
            f"http://127.0.0.1:{server.port}",
            "--endpoint-name",
            "test-endpoint",
            "--file-path",
            str(payload),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **DUMMY_AWS},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in payload.read_text().splitlines() if line.strip()]
    assert [float(v) for v in result.stdout.split()] == [score(0.0, row) for row in rows]


def test_every_status_code_over_http(server: RunningServer) -> None:
    assert server.request("GET", "/ping")[0] == 200
    assert server.invoke("")[0] == 204
    assert server.invoke(ROW, content_type="application/json")[0] == 415
    assert server.invoke(ROW, accept="application/xml")[0] == 406
    assert server.invoke("1,2")[0] == 400
    assert server.invoke("x" * 6291457)[0] == 413
    assert server.invoke("0 0:1.0 12:2.0", content_type="text/x-libsvm")[0] == 400  # index out of range
    assert server.invoke(ROW, accept="application/jsonlines") == (200, json.dumps({"score": score(0.0)}) + "\n")


def test_the_endpoint_answers_only_to_its_own_names(server: RunningServer) -> None:
    """DNS rebinding: a request naming another host is refused before the model sees it, on every route."""
    attacker = {"Host": f"rebind.attacker.example:{server.port}", "Content-Type": "text/csv"}
    for method, path in (("GET", "/ping"), ("POST", "/invocations"), ("POST", "/endpoints/test-endpoint/invocations")):
        status, _, body = server.request(method, path, ROW if method == "POST" else None, attacker)
        assert status == 400 and b"--allowed-host rebind.attacker.example" in body, (path, body)
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}"):
        assert server.request("POST", "/invocations", ROW, {"Host": host, "Content-Type": "text/csv"})[0] == 200


def test_a_header_flood_is_cut_at_16_kib_and_the_workers_stay_small(server: RunningServer) -> None:
    """200 MB of one header, on four connections (both workers get some): each is answered 431 once the head
    passes 16 KiB, long before the client has sent it all; before the bound, a worker grew by the whole flood."""
    workers = server.workers()
    before = {pid: psutil.Process(pid).memory_info().rss for pid in workers}
    for _ in range(4):
        sent = 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ")
            with pytest.raises(OSError):
                while sent < 200 * 2**20:
                    sock.sendall(b"a" * 65536)
                    sent += 65536
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 431") and sent < 20 * 2**20, (answer[:100], sent)
    grown = {pid: (psutil.Process(pid).memory_info().rss - before[pid]) / 1e6 for pid in workers}
    assert server.workers() == workers
    assert all(mb < 20 for mb in grown.values()), grown


def test_slow_heads_are_cut_at_the_deadline(server: RunningServer) -> None:
    """Ten connections sending a head a few bytes at a time (slow loris): the server answers each 408 once the
    head deadline passes (10 s) and closes it; the sockets are not held."""
    sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=60) for _ in range(10)]
    try:
        for sock in sockets:
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answers = []
        for sock in sockets:
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            answers.append(received.split(b"\r\n", 1)[0])
    finally:
        for sock in sockets:
            sock.close()
    assert answers == [b"HTTP/1.1 408 Request Timeout"] * 10
    assert server.invoke(ROW)[0] == 200


def test_allowed_host_adds_a_name_the_endpoint_answers_to(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(tmp_path / "config.json", register(home, train_booster()))
    refused = cli(home, "serve", "--config", str(config), "--allowed-host", "endpoint.lan:8080")
    assert refused.returncode == 2 and "without a port" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    with serving(home, config, workers=1, extra_args=("--allowed-host", "Endpoint.LAN")) as running:
        assert running.request("GET", "/ping", headers={"Host": f"endpoint.lan:{running.port}"})[0] == 200
        assert running.request("GET", "/ping", headers={"Host": "other.lan"})[0] == 400


class Traffic:
    """Clients sending ROW in a loop until stopped (bounded), recording (start time, outcome)."""

    def __init__(self, port: int, keep_alive: bool) -> None:
        self.port, self.keep_alive = port, keep_alive
        self.results: list[tuple[float, int, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        connection = None
        for _ in range(200_000):
            if self.stop.is_set():
                break
            started = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request("POST", "/invocations", ROW, {"Content-Type": "text/csv"})
                response = connection.getresponse()
                self.results.append((started, response.status, response.read().decode().strip()))
            except OSError as exc:
                self.results.append((started, -1, repr(exc)))
                connection = None
            if not self.keep_alive and connection is not None:
                connection.close()
                connection = None


def test_hot_swap_under_load_fails_no_request(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(tmp_path / "config.json", register(home, train_booster()))
    with serving(home, config, workers=2) as running:
        clients = [Traffic(running.port, keep_alive=True), Traffic(running.port, keep_alive=False)]
        for client in clients:
            client.thread.start()
        new_arn = register(home, train_booster(offset=5.0), status="PendingManualApproval")
        refused = cli(home, "deploy", "--config", str(write_config(tmp_path / "pending.json", new_arn)))
        assert refused.returncode != 0 and "is PendingManualApproval, not Approved" in refused.stderr
        approve(home, new_arn)
        deployed = cli(home, "deploy", "--config", str(write_config(tmp_path / "v2.json", new_arn)))
        swapped_at = time.monotonic()
        assert deployed.returncode == 0, deployed.stderr
        assert "now serves" in deployed.stdout and new_arn in deployed.stdout
        for _ in range(600):  # until each client has sent a few requests after the swap (bounded)
            if all(sum(1 for t, _, _ in c.results if t > swapped_at) >= 20 for c in clients):
                break
            time.sleep(0.05)
        for client in clients:
            client.stop.set()
            client.thread.join(timeout=60)
    old, new = str(score(0.0)), str(score(5.0))
    for client in clients:
        failures = [r for r in client.results if r[1] != 200]
        assert failures == [], failures[:3]
        assert {body for _, _, body in client.results} <= {old, new}
        assert old in {body for _, _, body in client.results}
        assert {body for t, _, body in client.results if t > swapped_at} == {new}


def test_a_corrupt_model_is_refused_and_the_old_one_keeps_serving(server: RunningServer, tmp_path: Path) -> None:
    home = server.paths.root.parents[1]
    bad = register(home, b"this is not an XGBoost model", group="Broken")
    result = cli(home, "deploy", "--config", str(write_config(tmp_path / "bad.json", bad)))
    assert result.returncode == 1
    assert "XGBoost cannot load xgboost-model" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert server.invoke(ROW) == (200, f"{score(0.0)}\n")


def test_a_killed_worker_is_replaced_and_requests_keep_being_served(server: RunningServer) -> None:
    before = server.workers()
    assert len(before) == 2
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    statuses = []
    for _ in range(600):  # bounded: until the arbiter has a new second worker
        statuses.append(server.invoke(ROW)[0])
        current = server.workers()
        if len(current) == 2 and victim not in current:
            break
        time.sleep(0.05)
    current = server.workers()
    assert victim not in current and len(current) == 2
    for _ in range(20):
        statuses.append(server.invoke(ROW)[0])
    assert set(statuses) == {200}


def test_sigterm_drains_an_in_flight_request(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(tmp_path / "config.json", register(home, train_booster()))
    with serving(home, config, workers=1) as running:
        body = (ROW + "\n").encode() * 50
        with socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock:
            head = f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
            sock.sendall(head.encode() + body[:100])
            assert running.request("GET", "/ping")[0] == 200  # the worker has surely read the first part by now
            running.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)  # let the signal land while the request is half-sent (not an assertion on time)
            sock.sendall(body[100:])
            response = b""
            while b"\r\n\r\n" not in response or response.count(b"\n") < 54:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
        assert response.startswith(b"HTTP/1.1 200")
        assert response.count(str(score(0.0)).encode()) == 50
        assert running.process.wait(timeout=60) == 0


def test_capture_files_honour_the_sampling_rate(tmp_path: Path) -> None:
    home = tmp_path / "home"
    arn = register(home, train_booster())
    config = write_config(
        tmp_path / "c.json",
        arn,
        EnableDataCapture="true",
        SamplingPercentage="50",
        DataCaptureS3Uri="s3://my-capture/prefix",
    )
    with serving(home, config, workers=2) as running:
        for _ in range(40):
            assert running.invoke(ROW)[0] == 200
    files = sorted((home / "store" / "my-capture" / "prefix" / "test-endpoint" / "AllTraffic").rglob("*.jsonl"))
    records = [json.loads(line) for file in files for line in file.read_text().splitlines()]
    # Each of the 2 workers captures floor(n_w / 2) of its n_w requests: 19 or 20 of the 40 in all.
    assert 19 <= len(records) <= 20
    assert 1 <= len(files) <= 2  # one file per worker (and hour)
    assert all(r["captureData"]["endpointInput"]["data"] == ROW for r in records)
    relative = files[0].relative_to(home / "store" / "my-capture" / "prefix" / "test-endpoint" / "AllTraffic")
    assert len(relative.parts) == 5 and relative.parts[0].isdigit() and len(relative.parts[3]) == 2


def test_no_capture_at_zero_percent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(
        tmp_path / "c.json", register(home, train_booster()), EnableDataCapture="true", SamplingPercentage="0"
    )
    with serving(home, config, workers=1) as running:
        for _ in range(10):
            assert running.invoke(ROW)[0] == 200
    assert not (home / "store" / "showcase-local" / "datacapture").exists()
