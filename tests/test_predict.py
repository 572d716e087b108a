"""The predict CLI: payload checks, the answer's parsing, and calls through boto3 to moto.

moto's ``InvokeEndpoint`` runs no model and does not check that the endpoint exists: it answers with
results queued through ``/moto-api/static/sagemaker/endpoint-results``, or the literal text ``body`` when
none are queued. The tests queue a CSV answer, so what they prove is the client side: the request goes
through boto3 (honouring AWS_ENDPOINT_URL or --endpoint-url), and the answer is printed one value per row.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from showcase.aws.runtime import invoke_csv, runtime_client
from showcase.cli.predict import parse_predictions, read_csv_rows
from showcase.errors import AwsError, UsageError
from tests.conftest import ACCOUNT, REGION, REPO

SCRIPT = REPO / "predict" / "predict.py"
SAMPLE = REPO / "predict" / "sample_payload.csv"
ANSWER = "9.5\n7.25\n5.0\n13.75\n10.5\n"


def queue_answers(endpoint_url: str, *bodies: str) -> None:
    document = {
        "account_id": ACCOUNT,
        "region": REGION,
        "results": [{"Body": body, "ContentType": "text/csv"} for body in bodies],
    }
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def run_script(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


# --- the payload ------------------------------------------------------------------------------------------


def test_sample_payload_has_the_models_input_shape() -> None:
    rows = read_csv_rows(SAMPLE)
    assert len(rows) == 5
    for row in rows:
        values = [float(value) for value in row.split(",")]
        assert len(values) == 10, "7 standardized numeric features, then sex_F, sex_I, sex_M"
        assert all(-3 < value < 3 for value in values[:7])
        assert sorted(values[7:]) == [0, 0, 1]


def write(tmp_path: Path, text: str, name: str = "payload.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    assert read_csv_rows(write(tmp_path, "\n1,2\n\n 3,4 \n")) == ["1,2", "3,4"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"payload file '.*payload.csv' has no rows"),
        ("\n  \n", r"has no rows"),
        ("length,diameter\n0.1,0.2\n", r"row 1: 'length' is not a number \(rows are features only"),
        ("0.1,0.2\n0.3\n", r"row 2 has 1 values, row 1 has 2"),
        ("0.1,,0.2\n", r"row 1: '' is not a number"),
    ],
)
def test_bad_payloads_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_csv_rows(write(tmp_path, text))


def test_missing_directory_binary_and_oversized_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"payload file '.*nope.csv' does not exist"):
        read_csv_rows(tmp_path / "nope.csv")
    with pytest.raises(UsageError, match=r"is a directory; give a CSV file"):
        read_csv_rows(tmp_path)
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x89PNG\xff\xfe")
    with pytest.raises(UsageError, match=r"is not UTF-8 text"):
        read_csv_rows(binary)
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.truncate(6 * 1024 * 1024 + 1)
    with pytest.raises(UsageError, match=r"is 6291457 bytes; an endpoint accepts at most 6291456"):
        read_csv_rows(big)


# --- the answer ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["1.5\n2.5\n3\n", "1.5,2.5,3", "1.5,2.5,3\n"])
def test_answers_one_per_line_or_on_one_line_are_split(answer: str) -> None:
    assert parse_predictions(answer, 3, "ep") == ["1.5", "2.5", "3"]


def test_an_answer_of_the_wrong_length_is_an_error() -> None:
    with pytest.raises(AwsError, match=r"endpoint 'ep' answered 1 values for 3 rows: 'body'"):
        parse_predictions("body", 3, "ep")


# --- through boto3 to moto ------------------------------------------------------------------------------


def test_invoke_sends_csv_and_returns_the_answer(aws_env: dict[str, str]) -> None:
    queue_answers(aws_env["AWS_ENDPOINT_URL"], "4.5\n")
    runtime = runtime_client(region=REGION)
    sent: list[dict[str, Any]] = []
    runtime.meta.events.register(
        "provide-client-params.sagemaker-runtime.InvokeEndpoint",
        lambda params, **_: sent.append(dict(params)),
    )

    assert invoke_csv(runtime, "ep", "1,2,3\n") == "4.5\n"
    assert sent == [{"EndpointName": "ep", "ContentType": "text/csv", "Accept": "text/csv", "Body": "1,2,3\n"}]


def test_script_prints_one_prediction_per_row(aws_env: dict[str, str]) -> None:
    queue_answers(aws_env["AWS_ENDPOINT_URL"], ANSWER)
    result = run_script(["--endpoint-name", "crayon-showcase-endpoint"], aws_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["9.5", "7.25", "5.0", "13.75", "10.5"]


def test_script_honours_endpoint_url(aws_env: dict[str, str]) -> None:
    queue_answers(aws_env["AWS_ENDPOINT_URL"], ANSWER)
    env = {name: value for name, value in aws_env.items() if name != "AWS_ENDPOINT_URL"}
    result = run_script(["--endpoint-url", aws_env["AWS_ENDPOINT_URL"], "--file-path", str(SAMPLE)], env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5


def test_script_reports_a_mismatched_answer_in_one_line(aws_env: dict[str, str]) -> None:
    # Nothing queued: moto answers "body", which is not five predictions.
    result = run_script([], aws_env)
    assert result.returncode == 1
    assert result.stderr == "error: endpoint 'crayon-showcase-endpoint' answered 1 values for 5 rows: 'body'\n"


def test_script_reports_an_empty_file_in_one_line(aws_env: dict[str, str], tmp_path: Path) -> None:
    result = run_script(["--file-path", str(write(tmp_path, ""))], aws_env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: payload file {str(tmp_path / 'payload.csv')!r} has no rows; "
        "give one row of comma-separated features per line"
    ]
    assert result.stdout == ""


def test_script_reports_an_unreachable_endpoint_in_one_line(aws_env: dict[str, str]) -> None:
    result = run_script(["--endpoint-url", "http://127.0.0.1:9"], aws_env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: InvokeEndpoint on endpoint 'crayon-showcase-endpoint' failed: ")
    assert len(result.stderr.splitlines()) == 1
