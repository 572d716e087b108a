"""Deployments on a real endpoint under load: a canary of a broken model rolls back by itself, a canary of a good
model completes, a model-quality violation from ground truth trips the rollback alarm, and a promotion from staging
to production waits for its approval. Every wait is bounded; nothing asserts on time.

The canary share is checked on the requests that started and ended inside the canary step (after every worker took
the step, before the rollback began): each went to the new fleet with probability p, so their failures lie within
5 standard deviations of N p (a correct router misses this with a probability below 1e-6).
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from showcase import settings as settings_module
from showcase.monitoring.ground_truth import ground_truth_record
from showcase.monitoring.quality_runs import run_model_quality
from showcase.registry import Registry
from showcase.serving.deployment import read_deployment
from showcase.serving.rollout import list_deployments
from showcase.store import ObjectStore
from tests.serving_support import ROW, RunningServer, broken_model, cli, register, serving, train_booster, write_config

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
ENDPOINT = "test-endpoint"
GROUND_TRUTH = "s3://showcase-local/ground-truth/test-endpoint"


@dataclass(frozen=True)
class Sent:
    started: float
    ended: float
    status: int
    inference_id: str
    body: bytes


class Load:
    """Clients sending one row at a time over keep-alive connections to the Runtime API path, until stopped."""

    def __init__(self, port: int, clients: int = 4, endpoint_name: str = ENDPOINT) -> None:
        self.port, self.clients, self.path = port, clients, f"/endpoints/{endpoint_name}/invocations"
        self.sent: list[Sent] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(clients)]

    def _client(self, number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        count = 0
        while not self._stop.is_set():
            ident = f"c{number}-{count}"
            count += 1
            started = time.time()
            headers = {"Content-Type": "text/csv", "X-Amzn-SageMaker-Inference-Id": ident}
            try:
                connection.request("POST", self.path, body=ROW, headers=headers)
                response = connection.getresponse()
                body, status = response.read(), response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            with self._lock:
                self.sent.append(Sent(started, time.time(), status, ident, body))
        connection.close()

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def wait_for(self, count: int) -> None:
        for _ in range(600):
            if len(self.sent) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"only {len(self.sent)} requests were answered")


def event_time(record: dict[str, Any], starts_with: str) -> float:
    event = next(e for e in record["Events"] if e["Message"].startswith(starts_with))
    return datetime.fromisoformat(event["Time"]).timestamp()


@contextmanager
def endpoint(home: Path, arn: str, *, workers: int = 2, **extra: str) -> Iterator[RunningServer]:
    with serving(home, write_config(home / f"{arn.rsplit('/', 1)[-1]}.json", arn, **extra), workers=workers) as server:
        yield server


def canary_config(home: Path, arn: str, name: str = "canary.json", **extra: str) -> Path:
    return write_config(
        home / name,
        arn,
        **{"DeploymentStrategy": "CANARY", "CanarySizePercent": "20", "BakingPeriodSeconds": "60", **extra},
    )


def test_a_canary_of_a_model_that_fails_every_request_rolls_back_by_itself(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = register(home, train_booster())
    broken = register(home, broken_model())
    with endpoint(home, good) as server, Load(server.port) as load:
        load.wait_for(50)
        result = cli(home, "deploy", "--config", str(canary_config(home, broken)))
        after = len(load.sent)
        load.wait_for(after + 50)  # traffic after the rollback
    assert result.returncode == 1, result.stderr
    assert "rolled back to the fleet before: alarm test-endpoint-invocation-5xx-errors is in ALARM" in result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) < 1000 and "Traceback" not in result.stderr
    record = list_deployments(server.paths)[0]
    assert record["Outcome"] == "RolledBack" and record["Status"] == "InService"
    deployment = read_deployment(server.paths)
    assert deployment is not None and deployment.new_fleet is None and deployment.model_package_arn == good

    failed = [s for s in load.sent if s.status != 200]
    assert failed and all(s.status == 424 and json.loads(s.body)["OriginalStatusCode"] == 500 for s in failed)
    canary_from, rollback_from = event_time(record, "step 1 of 2"), event_time(record, "rolling back")
    rolled_back = event_time(record, "rolled back")
    inside = [s for s in load.sent if canary_from <= s.started and s.ended <= rollback_from]
    share = 0.2
    assert len(inside) >= 50
    failures = sum(s.status != 200 for s in inside)
    assert abs(failures - share * len(inside)) <= 5 * math.sqrt(len(inside) * share * (1 - share))
    assert all(s.status == 200 for s in load.sent if s.started > rolled_back)  # nothing fails after the rollback
    loaded = event_time(record, "the new fleet is loaded")  # the step is written after this, taken worker by worker
    assert all(s.status == 200 for s in load.sent if s.ended < loaded)  # nothing fails before the canary
    # The endpoint counted each failure against the canary's variant, and only there.
    workers = [json.loads(p.read_text()) for p in server.paths.workers_dir.glob("*.json")]
    canary_counts = [w["variants"].get(f"{record['FleetId']}/AllTraffic", {}) for w in workers]
    assert sum(c.get("errors_5xx", 0) for c in canary_counts) == len(failed)
    assert sum(c.get("requests", 0) for c in canary_counts) == len(failed)


def test_a_canary_of_a_good_model_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = register(home, train_booster())
    second = register(home, train_booster(offset=5.0))
    with endpoint(home, first) as server, Load(server.port, clients=2) as load:
        load.wait_for(20)
        config = canary_config(home, second, BakingPeriodSeconds="2", TerminationWaitSeconds="1")
        result = cli(home, "deploy", "--config", str(config))
        after = len(load.sent)
        load.wait_for(after + 20)
        status = cli(home, "status", "--endpoint-name", ENDPOINT, "--json")
    assert result.returncode == 0, result.stderr
    assert "step 1 of 2: 20% of the traffic on the new fleet; baking 2 s" in result.stderr
    assert "step 2 of 2: 100%" in result.stderr and f"now serves {second} (AllTraffic)" in result.stdout
    assert all(s.status == 200 for s in load.sent)
    record = list_deployments(server.paths)[0]
    assert record["Outcome"] == "Succeeded" and {a["StateValue"] for a in record["Alarms"]} <= {"OK"}
    deployment = read_deployment(server.paths)
    assert deployment is not None and deployment.model_package_arn == second and deployment.new_fleet is None
    assert deployment.previous is not None and deployment.previous.primary.model_package_arn == first
    summary = json.loads(status.stdout)
    assert (
        summary["LastDeployment"]["Outcome"] == "Succeeded" and summary["ProductionVariants"][0]["CurrentWeight"] == 1
    )


def test_a_model_quality_violation_from_ground_truth_trips_the_rollback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = ObjectStore(home / "store")
    evaluation = store.put_bytes(
        "s3://showcase-local/evaluation/evaluation.json",
        json.dumps({"regression_metrics": {"mse": {"value": 1.0}}}).encode(),
    )
    metrics = {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": evaluation}}}
    first = register(home, train_booster(), model_metrics=metrics)
    # The new model answers 5 more than the labels: it never fails a request, only its answers are wrong.
    second = register(home, train_booster(offset=5.0), model_metrics=metrics)
    capture = {"EnableDataCapture": "true", "SamplingPercentage": "100"}
    with endpoint(home, first, **capture) as server, Load(server.port, clients=2) as load:
        config = canary_config(
            home,
            second,
            CanarySizePercent="50",
            BakingPeriodSeconds="120",
            EnableModelQuality="true",
            ModelQualityMseThreshold="4",
            **capture,
        )
        settings = settings_module.load(home)
        deploying = threading.Thread(target=lambda: results.append(cli(home, "deploy", "--config", str(config))))
        results: list[Any] = []
        deploying.start()
        for _ in range(600):  # until the canary step takes traffic
            records = list_deployments(server.paths)
            if records and records[0].get("Step") == 1:
                break
            time.sleep(0.1)
        load.wait_for(len(load.sent) + 100)
        labels = [ground_truth_record(s.inference_id, float(s.body) - 5.0) for s in load.sent if s.status == 200]
        hour = datetime.now(timezone.utc)
        store.put_bytes(
            f"{GROUND_TRUTH}/{hour:%Y/%m/%d/%H}/labels.jsonl", "".join(json.dumps(r) + "\n" for r in labels).encode()
        )
        run = run_model_quality(
            settings, store, Registry(home / "registry.sqlite"), ENDPOINT, ground_truth_uri=GROUND_TRUTH
        )
        deploying.join(timeout=120)
    assert run["status"] == "CompletedWithViolations" and run["cloudwatch_metrics"]["mse"] > 4
    (result,) = results
    assert result.returncode == 1, result.stderr
    assert "alarm test-endpoint-model-quality-mse is in ALARM" in result.stderr
    assert "mse of 1 monitoring run(s)" in result.stderr
    deployment = read_deployment(server.paths)
    assert deployment is not None and deployment.model_package_arn == first


def test_production_is_untouched_until_the_promotion_is_approved(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old, new = register(home, train_booster()), register(home, train_booster(offset=5.0))
    staging_config = write_config(home / "staging.json", new, name="staging")
    prod_config = write_config(
        home / "prod.json", old, name="prod", DeploymentStrategy="ALL_AT_ONCE", BakingPeriodSeconds="1"
    )
    with serving(home, staging_config, workers=1), serving(home, prod_config, workers=1) as prod:
        before = read_deployment(prod.paths)
        refused = cli(home, "promote", "--from", "staging", "--to", "prod")
        assert refused.returncode == 1
        assert f"{new} is not approved for endpoint 'prod', which is left untouched" in refused.stderr
        assert read_deployment(prod.paths) == before and not list_deployments(prod.paths)
        package = Registry(home / "registry.sqlite").describe_model_package(ModelPackageName=new)
        assert package["ModelLifeCycle"]["Stage"] == "prod"
        assert package["ModelLifeCycle"]["StageStatus"] == "PendingApproval"

        approved = cli(
            home,
            "promote",
            "--from",
            "staging",
            "--to",
            "prod",
            "--approve",
            "--approver",
            "ana",
            "--comment",
            "MSE ok",
        )
        assert approved.returncode == 0, approved.stderr
        assert f"endpoint 'prod' now serves {new} (AllTraffic), promoted from 'staging'" in approved.stdout
        status, headers, _ = prod.request("POST", "/invocations", ROW, {"Content-Type": "text/csv"})
        assert status == 200 and headers["x-showcase-model-package"] == new
    life_cycle = Registry(home / "registry.sqlite").describe_model_package(ModelPackageName=new)["ModelLifeCycle"]
    assert life_cycle["StageStatus"] == "Approved" and life_cycle["StageDescription"].startswith("approved by ana at ")
    assert life_cycle["StageDescription"].endswith(": MSE ok")
