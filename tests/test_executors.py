"""The local job executors on small hand-written arguments: processing, XGBoost training, registration."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost

from showcase.errors import StepFailed
from showcase.local.jobs import JobContext, UpstreamStep
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore

SKLEARN_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
XGBOOST_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"
BUCKET = "s3://showcase-local"


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "store")


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite")


def make_context(
    tmp_path: Path, store: ObjectStore, registry: Registry, step_type: str, arguments: dict[str, Any]
) -> JobContext:
    work_dir = tmp_path / "work" / step_type
    work_dir.mkdir(parents=True, exist_ok=True)
    return JobContext(
        pipeline_name="TestPipeline",
        execution_id="abc123def456",
        step_name=f"My{step_type}",
        step_type=step_type,
        arguments=arguments,
        work_dir=work_dir,
        log=io.StringIO(),
        store=store,
        registry=registry,
    )


def log_of(context: JobContext) -> str:
    assert isinstance(context.log, io.StringIO)
    return context.log.getvalue()


# -- processing ---------------------------------------------------------------------------------------

SCRIPT = """\
import argparse, os, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument("--input-dir")
parser.add_argument("--output-dir")
parser.add_argument("--factor", type=int)
args = parser.parse_args()
numbers = [int(line) for line in pathlib.Path(args.input_dir, "numbers.txt").read_text().split()]
if any(n < 0 for n in numbers):
    raise ValueError("negative numbers are not allowed")
