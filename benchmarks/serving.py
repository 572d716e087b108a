#!/usr/bin/env python3
"""Benchmark the local endpoint against MLflow's model server with the same booster, in one run.

    python benchmarks/serving.py [--duration 5] [--workers 2] [--skip-mlflow]

Measures, on loopback:
- single-row CSV requests at 1, 8 and 32 concurrent keep-alive clients: throughput, p50 and p99 latency, and the
  server's CPU time per request (all its processes: a figure other load on the machine moves less);
- 10,000-row CSV requests (1 and 2 clients in a row, 60 requests each after a warm-up one): rows per second;
- the floor: ``Booster.inplace_predict`` on the same 10,000 rows in this process (nthread=1 and all cores);
- a worker's work per batch without HTTP: the codec's decode, ``inplace_predict`` and encode, in this process;
- the server's CPU time per 10,000-row request (all its processes, from the kernel's accounting) against
  ``inplace_predict``'s CPU time for the same rows: a ratio that other load on the machine does not move, where
  the rows-per-second figures do (they are shares of the nthread=1 floor measured in the same run);
- for each batch run, how many workers served the clients' connections (both may land on one worker, which
  then runs the two batches on two of its threads) and how many cores other processes, and the hypervisor's
  steal, took meanwhile (from the kernel's machine-wide accounting): a 2-client share taken while other work
  held a core says little about the endpoint.

The load generator is ``wrk`` when it is installed (``apt-get install wrk``; C, one thread, little CPU of its
own), else a separate process of Python threads with persistent ``http.client`` connections (which needs a
core of its own and so understates both servers). The 10,000-row batches are sent by threads of this process,
each with one keep-alive ``http.client`` connection with TCP_NODELAY, as urllib3 (boto3's HTTP client) sends
them; boto3 also signs each request over a SHA-256 of its body, so a boto3 client costs more CPU than these
(about 0.5 ms a request here). The booster: 50 rounds of depth 5, the pipeline's
hyperparameters, on 10 seeded synthetic features. MLflow runs ``mlflow models serve --env-manager local`` with
as many workers as the endpoint. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import xgboost as xgb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from showcase.archives import write_model_archive  # noqa: E402
from showcase.registry import Registry  # noqa: E402
from showcase.store import ObjectStore  # noqa: E402

FEATURES = 10
BATCH_ROWS = 10_000
CONCURRENCY = (1, 8, 32)


def train() -> xgb.Booster:
    rng = np.random.default_rng(42)
    features = rng.normal(size=(4000, FEATURES))
    label = 10 + 3 * features[:, 0] - 2 * features[:, 1] + features[:, 2] * features[:, 3] + rng.normal(size=4000)
    params = {"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2, "nthread": 1, "seed": 0}
    return xgb.train(params, xgb.DMatrix(features, label=label), num_boost_round=50)


def csv_rows(rows: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(port: int, path: str, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(1200):  # up to ~120 s
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer on port {port}")


# -- servers ----------------------------------------------------------------------------------------


def start_endpoint(booster: xgb.Booster, home: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    model_file = home / "xgboost-model"
    model_file.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    archive = write_model_archive([model_file], home / "model.tar.gz")
    uri = ObjectStore(home / "store").put_file("s3://showcase-local/bench/model.tar.gz", archive)
    arn = Registry(home / "registry.sqlite").create_model_package(
        ModelPackageGroupName="Bench",
        InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": uri}]},
        ModelApprovalStatus="Approved",
    )["ModelPackageArn"]
    config = home / "config.json"
    parameters = {"ModelPackageName": arn, "EndpointName": "bench", "EnableDataCapture": "false"}
    config.write_text(json.dumps({"Parameters": parameters}))
    port = free_port()
    command = [sys.executable, "-m", "showcase", "endpoint", "serve", "--config", str(config), "--home", str(home)]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "WARNING"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(port, "/ping", process, "showcase-endpoint")
    return process, port


def start_mlflow(booster: xgb.Booster, home: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    import mlflow.xgboost

    model_dir = home / "mlflow-model"
    mlflow.xgboost.save_model(booster, str(model_dir))
    port = free_port()
    mlflow_cli = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    command = [mlflow_cli, "models", "serve", "-m", str(model_dir), "--env-manager", "local"]
    command += ["-p", str(port), "-h", "127.0.0.1", "-w", str(workers)]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # it runs `uvicorn` by name
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": f"file://{home / 'mlruns'}", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(port, "/ping", process, "mlflow models serve")
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


# -- load -------------------------------------------------------------------------------------------


def wrk_run(port: int, path: str, body: str, connections: int, duration: float) -> dict[str, float]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "text/csv"\n')
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s", str(script)]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=duration + 60
    ).stdout
    script.unlink()

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": millis("50"),
        "p99": millis("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def _python_client(port: int, path: str, body: bytes, stop_at: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors = [], 0
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        connection.request("POST", path, body, {"Content-Type": "text/csv"})
        response = connection.getresponse()
        response.read()
        errors += response.status != 200
        latencies.append(time.perf_counter() - started)
    out.put((latencies, errors))


def _python_load(
    port: int, path: str, body: bytes, connections: int, duration: float, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    stop_at = time.perf_counter() + duration
    threads = [
        threading.Thread(target=_python_client, args=(port, path, body, stop_at, out)) for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def python_run(port: int, path: str, body: str, connections: int, duration: float) -> dict[str, float]:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    process = multiprocessing.Process(
        target=_python_load, args=(port, path, body.encode(), connections, duration, queue)
    )
    process.start()
    results = [queue.get(timeout=duration + 120) for _ in range(connections)]
    process.join(timeout=60)
    latencies = np.array([value for lat, _ in results for value in lat]) * 1000
    return {
        "rps": len(latencies) / duration,
        "p50": float(np.percentile(latencies, 50)),
        "p99": float(np.percentile(latencies, 99)),
        "errors": float(sum(errors for _, errors in results)),
    }


def server_cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU seconds of the server process and its workers so far."""
    return sum(process_cpu_seconds(process).values())


