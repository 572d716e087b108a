#!/usr/bin/env python3
"""A local canary under load: a model that fails every request is deployed as a canary, and rolls back by itself.

    python benchmarks/canary.py [--client auto|wrk|python] [--connections 16] [--workers 2] [--canary 10]

An endpoint serves a good model with ``--workers`` workers while a load client keeps ``--connections`` keep-alive
connections busy with one-row CSV requests. After a warm-up, ``showcase-endpoint deploy`` sends a model that
answers ``inf`` for every row (so the endpoint answers 500) as a CANARY of ``--canary`` percent with a 300 s baking
period and the template's alarms (5xx rate above 1 % of a 60 s period, p99 ModelLatency above 100 ms). Prints:

- the requests that failed before the rollback (the endpoint's own count of the canary's 5xx answers, and the load
  client's count of non-2xx answers: the two agree when nothing else failed);
- the time from the first failure to the rollback: the first failure comes after the canary's share is written
  (once the new fleet has loaded) and by the time every worker took it, so the figure is a range between the two;
  the rollback is done when every worker serves the old fleet alone;
- the throughput of the load over the run.

The load client is ``wrk`` (Debian's package: ``apt-get install wrk``) when it is installed, else the project's own:
a process of Python threads with persistent ``http.client`` connections, which needs a core of its own and so
loads the endpoint less. Asserts nothing.
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
from datetime import datetime
from pathlib import Path

import numpy as np
import xgboost as xgb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from showcase.archives import write_model_archive  # noqa: E402
from showcase.registry import Registry  # noqa: E402
from showcase.serving.deployment import EndpointPaths  # noqa: E402
from showcase.serving.metrics import read_worker_files  # noqa: E402
from showcase.serving.rollout import list_deployments  # noqa: E402
from showcase.store import ObjectStore  # noqa: E402

FEATURES = 10
ROW = ",".join(["0.5"] * FEATURES)
NAME = "bench-canary"


def boosters() -> tuple[bytes, bytes]:
    """A good model, and one that loads and passes its probe but answers inf for every real row."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, FEATURES))
    label = 10.0 + 3.0 * features[:, 0]
    params = {"objective": "reg:squarederror", "max_depth": 5, "nthread": 1, "seed": 0}
    good = xgb.train(params, xgb.DMatrix(features, label=label), num_boost_round=50)
    small = xgb.train({**params, "max_depth": 1}, xgb.DMatrix(features, label=label), num_boost_round=1)
    document = json.loads(bytes(small.save_raw(raw_format="json")))
    tree = document["learner"]["gradient_booster"]["model"]["trees"][0]
    tree["split_conditions"], tree["default_left"] = [1e30, 1e39, 0.25], [0, 0, 0]
    return bytes(good.save_raw(raw_format="ubj")), json.dumps(document).encode()


def register(home: Path, model: bytes, name: str) -> str:
    work = home / "work" / name
    work.mkdir(parents=True)
    (work / "xgboost-model").write_bytes(model)
    archive = write_model_archive([work / "xgboost-model"], work / "model.tar.gz")
    uri = ObjectStore(home / "store").put_file(f"s3://showcase-local/bench/{name}/model.tar.gz", archive)
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    return str(
        Registry(home / "registry.sqlite").create_model_package(
            ModelPackageGroupName="Bench",
            InferenceSpecification={"Containers": [{"Image": image, "ModelDataUrl": uri}]},
            ModelApprovalStatus="Approved",
        )["ModelPackageArn"]
    )


def config(home: Path, arn: str, name: str, **extra: str) -> Path:
    path = home / f"{name}.json"
    parameters = {"ModelPackageName": arn, "EndpointName": NAME, "EnableDataCapture": "false", **extra}
    path.write_text(json.dumps({"Parameters": parameters}))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


def serve(home: Path, config_path: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "showcase.cli.endpoint", "serve", "--config", str(config_path)]
    command += ["--home", str(home), "--port", str(port), "--workers", str(workers), "--log-level", "WARNING"]
    process = subprocess.Popen(command, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"the endpoint exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the endpoint did not answer /ping")


