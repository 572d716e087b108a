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
import xgboost as xgb

from showcase.registry import Registry
from showcase.store import ObjectStore
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
    """Each execution gets its own SplitSeed, so each one's splits, model and reports differ from every other's: a
    write from one execution into another's keys would leave two of them equal, or an object that disagrees with the
    execution whose key it has."""
    definition, uploads = build_definition(tmp_path_factory.getbasetemp() / "reliability-definition", abalone_path)
    home = prepare_home(tmp_path / "home", uploads)
    seeds = list(range(101, 109))
    processes = [
        subprocess.Popen(
            local_cli(home, *start_args(definition, "NumRound=5", "MseThreshold=1000", f"SplitSeed={seed}")),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
        )
        for seed in seeds
    ]
    outputs = [process.communicate(timeout=240) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])

    records = [json.loads(path.read_text()) for path in sorted((home / "executions").glob("*/execution.json"))]
    assert len(records) == 8 and {r["status"] for r in records} == {"Succeeded"}
    assert sorted(int(r["parameters"]["SplitSeed"]) for r in records) == seeds
    # Different seeds, different inputs: no step can be a cache hit on another execution's.
    assert [s["name"] for r in records for s in r["steps"] if s.get("cached_from")] == []
    registry = Registry(home / "registry.sqlite")
    summaries = registry.list_model_packages(ModelPackageGroupName="crayonShowcasePackageGroup", MaxResults=100)
    packages = summaries["ModelPackageSummaryList"]
    assert sorted(p["ModelPackageVersion"] for p in packages) == list(range(1, 9))

    store = ObjectStore(home / "store")
    for record in records:
        execution_id, seed = record["execution_id"], int(record["parameters"]["SplitSeed"])
        steps = {step["name"]: step for step in record["steps"]}
        arn = steps["RegisterModel"]["properties"]["ModelPackageArn"]
        assert registry.describe_model_package_extras(ModelPackageName=arn)["Lineage"]["PipelineExecutionId"] == (
            execution_id
        )
        described = registry.describe_model_package(ModelPackageName=arn)
        model_url = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        assert f"/{execution_id}/" in model_url, (execution_id, model_url)
        # The objects under this execution's keys are this execution's: its seed's split, and a model whose
        # error on that split's test rows is the MSE the execution reported and registered.
        outputs_of = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in steps["PrepareData"]["properties"][
            "ProcessingOutputConfig"]["Outputs"]}  # fmt: skip
        assert all(f"/{execution_id}/" in uri for uri in outputs_of.values()), outputs_of
        metadata = json.loads(store.get_bytes(f"{outputs_of['metadata'].rstrip('/')}/preprocessing.json"))
        assert metadata["seed"] == seed, (execution_id, metadata["seed"], seed)
        test = np.loadtxt(store.get_bytes(f"{outputs_of['test'].rstrip('/')}/test.csv").decode().splitlines(),
                          delimiter=",")  # fmt: skip
        booster = model_from_archive(store.get_bytes(model_url), tmp_path / execution_id)
        mse = float(np.mean((booster.inplace_predict(test[:, 1:]) - test[:, 0]) ** 2))
        evaluation_uri = described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
        assert f"/{execution_id}/" in evaluation_uri, evaluation_uri
        reported = json.loads(store.get_bytes(evaluation_uri))["regression_metrics"]["mse"]["value"]
        assert mse == pytest.approx(reported, rel=1e-5), (execution_id, mse, reported)

    # Across executions, every object an execution wrote (model archives included) differs from the object at the
    # same place under every other execution: an overwrite or an interleaved write would leave two alike.
    digests = store_digests(home / "store")
    assert not [key for key in digests if "/." in key or key.startswith(".")], "temporary files left visible"
    executions = {record["execution_id"] for record in records}
    by_suffix: dict[str, dict[str, str]] = {}
    for key, digest in digests.items():
        parts = key.split("/")
        if len(parts) > 3 and parts[2] in executions:  # showcase-local/crayonShowcase/<execution id>/...
            suffix = "/".join(part.replace(parts[2], "ID") for part in parts[3:])
            by_suffix.setdefault(suffix, {})[parts[2]] = digest
    assert any(suffix.endswith("model.tar.gz") for suffix in by_suffix), sorted(by_suffix)
    # The baseline's constraints hold only each column's type, completeness and sign, which every seed's split
    # shares: alike by content, so an overwrite there cannot show (and could do no harm); every other object can.
    alike_by_content = {"data-quality-baseline/constraints.json"}
    for suffix, found in by_suffix.items():
        assert set(found) == executions, (suffix, sorted(found))
        if suffix not in alike_by_content:
            assert len(set(found.values())) == 8, (suffix, found)


def model_from_archive(archive: bytes, directory: Path) -> xgb.Booster:
    from showcase.archives import extract_model_archive

    directory.mkdir(parents=True)
    (directory / "model.tar.gz").write_bytes(archive)
    (model,) = extract_model_archive(directory / "model.tar.gz", directory / "model")
    booster = xgb.Booster()
    booster.load_model(bytearray(model.read_bytes()))
    return booster
