"""``showcase endpoint`` (``showcase-endpoint``): one-line errors for user mistakes, the URL once it listens,
``--detach``, and status/stop against a real server."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from showcase.cli.aliases import endpoint as entry
from tests.serving_support import REPO, ROW, cli, register, serving, train_booster, write_config


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = entry(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def one_line_error(err: str, expected: str) -> None:
    assert err.startswith("error: ") and expected in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_help_documents_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        entry(["serve", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--config", "--host", "--port", "--workers", "--home", "SAGEMAKER_BIND_TO_PORT"):
        assert flag in out


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, "names no ModelPackageName; write it with deploy/build_config_file.py"),
        ({"ModelPackageName": "nope/1"}, "ModelPackageName: model package nope/1 does not exist"),
        ({"ModelPackageName": "x/1", "EndpointName": "bad_name"}, "endpoint name 'bad_name' is not valid"),
        ({"ModelPackageName": "x/1", "EnableDataCapture": "yes"}, "EnableDataCapture must be 'true' or 'false'"),
        ({"ModelPackageName": "x/1", "EnableDataCapture": "true", "SamplingPercentage": "101"}, "from 0 to 100"),
        ({"ModelPackageName": "x/1", "DataCaptureS3Uri": "bucket/x"}, "DataCaptureS3Uri: expected an s3://"),
    ],
)
def test_serve_refuses_a_bad_config_in_one_line(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], parameters: dict[str, str], expected: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"Parameters": parameters}))
    code, _, err = run(capsys, "serve", "--config", str(config), "--home", str(home))
    assert code == 2
    one_line_error(err, expected)


def test_serve_refuses_a_missing_config(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--config", "nowhere.json", "--home", str(home))
    assert code == 2
    one_line_error(err, "endpoint config 'nowhere.json' does not exist")


def test_serve_refuses_an_unapproved_package(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arn = register(home, train_booster(), status="PendingManualApproval")
    code, _, err = run(capsys, "serve", "--config", str(write_config(tmp_path / "c.json", arn)), "--home", str(home))
    assert code == 2
    one_line_error(err, f"is PendingManualApproval, not Approved; approve it (showcase registry approve {arn}, or")


def test_serving_a_rejected_package_names_the_command_that_approves_it(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = register(home, train_booster(), status="Rejected")
    code, _, err = run(capsys, "serve", "--config", str(write_config(tmp_path / "c.json", arn)), "--home", str(home))
    assert code == 2
    one_line_error(err, f"is Rejected, not Approved; approve it (showcase registry approve {arn} --force, or")


def test_serve_refuses_a_model_xgboost_cannot_load(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = register(home, b"{not a model")
    code, _, err = run(capsys, "serve", "--config", str(write_config(tmp_path / "c.json", arn)), "--home", str(home))
    assert code == 1
    one_line_error(err, "XGBoost cannot load xgboost-model")
    assert not (home / "endpoints" / "test-endpoint" / "deployment.json").exists()


def nan_leaf_model() -> bytes:
    """A model XGBoost loads, whose first tree's leaves are NaN: every prediction is NaN."""
    model = json.loads(bytes(train_booster().save_raw(raw_format="json")))
    tree = model["learner"]["gradient_booster"]["model"]["trees"][0]
    tree["split_conditions"] = [float("nan")] * len(tree["split_conditions"])
    tree["base_weights"] = [float("nan")] * len(tree["base_weights"])
    return json.dumps(model).encode()


def test_serve_refuses_a_model_whose_probe_prediction_is_not_a_number(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """XGBoost loads it; only the probe prediction at serve time shows it would answer 'nan' to every request."""
    arn = register(home, nan_leaf_model())
    code, _, err = run(capsys, "serve", "--config", str(write_config(tmp_path / "c.json", arn)), "--home", str(home))
    assert code == 1
    one_line_error(err, f"{arn}: XGBoost loads xgboost-model, but its probe prediction is nan")
    assert not (home / "endpoints" / "test-endpoint" / "deployment.json").exists()


@pytest.mark.parametrize(
    ("corrupt", "wrong"),
    [
        (lambda data: data[:40], "is corrupt: its gzip stream ends early"),
        (lambda data: data[:10] + bytes(255 - b for b in data[10:]), "is not a valid gzip-compressed tar archive"),
        (lambda data: b"just some text, not an archive\n" * 20, "is not a tar archive"),
        (lambda data: b"", "is empty"),
    ],
    ids=["truncated", "scrambled", "not-an-archive", "empty"],
)
def test_serve_refuses_a_corrupt_archive_in_one_line_naming_it(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], corrupt: Callable[[bytes], bytes], wrong: str
) -> None:
    arn = register(home, train_booster())
    archive = next((home / "store").rglob("model.tar.gz"))
    archive.write_bytes(corrupt(archive.read_bytes()))
    code, _, err = run(capsys, "serve", "--config", str(write_config(tmp_path / "c.json", arn)), "--home", str(home))
    assert code == 1
    one_line_error(err, wrong)
    assert f"model archive {archive} " in err, err