out = pathlib.Path(args.output_dir, "result")
out.mkdir(parents=True, exist_ok=True)
(out / "doubled.txt").write_text("\\n".join(str(n * args.factor) for n in numbers))
env = os.environ
print("processed", len(numbers), "numbers; greeting:", env.get("GREETING"), "aws:", env.get("AWS_SECRET_ACCESS_KEY"))
print("a warning on stderr", file=sys.stderr)
"""


def processing_arguments(image: str = SKLEARN_IMAGE, **app_overrides: Any) -> dict[str, Any]:
    app = {
        "ImageUri": image,
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/script.py"],
        "ContainerArguments": [
            "--input-dir",
            "/opt/ml/processing/input/data",
            "--output-dir=/opt/ml/processing/output",
            "--factor",
            "2",
        ],
        **app_overrides,
    }
    return {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}},
        "AppSpecification": app,
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "Environment": {"GREETING": "hello"},
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"{BUCKET}/code/abc/script.py",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3CompressionType": "None",
                },
            },
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"{BUCKET}/raw",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": f"{BUCKET}/exec/result",
                        "LocalPath": "/opt/ml/processing/output/result",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    }


@pytest.fixture()
def processing_inputs(store: ObjectStore) -> None:
    store.put_bytes(f"{BUCKET}/code/abc/script.py", SCRIPT.encode())
    store.put_bytes(f"{BUCKET}/raw/numbers.txt", b"1\n2\n3\n")


@pytest.mark.usefixtures("processing_inputs")
def test_processing_runs_the_script_and_uploads_outputs(
    tmp_path: Path, store: ObjectStore, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    arguments = processing_arguments()
    context = make_context(tmp_path, store, registry, "Processing", arguments)
    properties = STEP_TYPES["Processing"].executor.run(context)
    assert store.get_bytes(f"{BUCKET}/exec/result/doubled.txt") == b"2\n4\n6"
    assert properties["ProcessingJobName"] == "pipelines-abc123def456-MyProcessing"
    assert properties["ProcessingJobStatus"] == "Completed"
    assert properties["ProcessingOutputConfig"] == arguments["ProcessingOutputConfig"]
    assert properties["ProcessingInputs"] == arguments["ProcessingInputs"]
    assert properties["AppSpecification"] == arguments["AppSpecification"]
    assert properties["ProcessingJobArn"].endswith(":processing-job/pipelines-abc123def456-myprocessing")
    log = log_of(context)
    assert "processed 3 numbers; greeting: hello aws: None" in log
    assert "a warning on stderr" in log
    assert (context.work_dir / "processing" / "input" / "code" / "script.py").is_file()


@pytest.mark.usefixtures("processing_inputs")
def test_processing_script_crash_is_step_failed_with_its_last_line(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    store.put_bytes(f"{BUCKET}/raw/numbers.txt", b"1\n-2\n")
    context = make_context(tmp_path, store, registry, "Processing", processing_arguments())
    with pytest.raises(StepFailed, match=r"exited with code 1: ValueError: negative numbers are not allowed") as err:
        STEP_TYPES["Processing"].executor.run(context)
    assert err.value.step_name == "MyProcessing"
    assert err.value.execution_id == "abc123def456"
    assert "Traceback (most recent call last)" in log_of(context)
    assert store.list(f"{BUCKET}/exec/") == []  # no outputs from a failed job


def test_processing_missing_input(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    context = make_context(tmp_path, store, registry, "Processing", processing_arguments())
    with pytest.raises(StepFailed, match=re.escape(f"ProcessingInputs[0] (code): no object at {BUCKET}/code/abc")):
        STEP_TYPES["Processing"].executor.run(context)


@pytest.mark.usefixtures("processing_inputs")
def test_processing_timeout(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    store.put_bytes(f"{BUCKET}/code/abc/script.py", b"import time\ntime.sleep(30)\n")
    arguments = {**processing_arguments(), "StoppingCondition": {"MaxRuntimeInSeconds": 1}}
    context = make_context(tmp_path, store, registry, "Processing", arguments)
    with pytest.raises(StepFailed, match="ran longer than StoppingCondition.MaxRuntimeInSeconds=1"):
        STEP_TYPES["Processing"].executor.run(context)


def test_processing_problems() -> None:
    problems = STEP_TYPES["Processing"].executor.problems
    assert problems(processing_arguments()) == []
    assert problems(processing_arguments(image=XGBOOST_IMAGE)) == []
    custom = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-team/custom:latest"
    assert problems(processing_arguments(image=custom)) == [
        f"image {custom} is not a SageMaker framework image the local runtime can stand in for "
        "(known repositories: huggingface-pytorch-inference, huggingface-pytorch-training, mxnet-inference, "
        "mxnet-training, pytorch-inference, pytorch-training, sagemaker-scikit-learn, "
        "sagemaker-spark-processing, sagemaker-xgboost, tensorflow-inference, tensorflow-training)"
    ]
    assert problems(processing_arguments(image={"Get": "Parameters.Image"})) == []
    (no_entrypoint,) = problems(processing_arguments(ContainerEntrypoint=None))
    assert "ContainerEntrypoint is required locally" in no_entrypoint
    (missing_program,) = problems(processing_arguments(ContainerEntrypoint=["no-such-program-xyz"]))
    assert "'no-such-program-xyz' is not available on this host" in missing_program
    manifest = processing_arguments()
    manifest["ProcessingInputs"][1]["S3Input"]["S3DataType"] = "ManifestFile"
    manifest["ProcessingInputs"][0]["S3Input"]["LocalPath"] = "/tmp/code"
    assert problems(manifest) == [
        "ProcessingInputs[0].S3Input.LocalPath '/tmp/code' must be under /opt/ml/processing/",
        "ProcessingInputs[1].S3Input.S3DataType ManifestFile is not supported locally",
    ]
    assert problems({"Foo": 1}) == ["a Processing step needs AppSpecification.ImageUri"]


def test_processing_image_needing_missing_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    from showcase.local.steps import standins as images

    monkeypatch.setitem(images.FRAMEWORK_IMAGES, "sagemaker-scikit-learn", ("no_such_module_xyz",))
    (problem,) = STEP_TYPES["Processing"].executor.problems(processing_arguments())
    assert "needs the Python package(s) no_such_module_xyz" in problem


@pytest.mark.usefixtures("processing_inputs")
def test_processing_unsupported_image_fails_at_run_time(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    arguments = processing_arguments(image="docker.io/library/python:3.11")
    context = make_context(tmp_path, store, registry, "Processing", arguments)
    with pytest.raises(StepFailed, match="is not a SageMaker framework image"):
        STEP_TYPES["Processing"].executor.run(context)


def test_job_names_are_valid_and_bounded(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    context = make_context(tmp_path, store, registry, "Training", {})
    assert context.job_name == "pipelines-abc123def456-MyTraining"
    long = JobContext(**{**context.__dict__, "step_name": "Step_with spaces." + "x" * 80, "job_name": ""})
    name = long.job_name
    assert len(name) <= 63
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)
    other = JobContext(**{**context.__dict__, "step_name": "Step_with spaces." + "x" * 81, "job_name": ""})
    assert name != other.job_name


# -- training -----------------------------------------------------------------------------------------


def training_arguments(
    hyperparameters: dict[str, Any] | None = None, content_type: str | None = "text/csv", validation: bool = True
) -> dict[str, Any]:
    def channel(name: str) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"{BUCKET}/exec/data/{name}",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
        }
        if content_type is not None:
            spec["ContentType"] = content_type
        return spec

    return {
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": XGBOOST_IMAGE},
        "HyperParameters": hyperparameters
        if hyperparameters is not None
        else {"objective": "reg:squarederror", "num_round": 5, "max_depth": "3", "eta": 0.3, "subsample": "0.9"},
        "InputDataConfig": [channel("train"), *([channel("validation")] if validation else [])],
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/exec/model/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def _rows(seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(count, 4))
    label = 3 * features[:, 0] - 2 * features[:, 1] + rng.normal(scale=0.1, size=count)
    return features, label


@pytest.fixture()
def csv_channels(store: ObjectStore) -> None:
    for name, seed in (("train", 1), ("validation", 2)):
        features, label = _rows(seed, 200)
        lines = [",".join(f"{v:.6f}" for v in [y, *x]) for x, y in zip(features, label, strict=True)]
        store.put_bytes(f"{BUCKET}/exec/data/{name}/{name}.csv", "\n".join(lines).encode())


def _load_model(store: ObjectStore, uri: str, tmp_path: Path) -> xgboost.Booster:
    from showcase.archives import extract_model_archive

    archive = tmp_path / "downloaded.tar.gz"
    archive.write_bytes(store.get_bytes(uri))
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["xgboost-model"]
    (model,) = extract_model_archive(archive, tmp_path / "model")
    booster = xgboost.Booster()
    booster.load_model(bytearray(model.read_bytes()))
    return booster


@pytest.mark.usefixtures("csv_channels")
def test_training_on_csv(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    arguments = training_arguments()
    context = make_context(tmp_path, store, registry, "Training", arguments)
    properties = STEP_TYPES["Training"].executor.run(context)
    name = "pipelines-abc123def456-MyTraining"
    model_uri = f"{BUCKET}/exec/model/{name}/output/model.tar.gz"
    assert properties["TrainingJobName"] == name
    assert properties["TrainingJobStatus"] == "Completed"
    assert properties["ModelArtifacts"] == {"S3ModelArtifacts": model_uri}
    assert properties["HyperParameters"]["num_round"] == "5"
    assert properties["AlgorithmSpecification"] == arguments["AlgorithmSpecification"]
    metrics = {m["MetricName"]: m["Value"] for m in properties["FinalMetricDataList"]}
    assert set(metrics) == {"train:rmse", "validation:rmse"}
    log = log_of(context)
    assert re.search(r"^\[4\]#011train-rmse:[0-9.]+#011validation-rmse:[0-9.]+$", log, re.MULTILINE)
    booster = _load_model(store, model_uri, tmp_path)
    assert booster.num_boosted_rounds() == 5
    features, _ = _rows(2, 5)
    assert booster.predict(xgboost.DMatrix(features)).shape == (5,)


@pytest.mark.usefixtures("csv_channels")
def test_training_is_deterministic(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    first = STEP_TYPES["Training"].executor.run(
        make_context(tmp_path / "a", store, registry, "Training", training_arguments())
    )
    data = store.get_bytes(first["ModelArtifacts"]["S3ModelArtifacts"])
    second = STEP_TYPES["Training"].executor.run(
        make_context(tmp_path / "b", store, registry, "Training", training_arguments())
    )
    assert store.get_bytes(second["ModelArtifacts"]["S3ModelArtifacts"]) == data
    assert first["FinalMetricDataList"][1]["Value"] == second["FinalMetricDataList"][1]["Value"]


def test_training_on_libsvm_by_default(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    features, label = _rows(3, 100)
    lines = [
        f"{y:.4f} " + " ".join(f"{i}:{v:.4f}" for i, v in enumerate(x)) for x, y in zip(features, label, strict=True)
    ]
    store.put_bytes(f"{BUCKET}/exec/data/train/part-0", "\n".join(lines[:50]).encode())
    store.put_bytes(f"{BUCKET}/exec/data/train/part-1", "\n".join(lines[50:]).encode())
    arguments = training_arguments(
        {"num_round": "3", "objective": "reg:linear", "eval_metric": "mae,rmse"}, content_type=None, validation=False
    )
    context = make_context(tmp_path, store, registry, "Training", arguments)
    properties = STEP_TYPES["Training"].executor.run(context)
    metrics = [m["MetricName"] for m in properties["FinalMetricDataList"]]
    assert metrics == ["train:mae", "train:rmse"]
    booster = _load_model(store, properties["ModelArtifacts"]["S3ModelArtifacts"], tmp_path)
    assert json.loads(booster.save_config())["learner"]["objective"]["name"] == "reg:squarederror"


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"objective": "reg:squarederror"}, "ClientError: Missing required hyperparameter: num_round"),
        ({"num_round": "5", "eta": "2"}, r"Hyperparameter eta: 2.0 is not in \[0, 1\]"),
        ({"num_round": "5", "subsample": "0"}, r"Hyperparameter subsample: 0.0 is not in \(0, 1\]"),
        ({"num_round": "0"}, r"Hyperparameter num_round: 0 is not in \[1, \+inf\)"),
        ({"num_round": "5", "max_depth": "2.5"}, "Hyperparameter max_depth: could not parse value '2.5'"),
        ({"num_round": "5", "objective": "reg:nope"}, "Hyperparameter objective: reg:nope is not in"),
        ({"num_round": "5", "silent": "0"}, "Extraneous hyperparameter found: silent"),
        ({"num_round": "5", "objective": "multi:softmax"}, "Require input for parameter 'num_class'"),
        ({"num_round": "5", "eval_metric": "rmse,bogus"}, r"Hyperparameter eval_metric: \['rmse', 'bogus'\]"),
        ({"num_round": "5", "eval_metric": "auc"}, "Metric 'auc' can only be applied for classification"),
    ],
)
def test_training_rejects_bad_hyperparameters(
    tmp_path: Path, store: ObjectStore, registry: Registry, hyperparameters: dict[str, Any], message: str
) -> None:
    context = make_context(tmp_path, store, registry, "Training", training_arguments(hyperparameters))
    with pytest.raises(StepFailed, match=message):
        STEP_TYPES["Training"].executor.run(context)


@pytest.mark.usefixtures("csv_channels")
def test_training_multiclass_and_early_stopping(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    rng = np.random.default_rng(0)
    for name in ("train", "validation"):
        features = rng.normal(size=(150, 3))
        label = (features[:, 0] > 0).astype(int) + (features[:, 1] > 1).astype(int)
        lines = [",".join(str(v) for v in [y, *x]) for x, y in zip(features, label, strict=True)]
        store.put_bytes(f"{BUCKET}/exec/data/{name}/{name}.csv", "\n".join(lines).encode())
    hyperparameters = {"num_round": "50", "objective": "multi:softmax", "num_class": "3", "early_stopping_rounds": "2"}
    context = make_context(tmp_path, store, registry, "Training", training_arguments(hyperparameters))
    properties = STEP_TYPES["Training"].executor.run(context)
    assert [m["MetricName"] for m in properties["FinalMetricDataList"]] == ["train:mlogloss", "validation:mlogloss"]


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/x-parquet", "ClientError: Content type application/x-parquet is not supported"),
        ("application/x-recordio-protobuf", "Content type application/x-recordio-protobuf is not supported"),
    ],
)
@pytest.mark.usefixtures("csv_channels")
def test_training_unsupported_content_type(
    tmp_path: Path, store: ObjectStore, registry: Registry, content_type: str, message: str
) -> None:
    context = make_context(tmp_path, store, registry, "Training", training_arguments(content_type=content_type))
    with pytest.raises(StepFailed, match=message):
        STEP_TYPES["Training"].executor.run(context)


def test_training_bad_csv(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    store.put_bytes(f"{BUCKET}/exec/data/train/t.csv", b"label,a,b\n1,2,3\n")
    context = make_context(tmp_path, store, registry, "Training", training_arguments(validation=False))
    with pytest.raises(StepFailed, match="ClientError: Channel 'train': could not read the data as csv"):
        STEP_TYPES["Training"].executor.run(context)


def test_training_missing_channel_data(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    context = make_context(tmp_path, store, registry, "Training", training_arguments())
    with pytest.raises(StepFailed, match=re.escape(f"channel 'train': no object at {BUCKET}/exec/data/train")):
        STEP_TYPES["Training"].executor.run(context)


def test_training_problems() -> None:
    problems = STEP_TYPES["Training"].executor.problems
    assert problems(training_arguments()) == []
    custom = training_arguments()
    custom["AlgorithmSpecification"]["TrainingImage"] = SKLEARN_IMAGE
    custom["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    found = problems(custom)
    assert len(found) == 2
    assert "is not a built-in algorithm the local runtime can train" in found[0]
    assert "use script mode (sagemaker_program) or a python ContainerEntrypoint" in found[0]
    assert "TrainingInputMode Pipe" in found[1]
    assert problems({}) == [
        "a Training step needs AlgorithmSpecification.TrainingImage (AlgorithmName is not supported)"
    ]


# -- registration -------------------------------------------------------------------------------------


def register_arguments(model_uri: str, metrics_uri: str) -> dict[str, Any]:
    return {
        "ModelPackageGroupName": "TestGroup",
        "ModelPackageDescription": "test",
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}},
            "Bias": {},
            "Explainability": {},
        },
        "InferenceSpecification": {
            "Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": model_uri, "Environment": {}}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelApprovalStatus": "Approved",
        "SkipModelValidation": "None",
    }


METRICS = b'{"regression_metrics": {"mse": {"value": 4.2}}}'


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_register_records_package_and_metrics(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    model_uri = store.put_bytes(f"{BUCKET}/exec/model/job/output/model.tar.gz", b"tar")
    metrics_uri = store.put_bytes(f"{BUCKET}/exec/evaluation/evaluation.json", METRICS)
    executor = STEP_TYPES["RegisterModel"].executor
    assert STEP_TYPES["RegisterModel"].cacheable is False
    context = make_context(tmp_path, store, registry, "RegisterModel", register_arguments(model_uri, metrics_uri))
    properties = executor.run(context)
    arn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/testgroup/1"
    assert properties == {"ModelPackageArn": arn}
    extras = registry.describe_model_package_extras(ModelPackageName=arn)
    assert extras["Metrics"] == {"regression_metrics": {"mse": {"value": 4.2}}}
    assert extras["Lineage"] == {
        "PipelineName": "TestPipeline",
        "PipelineExecutionId": "abc123def456",
        "StepName": "MyRegisterModel",
        "ModelDataUrl": model_uri,
        "Parameters": {},
        "Artifacts": [
            {"Field": "ModelMetrics.ModelQuality.Statistics.S3Uri", "Uri": metrics_uri, "Sha256": sha256(METRICS)},
            {"Field": "InferenceSpecification.Containers[0].ModelDataUrl", "Uri": model_uri, "Sha256": sha256(b"tar")},
        ],
        "Steps": [],
    }
    assert registry.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"


def test_register_missing_metrics_names_the_uri(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    model_uri = store.put_bytes(f"{BUCKET}/m/model.tar.gz", b"tar")
    arguments = register_arguments(model_uri, f"{BUCKET}/exec/evaluation/evaluation.json")
    context = make_context(tmp_path, store, registry, "RegisterModel", arguments)
    with pytest.raises(StepFailed, match=re.escape(f"no object at {BUCKET}/exec/evaluation/evaluation.json")):
        STEP_TYPES["RegisterModel"].executor.run(context)
    assert registry.list_model_packages()["ModelPackageSummaryList"] == []


def test_register_missing_model_data(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    metrics_uri = store.put_bytes(f"{BUCKET}/e/evaluation.json", b"{}")
    arguments = register_arguments(f"{BUCKET}/nope/model.tar.gz", metrics_uri)
    context = make_context(tmp_path, store, registry, "RegisterModel", arguments)
    with pytest.raises(StepFailed, match=re.escape(f"ModelDataUrl {BUCKET}/nope/model.tar.gz does not exist")):
        STEP_TYPES["RegisterModel"].executor.run(context)


def test_register_refused_by_registry_leaves_nothing(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    model_uri = store.put_bytes(f"{BUCKET}/m/model.tar.gz", b"tar")
    metrics_uri = store.put_bytes(f"{BUCKET}/e/evaluation.json", b"{}")
    arguments = {**register_arguments(model_uri, metrics_uri), "ModelApprovalStatus": "approved"}
    context = make_context(tmp_path, store, registry, "RegisterModel", arguments)
    with pytest.raises(StepFailed, match="ModelApprovalStatus must be one of PendingManualApproval, Approved"):
        STEP_TYPES["RegisterModel"].executor.run(context)
    assert registry.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_register_bad_metrics_document(tmp_path: Path, store: ObjectStore, registry: Registry) -> None:
    model_uri = store.put_bytes(f"{BUCKET}/m/model.tar.gz", b"tar")
    metrics_uri = store.put_bytes(f"{BUCKET}/e/evaluation.json", b"not json")
    context = make_context(tmp_path, store, registry, "RegisterModel", register_arguments(model_uri, metrics_uri))
    with pytest.raises(StepFailed, match="is not JSON"):
        STEP_TYPES["RegisterModel"].executor.run(context)


def test_register_problems() -> None:
    assert STEP_TYPES["RegisterModel"].executor.problems({"ModelPackageName": "x"}) == [
        "a RegisterModel step needs ModelPackageGroupName (unversioned packages are not supported)"
    ]


# -- registration lineage -----------------------------------------------------------------------------


CODE_SHA = "7f0cae9075213cd4a5418d9599f72d634d1bf13424425bc7e0918c933a07742c"


def upstream_steps(store: ObjectStore, data_file: Path) -> tuple[UpstreamStep, ...]:
    """A prepare -> train -> evaluate chain as the engine would hand it over, with objects in the store."""
    code = store.put_bytes(f"{BUCKET}/P/code/{CODE_SHA}/prep.py", b"print('prep')")
    eval_code = store.put_bytes(f"{BUCKET}/P/src/eval.py", b"print('eval')")
    store.put_bytes(f"{BUCKET}/x/train/part-1.csv", b"1,2\n")
    store.put_bytes(f"{BUCKET}/x/train/part-0.csv", b"3,4\n")
    prepare = {
        "AppSpecification": {"ImageUri": SKLEARN_IMAGE, "ContainerArguments": ["--input-data", str(data_file)]},
        "ProcessingInputs": [{"InputName": "code", "S3Input": {"S3Uri": code, "LocalPath": "/opt/ml/processing/c"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": f"{BUCKET}/x/train"}}]},
    }
    train = {
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE},
        "InputDataConfig": [
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": f"{BUCKET}/x/train/"}}},
            {"ChannelName": "gone", "DataSource": {"S3DataSource": {"S3Uri": f"{BUCKET}/x/nothing"}}},
        ],
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/x/model"},
    }
    evaluate = {
        "AppSpecification": {
            "ImageUri": XGBOOST_IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/c/e.py"],
        },
        "ProcessingInputs": [{"InputName": "code", "S3Input": {"S3Uri": eval_code, "LocalPath": "/opt/ml/p/c"}}],
    }
    keys = {name: declared.cache_key for name, declared in STEP_TYPES.items()}
    return (
        UpstreamStep("Prep", "Processing", "Cached", prepare, {}, "older1234567", keys["Processing"]),
        UpstreamStep("Fit", "Training", "Succeeded", train, {}, key_attributes=keys["Training"]),
        UpstreamStep("Eval", "Processing", "Succeeded", evaluate, {}, key_attributes=keys["Processing"]),
        UpstreamStep("Check", "Condition", "Succeeded", {}, {"Outcome": True}, key_attributes=keys["Condition"]),
    )


def test_register_records_lineage_of_parameters_inputs_and_code(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    data_file = tmp_path / "abalone.data"
    data_file.write_bytes(b"M,0.455,0.365\n")
    model_uri = store.put_bytes(f"{BUCKET}/x/model/model.tar.gz", b"tar")
    metrics_uri = store.put_bytes(f"{BUCKET}/x/evaluation.json", METRICS)
    context = dataclasses.replace(
        make_context(tmp_path, store, registry, "RegisterModel", register_arguments(model_uri, metrics_uri)),
        parameters={"InputData": str(data_file), "SplitSeed": 42},
        upstream=upstream_steps(store, data_file),
    )

    arn = STEP_TYPES["RegisterModel"].executor.run(context)["ModelPackageArn"]

    lineage = registry.describe_model_package_extras(ModelPackageName=arn)["Lineage"]
    assert lineage["Parameters"] == {"InputData": str(data_file), "SplitSeed": 42}
    prep, fit, evaluate, check = lineage["Steps"]
    assert prep == {
        "Name": "Prep",
        "Type": "Processing",
        "Status": "Cached",
        "CachedFrom": "older1234567",
        "Inputs": [
            {
                "Field": "AppSpecification.ContainerArguments[1]",
                "Uri": str(data_file),
                "Sha256": sha256(data_file.read_bytes()),
            }
        ],
        "Code": [
            {
                "Field": "ProcessingInputs[0].S3Input.S3Uri",
                "Uri": f"{BUCKET}/P/code/{CODE_SHA}/prep.py",
                "Sha256": sha256(b"print('prep')"),
            }
        ],
    }
    # A prefix is hashed as its sha256sum-style manifest, sorted by key; nothing under a URI is null.
    part0, part1 = sha256(b"3,4\n"), sha256(b"1,2\n")
    manifest = f"{part0}  part-0.csv\n{part1}  part-1.csv\n"
    assert fit["Inputs"] == [
        {
            "Field": "InputDataConfig[0].DataSource.S3DataSource.S3Uri",
            "Uri": f"{BUCKET}/x/train/",
            "Sha256": sha256(manifest.encode()),
        },
        {"Field": "InputDataConfig[1].DataSource.S3DataSource.S3Uri", "Uri": f"{BUCKET}/x/nothing", "Sha256": None},
    ]
    assert fit["Code"] == []
    # A processing input named "code" is code wherever it lives; container paths are not host files.
    assert [item["Uri"] for item in evaluate["Code"]] == [f"{BUCKET}/P/src/eval.py"]
    assert evaluate["Inputs"] == []
    assert check == {"Name": "Check", "Type": "Condition", "Status": "Succeeded", "Inputs": [], "Code": []}


def test_register_lineage_names_every_object_the_arguments_reference(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    model_uri = store.put_bytes(f"{BUCKET}/m/model.tar.gz", b"tar")
    metrics_uri = store.put_bytes(f"{BUCKET}/e/evaluation.json", b"{}")
    arguments = register_arguments(model_uri, metrics_uri)
    arguments["ModelMetrics"]["Bias"] = {
        "Report": {"ContentType": "application/json", "S3Uri": f"{BUCKET}/e/bias.json"}
    }
    context = make_context(tmp_path, store, registry, "RegisterModel", arguments)

    arn = STEP_TYPES["RegisterModel"].executor.run(context)["ModelPackageArn"]

    artifacts = registry.describe_model_package_extras(ModelPackageName=arn)["Lineage"]["Artifacts"]
    assert {item["Field"]: item["Sha256"] for item in artifacts} == {
        "ModelMetrics.ModelQuality.Statistics.S3Uri": sha256(b"{}"),
        "ModelMetrics.Bias.Report.S3Uri": None,  # referenced but not there: recorded, not refused (as SageMaker)
        "InferenceSpecification.Containers[0].ModelDataUrl": sha256(b"tar"),
    }
    assert f"sha256 {sha256(b'tar')}" in log_of(context)


@pytest.mark.parametrize(
    ("tag", "pickled"),
    [
        ("0.90-2-cpu-py3", True),
        ("1.0-1-cpu-py3", True),
        ("1.2-2", True),
        ("1.3-1", False),
        ("1.7-1", False),
        ("3.2-0", False),
    ],
)
@pytest.mark.usefixtures("csv_channels")
def test_the_model_file_is_written_as_the_image_of_its_tag_writes_it(
    tmp_path: Path, store: ObjectStore, registry: Registry, tag: str, pickled: bool
) -> None:
    """Images before 1.3-1 pickle the Booster; later ones use Booster.save_model. Only the bytes are read here."""
    arguments = training_arguments()
    arguments["AlgorithmSpecification"]["TrainingImage"] = XGBOOST_IMAGE.replace(":3.2-0", f":{tag}")
    properties = STEP_TYPES["Training"].executor.run(make_context(tmp_path, store, registry, "Training", arguments))
    with tarfile.open(fileobj=io.BytesIO(store.get_bytes(properties["ModelArtifacts"]["S3ModelArtifacts"]))) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        head = member.read(2)
    assert (head[:1] == b"\x80") is pickled  # a pickle's protocol marker; UBJSON starts with '{'
    if not pickled:
        assert head[:1] == b"{"


# Every hyperparameter users set on the built-in algorithm, with a second valid value that changes the model.
TUNED = {
    "max_depth": ("2", "4"),
    "eta": ("0.37", "0.1"),
    "gamma": ("0.5", "200"),
    "min_child_weight": ("3", "12"),
    "subsample": ("0.7", "0.5"),
    "colsample_bytree": ("0.75", "0.5"),
    "lambda": ("2", "20"),
    "alpha": ("0.1", "5"),
    "max_delta_step": ("0.8", "0.2"),
}


def _reference_predictions(hyperparameters: dict[str, str], train: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """XGBoost itself, given the hyperparameters by their (shared) names, on the rows the channel holds."""
    params = {name: value for name, value in hyperparameters.items() if name != "num_round"}
    dtrain = xgboost.DMatrix(train[:, 1:], label=train[:, 0])
    booster = xgboost.train({**params, "nthread": 1}, dtrain, num_boost_round=int(hyperparameters["num_round"]))
    return np.asarray(booster.predict(xgboost.DMatrix(probe)))


@pytest.mark.usefixtures("csv_channels")
def test_every_hyperparameter_reaches_the_trained_booster(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    """The job's model predicts exactly as XGBoost trained directly with the same hyperparameters, and changing
    any single one of them changes those predictions: none is dropped or altered on the way."""
    hyperparameters = {"objective": "reg:squarederror", "num_round": "7", **{k: v for k, (v, _) in TUNED.items()}}
    arguments = training_arguments(hyperparameters)
    properties = STEP_TYPES["Training"].executor.run(make_context(tmp_path, store, registry, "Training", arguments))
    booster = _load_model(store, properties["ModelArtifacts"]["S3ModelArtifacts"], tmp_path)
    assert booster.num_boosted_rounds() == 7
    text = store.get_bytes(f"{BUCKET}/exec/data/train/train.csv").decode()
    train = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float32)
    probe = _rows(3, 50)[0].astype(np.float32)
    trained = np.asarray(booster.predict(xgboost.DMatrix(probe)))
    np.testing.assert_allclose(trained, _reference_predictions(hyperparameters, train, probe), rtol=1e-6)
    for name, (_, other) in TUNED.items():
        changed = _reference_predictions({**hyperparameters, name: other}, train, probe)
        assert not np.allclose(trained, changed, rtol=1e-6), f"{name} makes no difference to this model"
