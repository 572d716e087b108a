"""Small pipeline definitions (SageMaker's JSON, Version 2020-12-01) with real Processing steps for the API tests.

A step's script is put into the store through the API's S3 first, as the SDK uploads code."""

from __future__ import annotations

import json
from typing import Any

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "api-tests"
ROLE = "arn:aws:iam::000000000000:role/api-tests"

WRITE = """
import pathlib, sys
out = pathlib.Path("/opt/ml/processing/output")
out.mkdir(parents=True, exist_ok=True)
(out / "result.txt").write_text(" ".join(sys.argv[1:]))
print("wrote", sys.argv[1:])
"""
SLEEP = """
import time
print("sleeping", flush=True)
time.sleep(float(__import__("sys").argv[1]))
"""


def get(path: str) -> dict[str, str]:
    return {"Get": path}


def join(*values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": " ", "Values": list(values)}}


def script_step(name: str, code_key: str, arguments: list[Any], *, cache: bool = False, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}
            },
            "AppSpecification": {
                "ImageUri": SKLEARN,
                "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{code_key.rpartition('/')[2]}"],
                "ContainerArguments": arguments,
            },
            "RoleArn": ROLE,
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": f"s3://{BUCKET}/{code_key}",
                        "LocalPath": "/opt/ml/processing/input/code",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [f"s3://{BUCKET}/out", get("Execution.PipelineExecutionId"), name],
                                }
                            },
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
        **extra,
    }
    if cache:
        step["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P1D"}
    return step


def definition(steps: list[dict[str, Any]], parameters: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"Version": "2020-12-01", "Metadata": {}, "Parameters": parameters or [], "Steps": steps})


def gated(threshold: float) -> str:
    """A Condition on parameter Score and a Fail step on its else branch: runs in a blink, no job."""
    check = {"Type": "GreaterThan", "LeftValue": get("Parameters.Score"), "RightValue": threshold}
    fail = {
        "Name": "TooLow",
        "Type": "Fail",
        "Arguments": {"ErrorMessage": join("score", get("Parameters.Score"), "is too low")},
    }
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {"Conditions": [check], "IfSteps": [], "ElseSteps": [fail]},
    }
    return definition([gate], [{"Name": "Score", "Type": "Float", "DefaultValue": 1.0}])


def put_scripts(s3: Any) -> None:
    """The scripts the steps run, put through the API's S3."""
    buckets = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    if BUCKET not in buckets:
        s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="code/write.py", Body=WRITE.encode())
    s3.put_object(Bucket=BUCKET, Key="code/sleep.py", Body=SLEEP.encode())
