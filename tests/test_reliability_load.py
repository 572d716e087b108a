"""Load on loopback: the endpoint under 64 concurrent clients, and eight pipeline executions started at once.

Nothing here asserts on time: the load runs for a fixed few seconds and the assertions are on errors, worker
memory and what the executions left behind. ``benchmarks/reliability.py`` prints the figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from showcase.registry import Registry
from tests.reliability_support import (
    build_definition,
    clean_env,
    local_cli,
    prepare_home,
    rss_mb,
    run_load,
    start_args,
)
from tests.serving_support import ROW, RunningServer, register, serving, train_booster, write_config

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
CLIENTS, SECONDS = 64, 5.0
MAX_GROWTH_MB = 50.0


def expected_body() -> str:
    values = np.array([[float(v) for v in ROW.split(",")]])
    return f"{float(train_booster().inplace_predict(values)[0])}\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("load-home")
    config = write_config(home / "config.json", register(home, train_booster()))
    with serving(home, config, workers=2) as running:
        yield running


def test_64_clients_for_5_seconds_get_no_error_and_workers_stay_flat(server: RunningServer) -> None:
    expect = expected_body()
    warm = run_load(server.port, ROW, expect, clients=4, seconds=0.5)  # every worker has allocated its buffers
    assert warm.errors == []
    workers = server.workers()
    before = {pid: rss_mb(pid) for pid in workers}

    result = run_load(server.port, ROW, expect, clients=CLIENTS, seconds=SECONDS)

    after = {pid: rss_mb(pid) for pid in workers}
    print(f"\n{result.requests} requests, p50 {result.percentile_ms(50):.2f} ms, p99 {result.percentile_ms(99):.2f} ms")
    print("RSS MB before/after per worker:", {pid: (round(before[pid]), round(after[pid])) for pid in workers})
    assert result.errors == [], result.errors[:5]
    assert result.requests > CLIENTS  # every client got answers, not just one each
    assert server.workers() == workers, "a worker died or was replaced under load"
    for pid in workers:
        assert after[pid] - before[pid] < MAX_GROWTH_MB, (pid, before[pid], after[pid])


def test_a_worker_killed_under_load_fails_only_requests_in_flight_and_is_replaced(tmp_path: Path) -> None:
    """16 keep-alive clients for 3 s; one of two workers is SIGKILLed after 1 s. A request fails only when the
    connection it was on dies with the worker: at most one per client, never a wrong answer or a 5xx; the worker is
    replaced and everything after answers (``benchmarks/reliability.py`` prints how many fail at 64 clients)."""
    clients = 16
    config = write_config(tmp_path / "config.json", register(tmp_path, train_booster()))
    with serving(tmp_path, config, workers=2) as running:
        expect = expected_body()
        assert run_load(running.port, ROW, expect, clients=2, seconds=0.3).errors == []
        victim = running.workers()[0]
        killer = threading.Timer(1.0, os.kill, args=(victim, signal.SIGKILL))
        killer.start()
        result = run_load(running.port, ROW, expect, clients=clients, seconds=3.0)
        killer.join()
        print(f"\n{result.requests} requests, {len(result.errors)} failed: {sorted(set(result.errors))[:3]}")
        assert not [error for error in result.errors if error[:1].isdigit()], result.errors[:5]  # no HTTP answer
        assert len(result.errors) <= clients
        assert result.requests > 10 * clients
        for _ in range(600):  # bounded: until the arbiter has a new second worker
            current = running.workers()
            if len(current) == 2 and victim not in current:
                break
            time.sleep(0.05)
        assert victim not in current and len(current) == 2
        assert run_load(running.port, ROW, expect, clients=4, seconds=0.5).errors == []


# -- eight executions at once ------------------------------------------------------------------------------


def store_digests(store: Path) -> dict[str, str]:
    return {
        path.relative_to(store).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(store.rglob("*"))
        if path.is_file()
    }


def test_eight_executions_at_once_all_succeed_with_consecutive_versions(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, abalone_path: Path
) -> None:
    definition, uploads = build_definition(tmp_path_factory.getbasetemp() / "reliability-definition", abalone_path)
    home = prepare_home(tmp_path / "home", uploads)
    args = start_args(definition, "NumRound=5", "MseThreshold=1000")
    processes = [
        subprocess.Popen(local_cli(home, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=240) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])

    records = [json.loads(path.read_text()) for path in sorted((home / "executions").glob("*/execution.json"))]
    assert len(records) == 8 and {r["status"] for r in records} == {"Succeeded"}
    registry = Registry(home / "registry.sqlite")
    summaries = registry.list_model_packages(ModelPackageGroupName="crayonShowcasePackageGroup", MaxResults=100)
    packages = summaries["ModelPackageSummaryList"]
    assert sorted(p["ModelPackageVersion"] for p in packages) == list(range(1, 9))

    # Each registration names its own execution, and the model it names is intact.
    registered, trained_by = {}, {}
    for record in records:
        steps = {step["name"]: step for step in record["steps"]}
        registered[record["execution_id"]] = steps["RegisterModel"]["properties"]["ModelPackageArn"]
        # The model is the one this execution trained, or, when TrainModel was a cache hit on a run that had
        # already finished (a concurrent run still in flight is never a hit), the model that run trained.
        trained_by[record["execution_id"]] = steps["TrainModel"]["cached_from"] or record["execution_id"]
    assert len(set(registered.values())) == 8
    for execution_id, arn in registered.items():
        extras = registry.describe_model_package_extras(ModelPackageName=arn)
        assert extras["Lineage"]["PipelineExecutionId"] == execution_id
        described = registry.describe_model_package(ModelPackageName=arn)
        model_url = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        assert f"/{trained_by[execution_id]}/" in model_url, (execution_id, model_url)
        assert (home / "store" / model_url.removeprefix("s3://")).is_file(), (execution_id, model_url)

    # No object of one execution was written by another: every object an execution's steps ran to write lives
    # under its own id, and the run's outputs are byte-identical across executions that ran the job (same
    # seed, same data, same hyperparameters): a clobbered or interleaved file would differ.
    digests = store_digests(home / "store")
    assert not [key for key in digests if "/." in key or key.startswith(".")], "temporary files left visible"
    by_suffix: dict[str, set[str]] = {}
    for key, digest in digests.items():
        parts = key.split("/")
        if len(parts) > 3 and parts[2] in registered:  # showcase-local/crayonShowcase/<execution id>/...
            suffix = "/".join(part.replace(parts[2], "ID") for part in parts[3:])
            by_suffix.setdefault(suffix, set()).add(digest)
    assert by_suffix, sorted(digests)[:20]
    for suffix, found in by_suffix.items():
        if not suffix.startswith("model/"):  # a model archive is the same too, but its key names the job
            assert len(found) == 1, (suffix, found)
    ran = {
        record["execution_id"]
        for record in records
        for step in record["steps"]
        if step["name"] == "TrainModel" and step["status"] == "Succeeded"
    }
    assert ran, "no execution trained (all cache hits?)"
