"""Describe*Job of the jobs steps ran, read from execution records written into the API's home: a tuning job and
its trials' training jobs, a transform job, a running job and a failed one (no job needs to run for these)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from showcase.local import ExecutionRecord, StepRecord
from showcase.local.jobs import job_name
from showcase.local.records import ExecutionStore, execution_arn
from showcase.settings import load
from showcase.statuses import StepStatus
from showcase.store import ObjectStore
from tests.api.conftest import Api

EXECUTION = "jobsrecord01"
STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
OUTPUT = "s3://jobs-bucket/tuning"
ARN = "arn:aws:sagemaker:us-east-1:000000000000"


def _tuning() -> StepRecord:
    trial = {
        "TrainingJobName": "tune-abc-001-1a2b3c4d",
        "TrainingJobArn": f"{ARN}:training-job/tune-abc-001-1a2b3c4d",
        "TrainingJobStatus": "Completed",
        "CreationTime": STARTED.isoformat(),
        "TrainingStartTime": STARTED.isoformat(),
        "TrainingEndTime": STARTED.isoformat(),
        "TunedHyperParameters": {"eta": "0.2"},
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "Type": "Minimize",
            "MetricName": "validation:rmse",
            "Value": 2.5,
        },
    }
    properties = {
        "HyperParameterTuningJobName": "tune-abc",
        "HyperParameterTuningJobArn": f"{ARN}:hyper-parameter-tuning-job/tune-abc",
        "HyperParameterTuningJobStatus": "Completed",
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": "xgboost", "TrainingInputMode": "File"},
            "StaticHyperParameters": {"num_round": "10"},
            "OutputDataConfig": {"S3OutputPath": OUTPUT},
        },
        "BestTrainingJob": trial,
        "TrainingJobSummaries": [trial],
    }
    return StepRecord("Tune", "Tuning", StepStatus.SUCCEEDED, STARTED, STARTED, properties=properties)


@pytest.fixture(scope="module")
def record(api: Api) -> ExecutionRecord:
    store = ObjectStore(api.home / "store")
    store.put_bytes(f"{OUTPUT}/tune-abc-001-1a2b3c4d/output/model.tar.gz", b"archive")
    transform = {
        "TransformJobName": "transform-one",
        "TransformJobArn": f"{ARN}:transform-job/transform-one",
        "TransformJobStatus": "Completed",
        "TransformOutput": {"S3OutputPath": "s3://jobs-bucket/out"},
    }
    record = ExecutionRecord(EXECUTION, execution_arn("JobsPipeline", EXECUTION), "JobsPipeline", start=STARTED)
    record.steps = [
        _tuning(),
        StepRecord("Batch", "Transform", StepStatus.SUCCEEDED, STARTED, STARTED, properties=transform),
        StepRecord("Train", "Training", StepStatus.EXECUTING, STARTED),
        StepRecord("Prep", "Processing", StepStatus.FAILED, STARTED, STARTED, failure_reason="AlgorithmError: boom"),
        StepRecord("Later", "Processing"),
    ]
    record.pid = os.getpid()  # this process stands in for the runner: the record is not an interrupted one
    store_of_records = ExecutionStore(load(api.home).executions_root)
    store_of_records.save_inputs(EXECUTION, {"Version": "2020-12-01", "Steps": []}, {})
    store_of_records.save(record)
    return record


@pytest.fixture()
def sagemaker(api: Api) -> Any:
    return api.client("sagemaker")


def test_a_tuning_job_and_its_trials(sagemaker: Any, record: ExecutionRecord) -> None:
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-abc")
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    assert tuning["BestTrainingJob"]["TrainingJobName"] == "tune-abc-001-1a2b3c4d"
    trial = sagemaker.describe_training_job(TrainingJobName="TUNE-ABC-001-1A2B3C4D")  # names are case-blind
    assert trial["TrainingJobStatus"] == "Completed"
    assert trial["HyperParameters"] == {"num_round": "10", "eta": "0.2"}
    assert trial["ModelArtifacts"] == {"S3ModelArtifacts": f"{OUTPUT}/tune-abc-001-1a2b3c4d/output/model.tar.gz"}
    assert trial["TuningJobArn"].endswith(":hyper-parameter-tuning-job/tune-abc")
    assert trial["FinalMetricDataList"][0]["Value"] == 2.5


def test_a_transform_a_running_and_a_failed_job(sagemaker: Any, record: ExecutionRecord) -> None:
    transform = sagemaker.describe_transform_job(TransformJobName="transform-one")
    assert transform["TransformOutput"] == {"S3OutputPath": "s3://jobs-bucket/out"}
    running = sagemaker.describe_training_job(TrainingJobName=job_name(EXECUTION, "Train"))
    assert (running["TrainingJobStatus"], running["TrainingJobName"]) == ("InProgress", job_name(EXECUTION, "Train"))
    failed = sagemaker.describe_processing_job(ProcessingJobName=job_name(EXECUTION, "Prep"))
    assert (failed["ProcessingJobStatus"], failed["FailureReason"]) == ("Failed", "AlgorithmError: boom")
    for name in (job_name(EXECUTION, "Later"), "never-ran"):  # a step that has not started ran no job
        with pytest.raises(ClientError) as caught:
            sagemaker.describe_processing_job(ProcessingJobName=name)
        assert caught.value.response["Error"] == {
            "Code": "ValidationException",
            "Message": f"Could not find requested job with name {name}",
        }


def test_the_steps_of_that_execution_in_sagemaker_s_words(sagemaker: Any, record: ExecutionRecord) -> None:
    listed = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=record.execution_arn, SortOrder="Ascending")
    steps = {step["StepName"]: step for step in listed["PipelineExecutionSteps"]}
    assert "Later" not in steps
    assert steps["Tune"]["Metadata"] == {"TuningJob": {"Arn": f"{ARN}:hyper-parameter-tuning-job/tune-abc"}}
    assert steps["Batch"]["Metadata"] == {"TransformJob": {"Arn": f"{ARN}:transform-job/transform-one"}}
    running_arn = f"{ARN}:training-job/{job_name(EXECUTION, 'Train').lower()}"
    assert (steps["Train"]["StepStatus"], steps["Train"]["Metadata"]) == (
        "Executing",
        {"TrainingJob": {"Arn": running_arn}},
    )
    assert steps["Prep"]["FailureReason"] == "AlgorithmError: boom"
