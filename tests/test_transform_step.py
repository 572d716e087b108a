"""Batch transform: the local endpoint's model loading and codec, row for row; SageMaker's input/output rules."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from showcase.errors import StepFailed
from showcase.local.jobs import JobContext
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.serving.app import EndpointApp
from showcase.store import ObjectStore
from tests.serving_support import NUM_FEATURES, XGBOOST_IMAGE, register, train_booster
from tests.test_serving_app import deploy, invoke

INPUT = "s3://showcase-local/batch/input"
OUTPUT = "s3://showcase-local/batch/output"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One registered model, a model record naming the same archive, and an endpoint serving it."""
    home = tmp_path_factory.mktemp("transform")
    arn = register(home, train_booster())
    registry = Registry(home / "registry.sqlite")
    url = registry.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0]
    registry.create_model(ModelName="batch-model", PrimaryContainer={"Image": XGBOOST_IMAGE, **url})
    deploy(home, arn)
    return home


@pytest.fixture(scope="module")
def app(home: Path) -> EndpointApp:
    from showcase.serving.deployment import EndpointPaths

    return EndpointApp.from_home(EndpointPaths(home.resolve(), "test-endpoint"), ObjectStore(home / "store"))


def rows(count: int, seed: int = 3) -> list[str]:
    """Rows as a user writes them: some values with many digits, some missing (empty fields)."""
    values = np.random.default_rng(seed).normal(size=(count, NUM_FEATURES)).round(6)
    lines = [",".join(repr(float(v)) for v in row) for row in values]
    return [line if i % 7 else line.replace(line.split(",")[2], "", 1) for i, line in enumerate(lines)]


def run(home: Path, tmp_path: Path, name: str, **arguments: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ModelName": "batch-model",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{INPUT}/{name}"}}},
        "TransformOutput": {"S3OutputPath": f"{OUTPUT}/{name}"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    for key, value in arguments.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    context = JobContext(
        "P", "exec00000001", f"Transform{name}", "Transform", base, tmp_path / name, io.StringIO(),
        ObjectStore(home / "store"), Registry(home / "registry.sqlite"),
    )  # fmt: skip
    return STEP_TYPES["Transform"].executor.run(context)


def put(home: Path, key: str, text: str) -> None:
    ObjectStore(home / "store").put_bytes(f"{INPUT}/{key}", text.encode())


def output(home: Path, key: str) -> str:
    return ObjectStore(home / "store").get_bytes(f"{OUTPUT}/{key}").decode()


def endpoint_answer(app: EndpointApp, row: str, accept: str = "text/csv") -> str:
    status, _, body = invoke(app, row, content_type="text/csv", accept=accept)
    assert status == 200, body
    return body.decode().rstrip("\n")


def test_transform_output_equals_the_endpoints_answers_row_by_row(home: Path, app: EndpointApp, tmp_path: Path) -> None:
    data = rows(300)
    put(home, "plain/part-a.csv", "\n".join(data[:200]) + "\n")
    put(home, "plain/nested/part-b.csv", "\n".join(data[200:]) + "\n\n")
    properties = run(
        home, tmp_path, "plain", TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        BatchStrategy="MultiRecord", TransformOutput={"AssembleWith": "Line", "Accept": "text/csv"},
    )  # fmt: skip
    keys = ("part-a.csv", "nested/part-b.csv")
    answers = [line for key in keys for line in output(home, f"plain/{key}.out").splitlines()]
    assert len(answers) == len(data)
    for row, answer in zip(data, answers, strict=True):
        assert answer == endpoint_answer(app, row)
    assert properties["TransformJobStatus"] == "Completed"
    assert properties["TransformJobName"] == "pipelines-exec00000001-Transformplain"
    assert properties["TransformOutput"]["S3OutputPath"] == f"{OUTPUT}/plain"


def test_single_record_and_a_small_payload_limit_answer_the_same(home: Path, tmp_path: Path) -> None:
    data = rows(40, seed=5)
    for name in ("multi", "single"):
        put(home, f"{name}/x.csv", "\n".join(data))
    run(home, tmp_path, "multi", TransformInput={"SplitType": "Line"}, MaxPayloadInMB=1,
        TransformOutput={"AssembleWith": "Line"})  # fmt: skip
    run(home, tmp_path, "single", TransformInput={"SplitType": "Line"}, BatchStrategy="SingleRecord",
        TransformOutput={"AssembleWith": "Line"})  # fmt: skip
    assert output(home, "multi/x.csv.out") == output(home, "single/x.csv.out")
    assert len(output(home, "single/x.csv.out").splitlines()) == 40


def test_split_none_sends_each_object_whole(home: Path, app: EndpointApp, tmp_path: Path) -> None:
    body = "\n".join(rows(5, seed=9))
    put(home, "whole/x.csv", body)
    run(home, tmp_path, "whole", TransformOutput={"Accept": "application/json"})
    assert output(home, "whole/x.csv.out") == endpoint_answer(app, body, accept="application/json")


def test_input_filter_join_and_output_filter(home: Path, app: EndpointApp, tmp_path: Path) -> None:
    """The test split's shape: label first. Drop it for the model, join, keep label and prediction."""
    data = rows(12, seed=11)
    labelled = [f"{index + 1},{row}" for index, row in enumerate(data)]
    put(home, "joined/test.csv", "\n".join(labelled) + "\n")
    processing = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    run(home, tmp_path, "joined", TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line", "Accept": "text/csv"}, DataProcessing=processing)  # fmt: skip
    lines = output(home, "joined/test.csv.out").splitlines()
    assert lines == [f"{index + 1},{endpoint_answer(app, row)}" for index, row in enumerate(data)]

    put(home, "jsonl/test.csv", "\n".join(labelled[:3]))
    run(home, tmp_path, "jsonl", TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line", "Accept": "application/jsonlines"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"})  # fmt: skip
    first = json.loads(output(home, "jsonl/test.csv.out").splitlines()[0])
    assert first["SageMakerInput"] == labelled[0].split(",")
    assert first["SageMakerOutput"] == json.loads(endpoint_answer(app, data[0], accept="application/jsonlines"))


def test_bad_records_and_oversized_records_fail_the_job(home: Path, tmp_path: Path) -> None:
    put(home, "bad/x.csv", "\n".join(rows(3)) + "\n1,2,3\n")
    with pytest.raises(StepFailed, match=r"ClientError: .*bad/x.csv: record 4: row 1 has 3 values; the model takes 10"):
        run(home, tmp_path, "bad", TransformInput={"SplitType": "Line"}, BatchStrategy="SingleRecord")
    put(home, "huge/x.csv", "1," * (600 * 1024) + "1\n")
    with pytest.raises(StepFailed, match=r"record 1 is \d+ bytes, beyond MaxPayloadInMB \(1\)"):
        run(home, tmp_path, "huge", TransformInput={"SplitType": "Line"}, MaxPayloadInMB=1)
    assert not ObjectStore(home / "store").list(f"{OUTPUT}/huge/")
    with pytest.raises(StepFailed, match="ModelName nobody: Could not find model 'nobody'"):
        put(home, "none/x.csv", rows(1)[0])
        run(home, tmp_path, "none", ModelName="nobody")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://b/m"}}}},
         "S3DataType ManifestFile is not supported locally"),
        ({"TransformInput": {"CompressionType": "Gzip"}}, "CompressionType Gzip is not supported locally"),
        ({"TransformInput": {"SplitType": "RecordIO"}}, "SplitType RecordIO is not supported locally"),
        ({"TransformInput": {"ContentType": "application/json"}}, "ContentType: Content-Type 'application/json'"),
        ({"TransformOutput": {"Accept": "image/png"}}, "Accept: Accept 'image/png' is not supported"),
        ({"DataProcessing": {"InputFilter": "$..features"}}, r"recursive descent \(\.\.\) is not in SageMaker"),
        ({"DataProcessing": {"InputFilter": "$[?(@ > 1)]"}}, "is not in SageMaker's JSONPath subset"),
        ({"DataProcessing": {"JoinSource": "Input"}, "TransformOutput": {"Accept": "application/json"}},
         "DataProcessing needs one output line per record"),
        ({"BatchStrategy": "Everything"}, "BatchStrategy Everything is not one of MultiRecord, SingleRecord"),
        ({"MaxPayloadInMB": 500}, "MaxPayloadInMB must be a whole number from 1 to 100"),
    ],
)  # fmt: skip
def test_what_cannot_run_locally_is_refused_before_running(change: dict[str, Any], problem: str) -> None:
    arguments: dict[str, Any] = {
        "ModelName": {"Get": "Steps.CreateModel.ModelName"},
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}},
                           "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": "s3://b/out", "Accept": "text/csv"},
    }  # fmt: skip
    for key, value in change.items():
        arguments[key] = {**arguments.get(key, {}), **value} if isinstance(value, dict) else value
    problems = STEP_TYPES["Transform"].executor.problems(arguments)
    assert len(problems) == 1 and __import__("re").search(problem, problems[0]), problems


