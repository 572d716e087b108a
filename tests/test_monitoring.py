"""Data-quality monitoring of captured traffic: real captures (written by the endpoint's own capture writer) of
the real Abalone splits, checked against a baseline computed from the train split, through the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showcase import preprocess
from showcase.archives import write_model_archive
from showcase.cli.common import run_cli
from showcase.cli.main import main as showcase_main
from showcase.monitoring import profile as profile_module
from showcase.monitoring.captures import CaptureScan, capture_prefix, read_rows
from showcase.monitoring.profile import Profile, type_counts
from showcase.monitoring.runs import list_runs, run_monitoring
from showcase.monitoring.statistics import cdf_distance, sketch_items, statistics, suggest_constraints
from showcase.registry import Registry
from showcase.serving.capture import CaptureWriter
from showcase.serving.deployment import DEFAULT_CAPTURE_URI, CaptureConfig, Deployment, EndpointPaths, write_deployment
from showcase.serving.fleet import Fleet
from showcase.settings import load
from showcase.store import ObjectStore
from tests.serving_support import XGBOOST_IMAGE, train_booster

REPO = Path(__file__).resolve().parents[1]
ENDPOINT = "watched-endpoint"


def main(argv: list[str]) -> int:
    """``showcase monitor ARGV``, in this process."""
    return showcase_main(["monitor", *argv])


@pytest.fixture(scope="module")
def splits(abalone_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """PrepareData's real outputs: feature rows (as the endpoint receives them) and the scaler."""
    out = tmp_path_factory.mktemp("prepared")
    assert preprocess.main(["--input-data", str(abalone_path), "--output-dir", str(out)]) == 0
    metadata = json.loads((out / "metadata" / "preprocessing.json").read_text())
    test = [line.split(",", 1)[1] for line in (out / "test" / "test.csv").read_text().splitlines()]
    return {"baseline_dir": out / "baseline", "test": test, "metadata": metadata}


def make_home(root: Path, splits: dict[str, Any]) -> Path:
    """A state directory with a registered package carrying a baseline, and an endpoint deployed from it."""
    home = root / "home"
    store = ObjectStore(home / "store")
    rows = (splits["baseline_dir"] / "train_features.csv").read_text().splitlines()
    baseline = statistics(Profile.of_rows(rows))
    stats_uri = store.put_bytes("s3://showcase-local/baseline/statistics.json", json.dumps(baseline).encode())
    constraints = json.dumps(suggest_constraints(baseline)).encode()
    constraints_uri = store.put_bytes("s3://showcase-local/baseline/constraints.json", constraints)
    model_file = root / "xgboost-model"
    model_file.write_bytes(bytes(train_booster().save_raw(raw_format="ubj")))
    model_uri = store.put_file(
        "s3://showcase-local/model/model.tar.gz", write_model_archive([model_file], root / "m.tgz")
    )
    quality = {
        "Statistics": {"ContentType": "application/json", "S3Uri": stats_uri},
        "Constraints": {"ContentType": "application/json", "S3Uri": constraints_uri},
    }
    arn = Registry(home / "registry.sqlite").create_model_package(
        ModelPackageGroupName="Watched",
        InferenceSpecification={
            "Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": model_uri}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="Approved",
        ModelMetrics={"ModelDataQuality": quality},
        DriftCheckBaselines={"ModelDataQuality": quality},
    )["ModelPackageArn"]
    capture = CaptureConfig(enabled=True, sampling_percentage=100, destination_uri=DEFAULT_CAPTURE_URI)
    write_deployment(
        EndpointPaths(home, ENDPOINT), Deployment(ENDPOINT, Fleet.single(1, arn, model_uri, str(root)), 1, capture)
    )
    return home


def capture(home: Path, bodies: list[str]) -> None:
    """Each body captured as one request, by the endpoint's own capture writer."""
    writer = CaptureWriter(ObjectStore(home / "store"), CaptureConfig(True, 100, DEFAULT_CAPTURE_URI), ENDPOINT)
    for body in bodies:
        assert writer.maybe_capture("text/csv", body.encode(), "text/csv; charset=utf-8", b"9.5\n")
    writer.close()


