"""Jobs reach S3: a job's own script reads and writes the local S3 with boto3 and the AWS CLI, as scripts on
SageMaker do with their role's credentials, and ``get_execution_role()`` answers the step's role.

Each run here goes through ``showcase.local.run_definition``, as ``showcase run`` does: where no API serves the
home, the run starts one for its own duration; where one does, its jobs use it.

pandas reads and writes ``s3://`` paths in a job too, as in SageMaker's framework images: CSV through s3fs
(aiobotocore), parquet through pyarrow's own S3 client (aws-chunked bodies); a missing key is the job's
FileNotFoundError, and a write larger than s3fs's block goes up in parts.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from showcase.local import retry_execution, run_definition
from showcase.local.processes import awsapi
from showcase.local.records import ExecutionStore
from showcase.settings import execution_role_arn, load
from showcase.store import ObjectStore
from tests.api.conftest import REPO, start_api, stop_api

pytestmark = pytest.mark.e2e
BUCKET = "jobs-data"
ROLE = "arn:aws:iam::111122223333:role/service-role/JobsReachS3"
PROCESSING_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

SCRIPT = """
import io, json, os, subprocess, sys
import boto3
import pandas as pd
from sagemaker.core.helper.session_helper import get_execution_role

kind, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
# As the Projects template's preprocess.py fetches its input:
boto3.resource("s3").Bucket("jobs-data").download_file("raw/rows.csv", f"{out}/rows.csv")
frame = pd.read_csv(io.BytesIO(boto3.client("s3").get_object(Bucket="jobs-data", Key="raw/rows.csv")["Body"].read()))
frame["total"] = frame.sum(axis=1)
boto3.client("s3").put_object(Bucket="jobs-data", Key=f"from-jobs/{kind}/boto3.csv", Body=frame.to_csv(index=False))
subprocess.run(["aws", "s3", "cp", f"{out}/rows.csv", f"s3://jobs-data/from-jobs/{kind}/cli.csv"], check=True)
listed = subprocess.run(["aws", "s3", "ls", "s3://jobs-data/raw/"], check=True, capture_output=True, text=True).stdout
report = {
    "role": get_execution_role(),
    "listed": listed.split()[-1],
    "env": {k: v for k, v in os.environ.items() if k.startswith("AWS_")},
}
with open(f"{out}/report.json", "w") as f:
    json.dump(report, f)
"""


def processing_step(role: str | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
        "AppSpecification": {
            "ImageUri": PROCESSING_IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
            "ContainerArguments": ["processing", "/opt/ml/processing/out"],
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/code/job.py", "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix", "S3InputMode": "File",
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "report",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/reports/processing", "LocalPath": "/opt/ml/processing/out",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    }  # fmt: skip
    if role is not None:
        arguments["RoleArn"] = role
    return {"Name": "Fetch", "Type": "Processing", "Arguments": arguments}


def training_step() -> dict[str, Any]:
    return {
        "Name": "Fit",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {
                "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/job.py"],
                "ContainerArguments": ["training", "/opt/ml/model"],
            },
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "InputDataConfig": [
                {
                    "ChannelName": "code",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/code/",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
            ],
        },
    }  # fmt: skip


def definition(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": list(steps)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home holding the job's script and its input; the runner's environment as a user's: the AWS CLI on PATH
    (the project's environment active), and AWS settings of their own that must not reach a job."""
    store = ObjectStore(load(tmp_path / "home").store_root)
    store.put_bytes(f"s3://{BUCKET}/code/job.py", SCRIPT.encode())
    store.put_bytes(f"s3://{BUCKET}/raw/rows.csv", b"a,b\n1,2\n3,4\n")
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTKEYNOTFORJOBS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret-not-for-jobs")
    monkeypatch.setenv("AWS_PROFILE", "host-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    return tmp_path / "home"


def report_of(store: ObjectStore, uri: str) -> dict[str, Any]:
    return json.loads(store.get_bytes(uri))


def listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) == 0