def test_the_cache_key_holds_sagemakers_transform_attributes_only(tmp_path: Path) -> None:
    """AWS's default cache key attributes for Transform: DataProcessing, Environment, ModelName, TransformInput."""
    from showcase.local.cache import cache_key

    store = ObjectStore(tmp_path / "store")
    base: dict[str, Any] = {
        "ModelName": "m1",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in"}}},
        "TransformOutput": {"S3OutputPath": "s3://bucket/out/run-1"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    key = cache_key(STEP_TYPES["Transform"], base, store)
    assert (
        cache_key(
            STEP_TYPES["Transform"], {**base, "TransformOutput": {"S3OutputPath": "s3://bucket/out/run-2"}}, store
        )
        == key
    )
    assert cache_key(STEP_TYPES["Transform"], {**base, "ModelName": "m2"}, store) != key
    assert cache_key(STEP_TYPES["Transform"], {**base, "DataProcessing": {"InputFilter": "$[1:]"}}, store) != key


def test_a_pipeline_with_what_cannot_run_is_refused_before_any_step_runs(tmp_path: Path) -> None:
    """Through the engine with the real executors: one message naming each step and field; no execution."""
    from showcase import local
    from showcase.errors import DefinitionError
    from showcase.settings import load

    transform = {
        "Name": "Batch", "Type": "Transform",
        "Arguments": {
            "ModelName": "m",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://b/m"}},
                               "CompressionType": "Gzip"},
            "TransformOutput": {"S3OutputPath": "s3://b/out"},
        },
    }  # fmt: skip
    tune = {"Name": "Tune", "Type": "Tuning", "Arguments": {"HyperParameterTuningJobConfig": {"Strategy": "Evolution"}}}
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": [transform, tune]}
    settings = load(tmp_path / "home")
    with pytest.raises(DefinitionError) as caught:
        local.run_definition(definition, pipeline_name="P", settings=settings)
    message = str(caught.value)
    assert "step 'Batch' (Transform): TransformInput S3DataType ManifestFile is not supported locally" in message
    assert "step 'Batch' (Transform): TransformInput CompressionType Gzip is not supported locally" in message
    assert "step 'Tune' (Tuning): Strategy Evolution is not one of Bayesian, Random, Grid, Hyperband" in message
    assert not settings.executions_root.exists() or not any(settings.executions_root.iterdir())