def monitor(home: Path, *args: str, endpoint: str = ENDPOINT) -> subprocess.CompletedProcess[str]:
    """``showcase-monitor run`` in this process (its entry point, error boundary and exit code included)."""
    argv = ["--home", str(home), "run", "--endpoint", endpoint, *args]
    out, err = io.StringIO(), io.StringIO()
    handlers = logging.getLogger().handlers[:]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = run_cli(main, argv)
            except SystemExit as exc:  # argparse's usage errors
                code = int(exc.code or 0)
    finally:
        logging.getLogger().handlers[:] = handlers
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def checks(run: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((v["feature_name"], v["constraint_check_type"]) for v in run["violations"])


def run_on(tmp_path: Path, splits: dict[str, Any], change: Callable[[int, str], str]) -> dict[str, Any]:
    home = make_home(tmp_path, splits)
    capture(home, [change(index, row) for index, row in enumerate(splits["test"])])
    settings = load(home)
    return run_monitoring(settings, ObjectStore(settings.store_root), Registry(settings.registry_path), ENDPOINT)


def test_replayed_test_split_gives_no_violations(tmp_path: Path, splits: dict[str, Any]) -> None:
    home = make_home(tmp_path, splits)
    capture(home, splits["test"][:300])
    capture(home, ["\n".join(splits["test"][300:])])  # one request of many rows: each row is a record
    result = subprocess.run(  # the installed console script's module, as a user runs it
        [sys.executable, "-m", "showcase", "monitor", "--home", str(home), "run", "--endpoint", ENDPOINT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "no violations" in result.stdout.splitlines()
    assert f"{len(splits['test'])} rows" in result.stdout
    [run] = list_runs(ObjectStore(home / "store"), ENDPOINT)
    assert run["status"] == "Completed" and run["violations"] == [] and run["malformed_lines"] == 0
    store = ObjectStore(home / "store")
    assert json.loads(store.get_bytes(run["constraint_violations"])) == {"violations": []}
    current = json.loads(store.get_bytes(run["statistics"]))
    assert current["dataset"]["item_count"] == len(splits["test"])
    assert [f["inferred_type"] for f in current["features"]] == ["Fractional"] * 7 + ["Integral"] * 3
    report = store.get_bytes(run["report"]).decode()
    assert report.count("<svg") == 10 and "no violations" in report
    assert "<script" not in report and "http" not in report.replace('xmlns="http', "")  # nothing fetched from elsewhere


def test_length_times_one_and_a_half_drifts_that_feature_only(tmp_path: Path, splits: dict[str, Any]) -> None:
    mean, scale = splits["metadata"]["mean"]["length"], splits["metadata"]["scale"]["length"]

    def longer(_: int, row: str) -> str:
        fields = row.split(",")
        raw_length = float(fields[0]) * scale + mean
        fields[0] = f"{(raw_length * 1.5 - mean) / scale:.6f}"  # scaled as the endpoint's clients scale
        return ",".join(fields)

    run = run_on(tmp_path, splits, longer)
    assert run["status"] == "CompletedWithViolations"
    assert checks(run) == [("_c0", "baseline_drift_check")]
    assert "exceeds threshold: 0.1" in run["violations"][0]["description"]
    # What Model Monitor publishes, and the drift rollback alarm reads: one distance per feature.
    published = run["cloudwatch_metrics"]
    assert (
        f"Baseline drift distance: {published['feature_baseline_drift__c0']:.6g}" in run["violations"][0]["description"]
    )
    assert all(distance <= 0.1 for name, distance in published.items() if name != "feature_baseline_drift__c0")


def test_empty_fields_fail_completeness(tmp_path: Path, splits: dict[str, Any]) -> None:
    def hollow(index: int, row: str) -> str:
        fields = row.split(",")
        if index % 5 == 0:
            fields[3] = ""
        return ",".join(fields)

    run = run_on(tmp_path, splits, hollow)
    assert ("_c3", "completeness_check") in checks(run)
    assert {name for name, _ in checks(run)} == {"_c3"}
    [violation] = [v for v in run["violations"] if v["constraint_check_type"] == "completeness_check"]
    assert "Expected: 100%" in violation["description"] and "Only 79." in violation["description"]


def test_an_extra_column_is_a_column_check(tmp_path: Path, splits: dict[str, Any]) -> None:
    run = run_on(tmp_path, splits, lambda _, row: row + ",0.5")
    assert checks(run) == [("_c10", "extra_column_check")]


def test_a_missing_column_is_a_column_check(tmp_path: Path, splits: dict[str, Any]) -> None:
    run = run_on(tmp_path, splits, lambda _, row: row.rsplit(",", 1)[0])
    assert checks(run) == [("_c9", "missing_column_check")]


def test_text_in_an_integral_column_is_a_type_check(tmp_path: Path, splits: dict[str, Any]) -> None:
    def fractional_sex(index: int, row: str) -> str:
        fields = row.split(",")
        fields[8] = fields[8] + ".5" if index % 10 == 0 else fields[8]
        return ",".join(fields)

    run = run_on(tmp_path, splits, fractional_sex)
    assert ("_c8", "data_type_check") in checks(run)
    assert {name for name, _ in checks(run)} == {"_c8"}


def test_malformed_capture_lines_are_counted_and_reported(tmp_path: Path, splits: dict[str, Any]) -> None:
    home = make_home(tmp_path, splits)
    capture(home, splits["test"])
    store = ObjectStore(home / "store")
    [good] = store.list(capture_prefix(DEFAULT_CAPTURE_URI, ENDPOINT))
    path = store.path_of(good)
    lines = path.read_text().splitlines()
    lines.insert(5, "this is not json")
    lines.insert(9, '{"captureData": {}}')
    lines.append(lines[0][: len(lines[0]) // 2])  # a line cut short, as by a killed writer
    path.write_text("\n".join(lines) + "\n")
    result = monitor(home)
    assert result.returncode == 0, result.stderr
    assert "3 malformed capture lines skipped (2 not a JSON line; 1 not a capture record" in result.stdout
    assert f"{good.split('/', 3)[3]}:6: not a JSON line" in result.stdout
    assert "no violations" in result.stdout
    [run] = list_runs(store, ENDPOINT)
    assert run["malformed_lines"] == 3 and run["rows"] == len(splits["test"])


def test_no_captures_is_one_line(tmp_path: Path, splits: dict[str, Any]) -> None:
    home = make_home(tmp_path, splits)
    result = monitor(home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and result.stderr == ""
    assert result.stdout.startswith(f"endpoint {ENDPOINT}: no captured requests from the first capture to ")
    [run] = list_runs(ObjectStore(home / "store"), ENDPOINT)
    assert (run["status"], run["failure_reason"]) == ("Failed", "Job inputs had no data")


def test_runs_are_kept_and_each_window_starts_where_the_last_ended(tmp_path: Path, splits: dict[str, Any]) -> None:
    home = make_home(tmp_path, splits)
    settings = load(home)
    store, registry = ObjectStore(settings.store_root), Registry(settings.registry_path)
    capture(home, splits["test"][:200])
    first = run_monitoring(settings, store, registry, ENDPOINT)
    capture(home, splits["test"][200:])
    second = run_monitoring(settings, store, registry, ENDPOINT)
    assert (first["rows"], second["rows"]) == (200, len(splits["test"]) - 200)
    assert second["since"] == first["until"]
    everything = run_monitoring(settings, store, registry, ENDPOINT, since=datetime.now(timezone.utc) - timedelta(1))
    assert everything["rows"] == len(splits["test"])
    assert [run["run_id"] for run in list_runs(store, ENDPOINT)] == [
        everything["run_id"],
        second["run_id"],
        first["run_id"],
    ]
    out, handlers = io.StringIO(), logging.getLogger().handlers[:]
    try:
        with contextlib.redirect_stdout(out):
            assert main(["--home", str(home), "list", "--endpoint", ENDPOINT]) == 0
    finally:
        logging.getLogger().handlers[:] = handlers
    header, *rows = [re.split(r"\s{2,}", line) for line in out.getvalue().splitlines()]
    assert header == ["RUN", "STATUS", "FROM", "TO", "ROWS", "VIOLATIONS"]
    assert [row[0] for row in rows] == [everything["run_id"], second["run_id"], first["run_id"]]
    assert rows[0][1:2] + rows[0][4:] == ["Completed", str(len(splits["test"])), "0"]


def test_violations_exit_3_and_bad_flags_are_one_line(tmp_path: Path, splits: dict[str, Any]) -> None:
    home = make_home(tmp_path, splits)
    capture(home, [row + ",1" for row in splits["test"]])
    result = monitor(home)
    assert result.returncode == 3
    assert "1 violation:" in result.stdout and "_c10  extra_column_check" in result.stdout
    bad = monitor(home, "--since", "yesterday")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--since" in bad.stderr
    unknown = monitor(home, endpoint="nope")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no endpoint named 'nope' has been deployed")
    assert "Traceback" not in unknown.stderr


def test_headerless_csv_types_and_ragged_rows() -> None:
    profile = Profile.of_rows(["1,2.5,a", "2,3", "3,1e3,b,7", "4,,c"])
    stats = statistics(profile)
    types = [(f["name"], f["inferred_type"]) for f in stats["features"]]
    assert types == [("_c0", "Integral"), ("_c1", "Fractional"), ("_c2", "String"), ("_c3", "Integral")]
    common = stats["features"][1]["numerical_statistics"]["common"]
    assert common == {"num_present": 3, "num_missing": 1}
    assert stats["features"][3]["numerical_statistics"]["common"] == {"num_present": 1, "num_missing": 3}
    assert stats["features"][2]["string_statistics"]["distinct_count"] == 3.0


FIELDS = st.sampled_from(["1", "0", "12", "-3", "2.5", "1.0", "1e2", "-0.25", "", "a", "x y", "7E1", "."])
LINES = st.lists(st.lists(FIELDS, min_size=1, max_size=4).map(",".join), max_size=30)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(LINES, ENDINGS, st.booleans()), min_size=1, max_size=3), st.integers(1, 7))
def test_files_read_as_bytes_profile_as_their_lines_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[tuple[list[str], str, bool]], chunk_rows: int
) -> None:
    """Profile.of_files (bytes, chunk_rows rows at a time, block cuts anywhere) = of_rows over text-mode lines."""
    monkeypatch.setattr(profile_module, "BLOCK_BYTES", 5)
    paths = []
    for number, (lines, ending, last_newline) in enumerate(files):
        path = tmp_path / f"part-{number}.csv"
        path.write_bytes((ending.join(lines) + (ending if last_newline else "")).encode())
        paths.append(path)
    rows = [line.rstrip("\r\n") for path in paths for line in path.open(encoding="utf-8")]
    expected = Profile.of_rows([row for row in rows if row], chunk_rows=chunk_rows)
    got = Profile.of_files(paths, chunk_rows=chunk_rows)
    assert json.dumps(statistics(got)) == json.dumps(statistics(expected))
    assert type_counts(got) == type_counts(expected)


def test_the_distance_weighs_sketch_levels_as_kll_does() -> None:
    # A Model Monitor sketch: items at level h stand for 2**h values. [[1, 2], [3]] is the multiset {1, 2, 3, 3}.
    ours = {"numerical_statistics": {"distribution": {"kll": {"sketch": {"data": [[1.0, 2.0], [3.0]]}}}}}
    theirs = {"numerical_statistics": {"distribution": {"kll": {"sketch": {"data": [[1.0, 2.0, 3.0, 3.0]]}}}}}
    other = {"numerical_statistics": {"distribution": {"kll": {"sketch": {"data": [[1.0, 2.0, 3.0]]}}}}}
    a, b, c = (sketch_items(f) for f in (ours, theirs, other))
    assert a is not None and b is not None and c is not None
    assert cdf_distance(a, b) == 0.0
    assert cdf_distance(a, c) == pytest.approx(2 / 3 - 1 / 2)


def test_a_large_column_keeps_k_quantiles(tmp_path: Path) -> None:
    values = np.random.default_rng(3).normal(size=50_000)
    stats = statistics(Profile.of_rows([f"{v:.6f}" for v in values]))
    [level] = stats["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
    assert len(level) == 2048
    # Within 1/k in rank of the exact quantiles.
    ranks = np.searchsorted(np.sort(values), level) / values.size
    expected = (np.arange(2048) + 0.5) / 2048
    assert np.max(np.abs(ranks - expected)) <= 1 / 2048 + 1e-9


def test_reading_captures_counts_non_csv_requests(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    writer = CaptureWriter(store, CaptureConfig(True, 100, DEFAULT_CAPTURE_URI), ENDPOINT)
    writer.maybe_capture("text/csv", b"1,2\n3,4\n", "text/csv", b"1\n2\n")
    writer.maybe_capture("text/libsvm", b"0 1:2\n", "text/csv", b"1\n")
    writer.close()
    scan = CaptureScan(capture_prefix(DEFAULT_CAPTURE_URI, ENDPOINT))
    assert list(read_rows(store, scan)) == ["1,2", "3,4"]
    assert (scan.records, scan.rows, dict(scan.malformed)) == (
        2,
        2,
        {"the request is text/libsvm (BASE64), not text/csv": 1},
    )
    assert pd.isna(np.nan)  # pandas is what parses the rows


def test_numbers_read_as_floats_keep_the_types_their_text_says() -> None:
    # Every field a number: the fast path. "2.0" is Fractional as Model Monitor reads it, "3" Integral.
    stats = statistics(Profile.of_rows(["1,2.0,5", "2,3,", "3,4,1e2"]))
    assert [(f["name"], f["inferred_type"]) for f in stats["features"]] == [
        ("_c0", "Integral"),
        ("_c1", "Fractional"),
        ("_c2", "Fractional"),
    ]
    assert stats["features"][2]["numerical_statistics"]["common"] == {"num_present": 2, "num_missing": 1}
    # A value that is not a finite number sends the chunk down the text path, where it is a String.
    text = statistics(Profile.of_rows(["1,inf", "2,3"]))
    assert text["features"][1]["inferred_type"] == "String"


def test_the_dashboard_shows_the_runs_their_violations_and_the_plots(tmp_path: Path, splits: dict[str, Any]) -> None:
    from starlette.testclient import TestClient

    from showcase.dashboard import create_app
    from showcase.dashboard.local_source import LocalSource

    home = make_home(tmp_path, splits)
    settings = load(home)
    store, registry = ObjectStore(settings.store_root), Registry(settings.registry_path)
    with TestClient(create_app(LocalSource(settings)), base_url="http://127.0.0.1:8765") as client:
        assert "No monitoring runs yet" in client.get(f"/endpoints/{ENDPOINT}").text
        capture(home, splits["test"])
        clean = run_monitoring(settings, store, registry, ENDPOINT)
        capture(home, [row + ",1" for row in splits["test"]])
        flagged = run_monitoring(settings, store, registry, ENDPOINT)
        page = client.get(f"/endpoints/{ENDPOINT}").text
        assert f'data-run="{clean["run_id"]}" data-status="Completed"' in page
        assert f'data-run="{flagged["run_id"]}" data-status="CompletedWithViolations"' in page
        assert "<code>_c10</code> extra_column_check" in page and "no violations" in page
        # The latest run's plots: the baseline's ten features and the extra column.
        assert page.count("<figure data-feature=") == 11 and page.count("<svg") == 11
        report = client.get(f"/endpoints/{ENDPOINT}/monitoring/{flagged['run_id']}/report")
        assert report.status_code == 200 and "extra_column_check" in report.text
        assert report.headers["content-security-policy"].startswith("default-src 'none'")
        assert client.get(f"/endpoints/{ENDPOINT}/monitoring/nope/report").status_code == 404


def test_every_repeats_each_run_on_the_traffic_since_the_last(
    tmp_path: Path, splits: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path, splits)
    capture(home, splits["test"][:100])
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # between runs: new traffic arrives, then a third tick stops the loop
        sleeps.append(seconds)
        if len(sleeps) == 1:
            capture(home, splits["test"][100:150])
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr("showcase.cli.monitor.time.sleep", sleep)
    result = monitor(home, "--every", "1h")
    assert result.returncode == 130 and result.stderr == "interrupted\n"
    assert 3590 < sleeps[0] <= 3600
    second, first = list_runs(ObjectStore(home / "store"), ENDPOINT)
    assert (first["rows"], second["rows"]) == (100, 50) and second["since"] == first["until"]
    assert result.stdout.count(" captured requests, ") == 2  # one report per run (50 rows may well drift)
    assert monitor(home, "--every", "1h", "--until", "1h").returncode == 2


def test_a_served_endpoints_own_captures_are_monitored(tmp_path: Path, splits: dict[str, Any]) -> None:
    """The real path: showcase-endpoint serve captures what it is sent; showcase-monitor reads those files."""
    from tests.serving_support import serving, write_config

    home = make_home(tmp_path, splits)
    arn = Registry(home / "registry.sqlite").list_model_packages()["ModelPackageSummaryList"][0]["ModelPackageArn"]
    config = write_config(
        tmp_path / "endpoint_config_adj.json", arn, name=ENDPOINT, EnableDataCapture="true", SamplingPercentage="100"
    )
    with serving(home, config, workers=1) as server:
        for row in splits["test"][:300]:
            assert server.invoke(row)[0] == 200
        assert server.invoke("\n".join(splits["test"][300:]))[0] == 200
        assert server.invoke("1,2,three")[0] == 400  # refused requests are not captured
    result = monitor(home)
    assert result.returncode == 0, result.stderr
    assert f"{300 + 1} captured requests, {len(splits['test'])} rows" in result.stdout
    assert "no violations" in result.stdout.splitlines()


def drift_checks(baseline_rows: list[str], current_rows: list[str], **change: Any) -> list[tuple[str, str]]:
    """The violations of ``current_rows`` against a baseline suggested from ``baseline_rows``, its constraints
    changed first: ``threshold``/``categorical`` set the dataset's thresholds, ``overrides`` maps a feature to its
    ``monitoringConfigOverrides``."""
    from showcase.monitoring.checks import violations

    baseline = statistics(Profile.of_rows(baseline_rows))
    constraints = suggest_constraints(baseline)
    distribution = constraints["monitoring_config"]["distribution_constraints"]
    distribution["comparison_threshold"] = change.get("threshold", 0.1)
    distribution["categorical_comparison_threshold"] = change.get("categorical", 0.1)
    for feature in constraints["features"]:
        if feature["name"] in change.get("overrides", {}):
            feature["monitoringConfigOverrides"] = change["overrides"][feature["name"]]
    profile = Profile.of_rows(current_rows)
    found = violations(statistics(profile), baseline, constraints, type_counts(profile))
    return sorted((v["feature_name"], v["constraint_check_type"]) for v in found)


def moved(count: int) -> list[str]:
    """1,000 rows: a number column whose ``count`` lowest values moved above all the others, and a category column
    of 500 a and 500 b whose first ``count`` b became a. Against ``moved(0)``, each column's distance (the
    largest gap between the two cumulative distributions, or between the two shares of a category) is
    ``count`` / 1,000."""
    numbers = [value + 0.5 for value in range(count, 1000)] + [value + 2000.5 for value in range(count)]
    categories = ["a"] * (500 + count) + ["b"] * (500 - count)
    return [f"{number},{category}" for number, category in zip(numbers, categories, strict=True)]


@pytest.mark.parametrize(
    ("count", "change", "expected"),
    [
        (99, {}, []),  # 0.099: just below the default 0.1
        (101, {}, [("_c0", "baseline_drift_check"), ("_c1", "baseline_drift_check")]),  # 0.101: just above
        (60, {"threshold": 0.05}, [("_c0", "baseline_drift_check")]),  # the dataset's thresholds, each its own
        (60, {"categorical": 0.05}, [("_c1", "baseline_drift_check")]),
        (101, {"threshold": 0.2, "categorical": 0.2}, []),
    ],
)
def test_drift_is_a_distance_above_the_constraints_threshold(
    count: int, change: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert drift_checks(moved(0), moved(count), **change) == expected


def test_a_features_own_threshold_overrides_the_datasets() -> None:
    """monitoringConfigOverrides in a feature's constraints: comparison_threshold for a number column,
    categorical_comparison_threshold for a category column; the other features keep monitoring_config's."""
    rows = [f"{row},{row}" for row in moved(0)]  # _c0 and _c2 numbers, _c1 and _c3 categories
    shifted = [f"{row},{row}" for row in moved(101)]
    loose = {"_c0": {"comparison_threshold": 0.2}, "_c1": {"categorical_comparison_threshold": 0.2}}
    assert drift_checks(rows, shifted, overrides=loose) == [
        ("_c2", "baseline_drift_check"),
        ("_c3", "baseline_drift_check"),
    ]
    slight = [f"{row},{row}" for row in moved(60)]
    strict = {"_c2": {"comparison_threshold": 0.05}, "_c3": {"categorical_comparison_threshold": 0.05}}
    assert drift_checks(rows, slight, overrides=strict) == [
        ("_c2", "baseline_drift_check"),
        ("_c3", "baseline_drift_check"),
    ]