def test_jobs_read_and_write_s3_through_an_api_started_for_the_run(home: Path) -> None:
    settings = load(home)
    record = run_definition(
        definition(processing_step(ROLE), training_step()), pipeline_name="Fetch", settings=settings
    )
    assert record.status == "Succeeded", [(s.name, s.failure_reason) for s in record.steps]
    store = ObjectStore(settings.store_root)
    for kind in ("processing", "training"):
        assert store.get_bytes(f"s3://{BUCKET}/from-jobs/{kind}/boto3.csv").decode().splitlines() == [
            "a,b,total",
            "1,2,3",
            "3,4,7",
        ]
        assert store.get_bytes(f"s3://{BUCKET}/from-jobs/{kind}/cli.csv") == b"a,b\n1,2\n3,4\n"
    report = report_of(store, f"s3://{BUCKET}/reports/processing/report.json")
    assert report["role"] == ROLE and report["listed"] == "rows.csv"
    env = report["env"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == (
        awsapi.ACCESS_KEY_ID,
        settings.region,
        settings.region,
    )
    assert "AWS_PROFILE" not in env and env["AWS_SHARED_CREDENTIALS_FILE"] == env["AWS_CONFIG_FILE"] == os.devnull
    assert "host-secret-not-for-jobs" not in json.dumps(report) and env["AWS_EC2_METADATA_DISABLED"] == "true"
    # The API lived as long as the run: it is gone, and so is the file that named it.
    assert not listening(env["AWS_ENDPOINT_URL"]) and awsapi.find(home) is None
    model = record.step("Fit").properties["ModelArtifacts"]["S3ModelArtifacts"]
    with tarfile.open(fileobj=io.BytesIO(store.get_bytes(model))) as archive:
        member = archive.extractfile("report.json")
        assert member is not None
        training = json.loads(member.read())
    assert training["role"] == ROLE and training["env"]["AWS_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL"]


def test_get_execution_role_in_a_job_is_the_step_role_else_the_default_one(home: Path) -> None:
    settings = load(home)
    record = run_definition(definition(processing_step(None)), pipeline_name="NoRole", settings=settings)
    assert record.status == "Succeeded", record.step("Fetch").failure_reason
    report = report_of(ObjectStore(settings.store_root), f"s3://{BUCKET}/reports/processing/report.json")
    assert report["role"] == execution_role_arn(settings.account)


def test_a_run_uses_the_api_that_serves_its_home(home: Path) -> None:
    api = start_api(home)
    try:
        assert awsapi.find(home) == api.url
        record = run_definition(definition(processing_step(ROLE)), pipeline_name="Shared", settings=load(home))
        assert record.status == "Succeeded", record.step("Fetch").failure_reason
        report = report_of(ObjectStore(load(home).store_root), f"s3://{BUCKET}/reports/processing/report.json")
        assert report["env"]["AWS_ENDPOINT_URL"] == api.url
        assert listening(api.url) and awsapi.find(home) == api.url  # not stopped by the run
        second = subprocess.run(
            [sys.executable, "-m", "showcase", "--home", str(home), "api", "--port", "0"],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode != 0 and "Traceback" not in second.stderr
        assert f"an API already serves {home} on {api.url}" in second.stderr
    finally:
        stop_api(api)
    assert awsapi.find(home) is None and not (home / awsapi.SERVER_FILE).exists()


GATED = """
import boto3
boto3.client("s3").head_object(Bucket="jobs-data", Key="raw/gate")  # 404 until the test puts it
"""


def test_a_retry_starts_an_api_for_its_own_duration_too(home: Path) -> None:
    settings = load(home)
    store = ObjectStore(settings.store_root)
    store.put_bytes(f"s3://{BUCKET}/code/job.py", GATED.encode())
    step = processing_step(ROLE)
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"] = []
    first = run_definition(definition(step), pipeline_name="Gated", settings=settings)
    assert first.status == "Failed" and "Not Found" in (first.step("Fetch").failure_reason or "")
    assert awsapi.find(home) is None
    store.put_bytes(f"s3://{BUCKET}/raw/gate", b"")
    again = retry_execution(first.execution_id, settings=settings)
    assert again.status == "Succeeded", again.step("Fetch").failure_reason
    assert awsapi.find(home) is None


def test_a_run_without_a_job_starts_no_api(home: Path) -> None:
    fail = {"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "no job here"}}
    record = run_definition(definition(fail), pipeline_name="NoJob", settings=load(home))
    assert record.status == "Failed"
    assert not (home / awsapi.LOG_FILE).exists()


PANDAS = """
import os, sys
import pandas as pd

kind, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
frame = pd.read_csv("s3://jobs-data/raw/rows.csv")
frame["total"] = frame.sum(axis=1)
frame.to_csv(f"s3://jobs-data/from-pandas/{kind}/rows.csv", index=False)
frame.to_parquet(f"s3://jobs-data/from-pandas/{kind}/rows.parquet")  # through pyarrow's own S3 client
assert pd.read_parquet(f"s3://jobs-data/from-pandas/{kind}/rows.parquet").equals(frame)
"""


def test_pandas_reads_and_writes_s3_paths_in_processing_and_training_jobs(home: Path) -> None:
    settings = load(home)
    store = ObjectStore(settings.store_root)
    store.put_bytes(f"s3://{BUCKET}/code/job.py", PANDAS.encode())
    record = run_definition(
        definition(processing_step(ROLE), training_step()), pipeline_name="Pandas", settings=settings
    )
    assert record.status == "Succeeded", [(s.name, s.failure_reason) for s in record.steps]
    for kind in ("processing", "training"):
        assert store.get_bytes(f"s3://{BUCKET}/from-pandas/{kind}/rows.csv") == b"a,b,total\n1,2,3\n3,4,7\n"
        parquet = pd.read_parquet(io.BytesIO(store.get_bytes(f"s3://{BUCKET}/from-pandas/{kind}/rows.parquet")))
        assert parquet.to_dict("list") == {"a": [1, 3], "b": [2, 4], "total": [3, 7]}
    # with an s3fs pandas supports: fsspec warns of s3fs before 2023.5 ("very old ... severe performance issues")
    for step in ("Fetch", "Fit"):
        log = ExecutionStore(settings.executions_root).log_path(record.execution_id, step).read_text()
        assert "Warning" not in log, log


MISSING = """
import pandas as pd
pd.read_csv("s3://jobs-data/raw/not-there.csv")
"""


def test_pandas_reading_a_missing_key_fails_the_job_with_file_not_found(home: Path) -> None:
    settings = load(home)
    ObjectStore(settings.store_root).put_bytes(f"s3://{BUCKET}/code/job.py", MISSING.encode())
    step = processing_step(ROLE)
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"] = []
    record = run_definition(definition(step), pipeline_name="Missing", settings=settings)
    assert record.status == "Failed"
    reason = record.step("Fetch").failure_reason or ""
    assert reason.startswith("AlgorithmError: ") and "exited with code 1" in reason, reason
    assert ": FileNotFoundError: jobs-data/raw/not-there.csv (" in reason, reason


LARGE = """
import numpy as np
import pandas as pd

frame = pd.DataFrame(np.arange(1_600_000).reshape(-1, 4), columns=list("abcd"))  # 12.6 MB of CSV
path = "s3://jobs-data/from-pandas/large.csv"
frame.to_csv(path, index=False, storage_options={"default_block_size": 5 * 2**20})  # S3's smallest part
assert pd.read_csv(path).equals(frame), "the object read back differs"
"""


def test_a_pandas_write_larger_than_a_block_goes_up_in_parts_and_reads_back(home: Path) -> None:
    """s3fs writes in blocks of 50 MiB unless told; with 5 MiB blocks a 12.6 MB frame is a multipart upload of
    three parts (the API's log names each call), and the object is the store's, byte for byte."""
    settings = load(home)
    store = ObjectStore(settings.store_root)
    store.put_bytes(f"s3://{BUCKET}/code/job.py", LARGE.encode())
    api = start_api(home, log_level="INFO")
    try:
        record = run_definition(definition(training_step()), pipeline_name="Large", settings=settings)
    finally:
        log = stop_api(api)
    assert record.status == "Succeeded", record.step("Fit").failure_reason
    calls = [line.split(" s3 ", 1)[1] for line in log.splitlines() if " s3 " in line]
    assert calls.count("UploadPart -> 200") == 3 and "CompleteMultipartUpload -> 200" in calls, calls
    frame = pd.DataFrame(np.arange(1_600_000).reshape(-1, 4), columns=list("abcd"))
    assert store.get_bytes(f"s3://{BUCKET}/from-pandas/large.csv") == frame.to_csv(index=False).encode()