@pytest.mark.parametrize("flags", [["--port", "70000"], ["--workers", "0"]])
def test_bad_flags_exit_2(home: Path, capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        entry(["serve", "--config", "c.json", *flags])
    assert exited.value.code == 2
    assert "(see --help)" in capsys.readouterr().err


def test_bad_sagemaker_environment(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "eighty")
    config = write_config(tmp_path / "c.json", register(home, train_booster()))
    code, _, err = run(capsys, "serve", "--config", str(config), "--home", str(home))
    assert code == 2
    one_line_error(err, "SAGEMAKER_BIND_TO_PORT must be a port number, got 'eighty'")


def test_deploy_status_stop_need_a_running_endpoint(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "c.json", register(home, train_booster()))
    code, _, err = run(capsys, "deploy", "--config", str(config), "--home", str(home))
    assert code == 1
    one_line_error(err, "endpoint 'test-endpoint' is not running; start it with: showcase endpoint serve")
    code, _, err = run(capsys, "stop", "--endpoint-name", "test-endpoint", "--home", str(home))
    assert code == 1
    code, _, err = run(capsys, "status", "--endpoint-name", "test-endpoint", "--home", str(home))
    assert code == 1
    one_line_error(err, "has never been deployed")


def test_status_and_stop_a_running_endpoint(home: Path, tmp_path: Path) -> None:
    arn = register(home, train_booster())
    config = write_config(tmp_path / "c.json", arn)
    with serving(home, config, workers=2) as running:
        for _ in range(5):
            assert running.invoke(ROW)[0] == 200
        assert running.invoke("1,2")[0] == 400
        for _ in range(3):
            assert running.request("GET", "/ping")[0] == 200
        again = cli(home, "serve", "--config", str(config))
        assert again.returncode == 2 and "is already served at http://127.0.0.1:" in again.stderr
        for _ in range(100):  # worker files are rewritten at most once a second (bounded wait)
            status = json.loads(cli(home, "status", "--config", str(config), "--json").stdout)
            if status["Requests"] >= 6 and status["HealthChecks"] >= 3:
                break
        assert status["EndpointStatus"] == "InService" and status["ModelPackageArn"] == arn
        # Invocations only: the health checks (ours, and the readiness probes before) are counted apart.
        assert status["Requests"] == 6 and status["RequestsByStatus"] == {"200": 5, "400": 1}
        assert status["HealthChecks"] >= 3
        assert len(status["Workers"]) == 2 and status["MeanLatencyMs"] > 0
        assert {key for worker in status["Workers"] for key in worker} == {
            "Pid", "ModelPackageArn", "Generation", "SwapError", "Requests"
        }  # fmt: skip
        text = cli(home, "status", "--config", str(config)).stdout
        assert re.search(r"^status\s+InService$", text, re.M) and re.search(rf"^model package\s+{arn}$", text, re.M)
        stopped = cli(home, "stop", "--config", str(config))
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert running.process.wait(timeout=60) == 0
    status = json.loads(cli(home, "status", "--config", str(config), "--json").stdout)
    assert status["EndpointStatus"] == "OutOfService"


def test_serve_prints_its_url_at_any_log_level(home: Path, tmp_path: Path) -> None:
    """``--port 0 --log-level WARNING`` used to print no URL: it was logged at INFO only."""
    config = write_config(tmp_path / "c.json", register(home, train_booster()))
    command = [sys.executable, "-m", "showcase.cli.main", "endpoint", "serve", "--config", str(config), "--port", "0",
               "--workers", "1", "--log-level", "WARNING", "--home", str(home)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        matched = re.fullmatch(r"endpoint 'test-endpoint' listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert matched, line
        assert cli(home, "status", "--config", str(config), "--json").returncode == 0
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_serve_detach_returns_once_it_answers(home: Path, tmp_path: Path) -> None:
    """``serve --detach`` then a request at once: what a pasted README block does."""
    config = write_config(tmp_path / "c.json", register(home, train_booster()))
    started = cli(home, "serve", "--config", str(config), "--detach", "--port", "0", "--workers", "1", "--json")
    assert started.returncode == 0, started.stderr
    document = json.loads(started.stdout)
    assert document["EndpointStatus"] == "InService"
    host, port = document["Url"].removeprefix("http://").split(":")
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("POST", "/invocations", body=ROW, headers={"Content-Type": "text/csv"})
        assert connection.getresponse().status == 200  # no wait: it answered before serve returned
        connection.close()
        assert "serve.log" in started.stderr
    finally:
        assert cli(home, "stop", "--config", str(config)).returncode == 0


def test_a_detached_serve_that_cannot_start_says_why(home: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", "nope/1")
    result = cli(home, "serve", "--config", str(config), "--detach", "--port", "0")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert (
        "endpoint 'test-endpoint' did not start: error: " in result.stderr and "nope/1 does not exist" in result.stderr
    )
