"""Model quality from ground truth: Model Monitor's regression statistics, constraints and violations, the merge of
ground truth with captured predictions (inferenceId, else eventId), and a run over a real endpoint's captures."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from showcase import settings as settings_module
from showcase.errors import MonitoringError
from showcase.monitoring import model_quality
from showcase.monitoring.captures import capture_prefix
from showcase.monitoring.ground_truth import NO_CAPTURE, NO_LABEL, ground_truth_record, merge_ground_truth
from showcase.monitoring.quality_runs import list_model_quality_runs, run_model_quality
from showcase.monitoring.runs import list_runs
from showcase.registry import Registry
from showcase.serving.app import EndpointApp
from showcase.serving.capture import CaptureWriter
from showcase.serving.deployment import DEFAULT_CAPTURE_URI, CaptureConfig
from showcase.statuses import MonitoringStatus
from showcase.store import ObjectStore
from tests.serving_support import ROW, register, train_booster
from tests.test_serving_variants import deploy

ENDPOINT = "test-endpoint"
GROUND_TRUTH = "s3://showcase-local/ground-truth/test-endpoint"


def test_metrics_are_the_textbook_ones_with_a_standard_deviation_from_200_pairs() -> None:
    actual = np.array([3.0, 5.0, 7.0, 9.0])
    predicted = np.array([2.0, 5.0, 9.0, 9.0])
    document = model_quality.statistics(actual, predicted, datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    metrics = document["regression_metrics"]
    assert document["dataset"] == {"item_count": 4, "evaluation_time": "2026-01-02T03:04:05.000Z"}
    assert metrics["mse"] == {"value": 1.25} and metrics["mae"] == {"value": 0.75}
    assert metrics["rmse"]["value"] == pytest.approx(1.25**0.5)
    assert metrics["r2"]["value"] == pytest.approx(1 - 5.0 / 20.0)
    rng = np.random.default_rng(1)
    many = rng.normal(size=300)
    noisy = many + rng.normal(scale=0.5, size=300)
    large = model_quality.regression_metrics(many, noisy)
    assert all(0 < large[name]["standard_deviation"] < abs(large[name]["value"]) for name in ("mse", "mae", "rmse"))
    assert large == model_quality.regression_metrics(many, noisy)  # seeded samples: a run repeats
    assert "standard_deviation" not in model_quality.regression_metrics(many[:199], noisy[:199])["mse"]


def test_suggested_constraints_and_violations_in_model_monitor_format() -> None:
    baseline = model_quality.statistics(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.5]))
    constraints = model_quality.suggest_constraints(baseline)
    assert constraints["version"] == 0.0
    assert {name: c["comparison_operator"] for name, c in constraints["regression_constraints"].items()} == {
        "mae": "GreaterThanThreshold",
        "mse": "GreaterThanThreshold",
        "rmse": "GreaterThanThreshold",
        "r2": "LessThanThreshold",
    }
    assert model_quality.violations(baseline, constraints) == []
    worse = model_quality.statistics(np.array([1.0, 2.0, 3.0]), np.array([4.0, 0.0, 3.0]))
    found = model_quality.violations(worse, constraints)
    assert [v["metric_name"] for v in found] == ["mae", "mse", "rmse", "r2"]
    assert found[1] == {
        "metric_name": "mse",
        "constraint_check_type": "GreaterThanThreshold",
        "description": f"Metric mse with {13 / 3:.6g} was GreaterThanThreshold '{1 / 6:g}'",
    }
    assert model_quality.cloudwatch_metrics(worse)["mse"] == pytest.approx(13 / 3)
    with pytest.raises(MonitoringError, match="comparison_operator 'Bigger' is not one of"):
        model_quality.violations(
            worse, {"regression_constraints": {"mse": {"threshold": 1, "comparison_operator": "Bigger"}}}
        )


def test_a_baseline_of_a_headerless_csv_of_predictions_and_labels() -> None:
    document = model_quality.statistics_of_dataset("2.0,3.0\n5.0,5.0\n9.0,7.0\n", "_c0", "1")
    assert document["regression_metrics"]["mse"]["value"] == pytest.approx(5 / 3)
    with pytest.raises(MonitoringError, match="ground_truth_attribute '_c5' names no column of the dataset's 2"):
        model_quality.statistics_of_dataset("1,2\n", "0", "_c5")
    with pytest.raises(MonitoringError, match="inference_attribute '0': row 2 holds no number"):
        model_quality.statistics_of_dataset("1,2\nx,3\n", "0", "1")


def put_ground_truth(store: ObjectStore, records: list[dict[str, Any]], hour: datetime, name: str = "labels") -> None:
    key = f"{GROUND_TRUTH}/{hour:%Y/%m/%d/%H}/{name}.jsonl"
    store.put_bytes(key, "".join(json.dumps(record) + "\n" for record in records).encode())


def test_ground_truth_joins_on_inference_id_else_event_id(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "store")
    writer = CaptureWriter(store, CaptureConfig(True, 100, DEFAULT_CAPTURE_URI), ENDPOINT)
    writer.maybe_capture("text/csv", b"1,2", "text/csv", b"10.0\n", inference_id="order-1")
    writer.maybe_capture("text/csv", b"1,2\n3,4", "text/csv", b"11.0\n12.0\n", inference_id="order-2")
    writer.maybe_capture("text/csv", b"1,2", "text/csv", b"13.0\n")  # no inference id: joined on its eventId
    writer.maybe_capture("text/csv", b"1,2", "text/csv", b"14.0\n", inference_id="order-4")  # no label yet
    writer.close()
    prefix = capture_prefix(DEFAULT_CAPTURE_URI, ENDPOINT)
    lines = [json.loads(line) for uri in store.list(prefix) for line in store.get_bytes(uri).splitlines()]
    event_id = lines[2]["eventMetadata"]["eventId"]
    now = datetime.now(timezone.utc)
    put_ground_truth(
        store,
        [
            ground_truth_record("order-1", 9),
            ground_truth_record("order-2", "12\n10"),
            ground_truth_record(event_id, 13),
            ground_truth_record("someone-else", 1),
            ground_truth_record("order-1", 9),  # uploaded twice: counts once
        ],
        now,
    )
    store.put_bytes(f"{GROUND_TRUTH}/{now:%Y/%m/%d/%H}/broken.jsonl", b'{"eventMetadata": {}}\n')
    merge = merge_ground_truth(store, GROUND_TRUTH, [prefix], since=None, until=now + timedelta(seconds=5))
    assert merge.captures == 4 and merge.labels == 5 and merge.matched == 3
    assert merge.actual == [9.0, 12.0, 10.0, 13.0] and merge.predicted == [10.0, 11.0, 12.0, 13.0]
    assert merge.unpaired[NO_LABEL] == 1 and merge.unpaired[NO_CAPTURE] == 1
    assert any("not a ground-truth record" in example for example in merge.examples)


def invoke(app: EndpointApp, inference_id: str) -> float:
    async def call() -> bytes:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": ROW.encode(), "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        headers = [(b"content-type", b"text/csv"), (b"x-amzn-sagemaker-inference-id", inference_id.encode())]
        await app({"type": "http", "method": "POST", "path": "/invocations", "headers": headers}, receive, send)
        return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

    return float(asyncio.run(call()))


def registered_with_evaluation(home: Path, mse: float) -> str:
    """A package whose ModelMetrics.ModelQuality statistics are an evaluation.json of the given mse."""
    store = ObjectStore(home / "store")
    uri = store.put_bytes(
        "s3://showcase-local/evaluation/evaluation.json",
        json.dumps({"regression_metrics": {"mse": {"value": mse}, "rmse": {"value": mse**0.5}}}).encode(),
    )
    statistics = {"ContentType": "application/json", "S3Uri": uri}
    return register(home, train_booster(), model_metrics={"ModelQuality": {"Statistics": statistics}})


@pytest.mark.parametrize(("label_offset", "status"), [(0.5, "Completed"), (4.0, "CompletedWithViolations")])
def test_a_run_measures_the_endpoints_answers_against_their_ground_truth(
    tmp_path: Path, label_offset: float, status: str
) -> None:
    home = tmp_path / "home"
    arn = registered_with_evaluation(home, mse=1.0)
    paths = deploy(home, arn, EnableDataCapture="true", SamplingPercentage="100")
    store = ObjectStore(home / "store")
    app = EndpointApp.from_home(paths, store)
    predictions = [invoke(app, f"request-{n}") for n in range(30)]
    app.close()
    put_ground_truth(
        store,
        [ground_truth_record(f"request-{n}", p + label_offset) for n, p in enumerate(predictions)],
        datetime.now(timezone.utc),
    )
    settings = settings_module.load(home)
    run = run_model_quality(
        settings, store, Registry(home / "registry.sqlite"), ENDPOINT, ground_truth_uri=GROUND_TRUTH
    )
    assert run["status"] == status and run["matched"] == run["pairs"] == 30
    assert run["cloudwatch_metrics"]["mse"] == pytest.approx(label_offset**2)
    assert run["constraints"].startswith("suggested from s3://showcase-local/evaluation/evaluation.json")
    assert [v["metric_name"] for v in run["violations"]] == ([] if status == "Completed" else ["mse", "rmse"])
    saved = json.loads(store.get_bytes(run["constraint_violations"]))
    assert saved == {"violations": run["violations"]}
    assert list_model_quality_runs(store, ENDPOINT) == [run]
    assert list_runs(store, ENDPOINT) == []  # data-quality runs are listed apart
    again = run_model_quality(
        settings, store, Registry(home / "registry.sqlite"), ENDPOINT, ground_truth_uri=GROUND_TRUTH
    )
    assert again["status"] == MonitoringStatus.FAILED and again["since"] == run["until"]  # the next window: nothing new


def test_the_monitor_command_runs_model_quality_and_exits_3_on_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from showcase.cli import monitor

    home = tmp_path / "home"
    paths = deploy(home, registered_with_evaluation(home, mse=1.0), EnableDataCapture="true", SamplingPercentage="100")
    store = ObjectStore(home / "store")
    app = EndpointApp.from_home(paths, store)
    predictions = [invoke(app, f"r{n}") for n in range(5)]
    app.close()
    records = [ground_truth_record(f"r{n}", p + 3.0) for n, p in enumerate(predictions)]
    put_ground_truth(store, records, datetime.now(timezone.utc))
    base = ["--home", str(home), "run", "--endpoint", ENDPOINT]
    assert monitor.main([*base, "--ground-truth", GROUND_TRUTH]) == monitor.EXIT_VIOLATIONS
    out = capsys.readouterr().out
    assert "5 captured inferences, 5 labels, 5 joined" in out and "mse 9  rmse 3" in out
    assert "Metric mse with 9 was GreaterThanThreshold '1'" in out
    assert monitor.main(["--home", str(home), "list", "--endpoint", ENDPOINT, "--model-quality"]) == 0
    assert "CompletedWithViolations" in capsys.readouterr().out
    from showcase.errors import UsageError

    with pytest.raises(UsageError, match="--constraints and --variant are for a model-quality run"):
        monitor.main([*base, "--constraints", "s3://x/c.json"])