def wrk_load(port: int, connections: int, seconds: float, out: dict[str, float]) -> None:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{ROW}"\nwrk.headers["Content-Type"] = "text/csv"\n')
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/invocations",
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    script.unlink()
    total = re.search(r"(\d+) requests in", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    out.update(
        requests=float(total.group(1)) if total else float("nan"), errors=float(errors.group(1)) if errors else 0.0
    )


def _python_client(port: int, stop_at: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    requests = errors = 0
    while time.time() < stop_at:
        connection.request("POST", "/invocations", ROW, {"Content-Type": "text/csv"})
        response = connection.getresponse()
        response.read()
        requests += 1
        errors += response.status != 200
    queue.put((requests, errors))


def _python_process(port: int, connections: int, stop_at: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    threads = [threading.Thread(target=_python_client, args=(port, stop_at, queue)) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def python_load(port: int, connections: int, seconds: float, out: dict[str, float]) -> None:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    process = multiprocessing.Process(target=_python_process, args=(port, connections, time.time() + seconds, queue))
    process.start()
    results = [queue.get(timeout=seconds + 120) for _ in range(connections)]
    process.join(timeout=60)
    out.update(requests=float(sum(r for r, _ in results)), errors=float(sum(e for _, e in results)))


def moment(record: dict[str, object], starts_with: str) -> float:
    events = record["Events"]
    assert isinstance(events, list)
    event = next(e for e in events if e["Message"].startswith(starts_with))
    return datetime.fromisoformat(event["Time"]).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--canary", type=int, default=10, help="CanarySizePercent (1 to 50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the load lasts (default: 20)")
    args = parser.parse_args()
    client = args.client
    if client in ("auto", "wrk") and shutil.which("wrk") is None:
        print(
            "wrk is not installed (Debian: apt-get install wrk); using the project's own load client", file=sys.stderr
        )
        client = "python"
    elif client == "auto":
        client = "wrk"

    home = Path(tempfile.mkdtemp(prefix="canary-bench-"))
    try:
        good, broken = boosters()
        good_arn, broken_arn = register(home, good, "good"), register(home, broken, "broken")
        server, port = serve(home, config(home, good_arn, "good"), args.workers)
        try:
            result: dict[str, float] = {}
            load = threading.Thread(
                target=wrk_load if client == "wrk" else python_load, args=(port, args.connections, args.seconds, result)
            )
            load.start()
            time.sleep(3.0)  # warm-up: every connection open, the workers busy
            canary = config(
                home, broken_arn, "broken", DeploymentStrategy="CANARY", CanarySizePercent=str(args.canary),
                BakingPeriodSeconds="300",
            )  # fmt: skip
            started = time.time()
            deploy = subprocess.run(
                [sys.executable, "-m", "showcase.cli.endpoint", "deploy", "--config", str(canary), "--home", str(home)],
                env=environment(), capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            deploy_seconds = time.time() - started
            load.join()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        paths = EndpointPaths(home, NAME)
        record = list_deployments(paths)[0]
        fleet = f"{record['FleetId']}/AllTraffic"
        counts = [worker.get("variants", {}).get(fleet, {}) for worker in read_worker_files(paths.workers_dir)]
        failed = sum(int(c.get("errors_5xx", 0)) for c in counts)
        canary_requests = sum(int(c.get("requests", 0)) for c in counts)
        written, taken = moment(record, "the new fleet is loaded"), moment(record, "step 1 of 2")
        back = moment(record, "rolled back")
        last_line = deploy.stderr.strip().splitlines()[-1][:160]
        print(f"deploy exited {deploy.returncode} after {deploy_seconds:.1f} s: {last_line}")
        print()
        header = ["client", "connections", "workers", "canary", "failed before rollback", "client non-2xx",
                  "first failure -> rollback", "requests/s"]  # fmt: skip
        row = [
            "wrk" if client == "wrk" else "python threads",
            str(args.connections),
            str(args.workers),
            f"{args.canary}%",
            f"{failed} of {canary_requests} canary requests",
            f"{result.get('errors', float('nan')):.0f}",
            f"{back - taken:.2f}-{back - written:.2f} s",
            f"{result.get('requests', float('nan')) / args.seconds:,.0f}",
        ]
        widths = [max(len(h), len(v)) for h, v in zip(header, row, strict=True)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
