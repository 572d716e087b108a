"""A job's name is one thing: what ``Execution.ProcessingJobName`` / ``TrainingJobName`` resolve to inside
a step is the name the step's job reports in its properties (``DescribeProcessingJob``'s ``ProcessingJobName``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from showcase.local import run_definition
from showcase.local.jobs import MAX_JOB_NAME, job_name
from showcase.settings import Settings
from showcase.statuses import ExecutionStatus
from tests.local_fakes import definition, get

SKLEARN_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
SCRIPT = b"""\
import os, pathlib, sys
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
(out / "name.txt").write_text(os.environ["JOB_NAME"] + "\\n" + sys.argv[2])
"""


def _step(name: str) -> dict[str, object]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}},
            "AppSpecification": {
                "ImageUri": SKLEARN_IMAGE,
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/name.py"],
                "ContainerArguments": ["/opt/ml/processing/output", get("Execution.ProcessingJobName")],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "Environment": {"JOB_NAME": get("Execution.ProcessingJobName")},
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": "s3://bucket/code/name.py",
                        "LocalPath": "/opt/ml/processing/input/code",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": f"s3://bucket/out/{name}",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
    }


def test_the_job_name_variable_is_the_name_the_job_reports(tmp_path: Path) -> None:
    # A short step name and one long enough that the name must be cut to SageMaker's 63 characters.
    names = ("Prep", "PrepareTheDataWithAVeryLongStepNameThatSageMakerWouldStillAccept")
    settings = Settings(home=tmp_path, input_data=None, max_parallel_steps=2)
    record = run_definition(
        definition([_step(name) for name in names]),
        pipeline_name="JobNames",
        uploads={"s3://bucket/code/name.py": SCRIPT},
        settings=settings,
    )
    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    for name in names:
        reported = record.step(name).properties["ProcessingJobName"]
        seen = (settings.store_root / "bucket" / "out" / name / "name.txt").read_text().splitlines()
        assert seen == [reported, reported]
        assert reported == job_name(record.execution_id, name) and len(reported) <= MAX_JOB_NAME


@pytest.mark.parametrize("step_name", ["Train", "a" * 80, "With Spaces_and.dots", "--edge--"])
def test_job_names_are_valid_sagemaker_names(step_name: str) -> None:
    name = job_name("abc123def456", step_name)
    assert len(name) <= MAX_JOB_NAME
    assert name[0].isalnum() and name[-1].isalnum()
    assert all(char.isalnum() or char == "-" for char in name) and "--" not in name
    assert job_name("abc123def456", step_name) == name
    assert job_name("abc123def457", step_name) != name