def process_cpu_seconds(process: subprocess.Popen[bytes]) -> dict[int, float]:
    """User + system CPU seconds so far of the server process and of each of its workers, by pid."""
    server = psutil.Process(process.pid)
    seconds = {}
    for each in [server, *server.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[each.pid] = times.user + times.system
    return seconds


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine (and the hypervisor, as steal) has taken so far."""
    times = psutil.cpu_times()
    return float(
        sum(times)
        - times.idle
        - getattr(times, "iowait", 0.0)
        - getattr(times, "guest", 0.0)
        - getattr(times, "guest_nice", 0.0)
    )


def batch_rows_per_second(
    port: int, path: str, body: bytes, rows: int, clients: int, requests: int, warm_up: bool = True
) -> float:
    def one_client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.connect()  # TCP_NODELAY, as urllib3 (boto3's HTTP client) sets it: http.client sends the
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and a large body apart
        for _ in range(requests):
            connection.request("POST", path, body, {"Content-Type": "text/csv"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"batch request failed with {response.status}")

    if warm_up:
        one_client()
    threads = [threading.Thread(target=one_client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rows * requests * clients / (time.perf_counter() - started)


def floor_rows_per_second(booster: xgb.Booster, rows: np.ndarray, nthread: int) -> tuple[float, float]:
    """``inplace_predict``'s rows per second and its CPU seconds per call, with ``nthread`` threads."""
    booster.set_param({"nthread": nthread})
    booster.inplace_predict(rows)
    count, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < 2.0:
        booster.inplace_predict(rows)
        count += 1
    cpu = (time.process_time() - cpu_started) / count
    booster.set_param({"nthread": 1})
    return rows.shape[0] * count / (time.perf_counter() - started), cpu


def codec_rows_per_second(booster: xgb.Booster, body: bytes, rows: int) -> float:
    """What a worker does per batch, without HTTP: decode the CSV body, predict in place, encode the answer."""
    from showcase.serving import codec

    booster.set_param({"nthread": 1})
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 2.0:
        codec.encode(booster.inplace_predict(codec.decode(body, codec.CSV, FEATURES)), codec.CSV)
        count += 1
    return rows * count / (time.perf_counter() - started)


# -- main -------------------------------------------------------------------------------------------


Row = tuple[str, str, str, str, str]
Batch = tuple[float, float, float, int]
"""Rows per second, the server's CPU seconds per request, the cores other processes (and steal) took during the
run, and how many workers did the work (the clients' connections may land on one worker)."""


def measure(
    name: str,
    process: subprocess.Popen[bytes],
    port: int,
    path: str,
    row: str,
    batch: str,
    load: Callable[..., dict[str, float]],
    duration: float,
) -> tuple[list[Row], dict[int, Batch]]:
    """The table's rows for one server, and for 1 and 2 batch clients what ``Batch`` holds."""
    lines, batches = [], {}
    for connections in CONCURRENCY:
        cpu_before = server_cpu_seconds(process)
        result = load(port, path, row, connections, duration)
        cpu_us = (server_cpu_seconds(process) - cpu_before) / (result["rps"] * duration) * 1e6
        lines.append(
            (
                name,
                f"1 row, {connections} clients",
                f"{result['rps']:,.0f} req/s",
                f"p50 {result['p50']:.2f} ms / p99 {result['p99']:.2f} ms; server CPU {cpu_us:.0f} µs a request",
                f"{result['errors']:.0f}",
            )
        )
    for clients in (1, 2):
        requests = 60  # per client: about a second of load, against the floor's 2 s
        batch_rows_per_second(port, path, batch.encode(), BATCH_ROWS, 1, 1, warm_up=False)
        before, busy_before, own_before = process_cpu_seconds(process), machine_busy_seconds(), time.process_time()
        started = time.perf_counter()
        rate = batch_rows_per_second(port, path, batch.encode(), BATCH_ROWS, clients, requests, warm_up=False)
        wall = time.perf_counter() - started
        after = process_cpu_seconds(process)
        spent = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        cpu = sum(spent.values()) / (clients * requests)
        others = machine_busy_seconds() - busy_before - sum(spent.values()) - (time.process_time() - own_before)
        busy_workers = sum(seconds > 0.2 * max(spent.values()) for pid, seconds in spent.items() if pid != process.pid)
        batches[clients] = (rate, cpu, max(others, 0.0) / wall, busy_workers)
    return lines, batches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per single-row run (default: 5)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="workers per server")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure only the endpoint")
    args = parser.parse_args()

    os.environ["OMP_NUM_THREADS"] = "1"
    booster = train()
    rng = np.random.default_rng(1)
    single = rng.normal(size=(1, FEATURES))
    batch = rng.normal(size=(BATCH_ROWS, FEATURES))
    load = wrk_run if shutil.which("wrk") else python_run
    print(
        f"load generator: {'wrk' if load is wrk_run else 'python threads in a separate process'}; "
        f"{args.workers} workers per server; {os.cpu_count()} CPUs",
        flush=True,
    )

    table: list[Row] = []
    batches: dict[str, dict[int, Batch]] = {}
    with tempfile.TemporaryDirectory() as temp:
        home = Path(temp)
        (home / "endpoint").mkdir()
        process, port = start_endpoint(booster, home / "endpoint", args.workers)
        try:
            lines, batches["showcase-endpoint"] = measure(
                "showcase-endpoint",
                process,
                port,
                "/invocations",
                csv_rows(single),
                csv_rows(batch),
                load,
                args.duration,
            )
            table += lines
        finally:
            stop(process)
        if not args.skip_mlflow:
            header = ",".join(str(i) for i in range(FEATURES)) + "\n"
            (home / "mlflow").mkdir()
            process, port = start_mlflow(booster, home / "mlflow", args.workers)
            try:
                lines, batches["mlflow models serve"] = measure(
                    "mlflow models serve",
                    process,
                    port,
                    "/invocations",
                    header + csv_rows(single),
                    header + csv_rows(batch),
                    load,
                    args.duration,
                )
                table += lines
            finally:
                stop(process)
    floor, floor_cpu = 0.0, 0.0
    for nthread in (1, os.cpu_count() or 1):
        rate, cpu = floor_rows_per_second(booster, batch, nthread)
        floor, floor_cpu = floor or rate, floor_cpu or cpu
        table.append(
            ("in-process inplace_predict", f"{BATCH_ROWS:,} rows, nthread={nthread}", f"{rate:,.0f} rows/s", "", "")
        )
    for name, by_clients in batches.items():
        for clients, (rate, cpu, others, busy_workers) in by_clients.items():
            share = (
                f"{rate / floor:.0%} of inplace_predict; CPU {cpu * 1000:.1f} ms a request; "
                f"{busy_workers} worker(s) served; other processes took {others:.1f} cores"
            )
            table.append((name, f"{BATCH_ROWS:,} rows, {clients} client(s)", f"{rate:,.0f} rows/s", share, "0"))
    rate = codec_rows_per_second(booster, csv_rows(batch).encode(), BATCH_ROWS)
    share = f"{rate / floor:.0%} of inplace_predict, nthread=1"
    table.append(("in-process codec + predict", f"{BATCH_ROWS:,} rows, nthread=1", f"{rate:,.0f} rows/s", share, ""))
    table.append(
        (
            "CPU per 10,000-row request",
            "inplace_predict / server",
            f"{floor_cpu * 1000:.1f} ms / {batches['showcase-endpoint'][1][1] * 1000:.1f} ms",
            f"{floor_cpu / batches['showcase-endpoint'][1][1]:.0%}: predicting's share of the server's CPU",
            "",
        )
    )

    widths = [
        max(len(row[i]) for row in [*table, ("server", "load", "throughput", "latency", "non-2xx")]) for i in range(5)
    ]
    for row in [("server", "load", "throughput", "latency", "non-2xx"), *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
