"""Inference pipelines: scikit-learn preprocessing (the serving contract) in front of the built-in XGBoost, through
CreateModel and Transform, and through RegisterModel, deploy and the endpoint; each answers a raw record as the
XGBoost model alone answers the encoded one."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from showcase.archives import write_model_archive
from showcase.errors import StepFailed, UsageError
from showcase.local.jobs import JobContext
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.serving.app import EndpointApp
from showcase.serving.errors import ModelLoadError
from showcase.store import ObjectStore
from tests.serving_support import XGBOOST_IMAGE, register, serving, train_booster, write_config
from tests.test_serving_app import deploy, invoke

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"
SCRIPT = """
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "preprocess.joblib"))


def input_fn(body, content_type):
    rows = [line.split(",") for line in body.decode().splitlines() if line.strip()]
    return np.array([[row[0].strip(), *(float(v) for v in row[1:])] for row in rows], dtype=object)


def predict_fn(data, model):
    return model.transform(data)
"""
ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
}


def raw_rows(count: int, seed: int = 11) -> list[str]:
    """Records as a client has them: a letter first, then 7 measurements (3 + 7 = the booster's 10 features)."""
    rng = np.random.default_rng(seed)
    letters = rng.choice(["M", "F", "I"], size=count)
    values = rng.normal(loc=0.5, scale=0.2, size=(count, 7)).round(4)
    return [
        ",".join([str(letter), *(repr(float(v)) for v in row)]) for letter, row in zip(letters, values, strict=True)
    ]


def fitted() -> ColumnTransformer:
    rows = [line.split(",") for line in raw_rows(200, seed=1)]
    data = np.array([[row[0], *(float(v) for v in row[1:])] for row in rows], dtype=object)
    preprocess = ColumnTransformer(
        [("sex", OneHotEncoder(categories=[["F", "I", "M"]]), [0]), ("scaled", StandardScaler(), list(range(1, 8)))],
        sparse_threshold=0,
    )
    return preprocess.fit(data)


def encoded(preprocess: ColumnTransformer, rows: list[str]) -> str:
    """The rows as the first container hands them on: its transform, written by the toolkit's CSV encoder."""
    data = np.array([[r.split(",")[0], *(float(v) for v in r.split(",")[1:])] for r in rows], dtype=object)
    stream = io.StringIO()
    np.savetxt(stream, preprocess.transform(data), delimiter=",", fmt="%s")
    return stream.getvalue()


def preprocessing_archive(home: Path, preprocess: ColumnTransformer) -> str:
    work = home / "front"
    (work / "code").mkdir(parents=True)
    (work / "code" / "inference.py").write_text(textwrap.dedent(SCRIPT))
    joblib.dump(preprocess, work / "preprocess.joblib")
    files = {"preprocess.joblib": work / "preprocess.joblib", "code/inference.py": work / "code" / "inference.py"}
    archive = write_model_archive(files, work / "model.tar.gz")
    return ObjectStore(home / "store").put_file("s3://showcase-local/models/preprocess/model.tar.gz", archive)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registered XGBoost package (served alone as the reference) and the preprocessing container's archive."""
    home = tmp_path_factory.mktemp("inference-pipeline")
    arn = register(home, train_booster(), group="Plain")
    (home / "plain-arn").write_text(arn)
    preprocessing_archive(home, fitted())
    return home


def containers(home: Path) -> list[dict[str, Any]]:
    registry = Registry(home / "registry.sqlite")
    arn = (home / "plain-arn").read_text()
    xgboost = registry.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0]
    front = {"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://showcase-local/models/preprocess/model.tar.gz"}
    return [{**front, "Environment": ENVIRONMENT}, {"Image": XGBOOST_IMAGE, "ModelDataUrl": xgboost["ModelDataUrl"]}]


def run_step(home: Path, tmp_path: Path, step_type: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    context = JobContext(
        "P", "exec00000001", name, step_type, arguments, tmp_path / name, io.StringIO(),
        ObjectStore(home / "store"), Registry(home / "registry.sqlite"),
    )  # fmt: skip
    return STEP_TYPES[step_type].executor.run(context)


def transform(home: Path, tmp_path: Path, model_name: str, name: str, rows: list[str]) -> str:
    store = ObjectStore(home / "store")
    store.put_bytes(f"s3://showcase-local/batch/{name}/in/x.csv", ("\n".join(rows) + "\n").encode())
    arguments = {
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://showcase-local/batch/{name}/in"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://showcase-local/batch/{name}/out", "AssembleWith": "Line"},
    }
    run_step(home, tmp_path, "Transform", f"Transform{name}", arguments)
    return store.get_bytes(f"s3://showcase-local/batch/{name}/out/x.csv.out").decode()


def test_create_model_and_transform_run_the_containers_in_sequence(home: Path, tmp_path: Path) -> None:
    model = run_step(
        home, tmp_path, "Model", "PipelineModel",
        {"Containers": containers(home), "InferenceExecutionConfig": {"Mode": "Serial"}},
    )  # fmt: skip
    assert [c["Image"] for c in model["Containers"]] == [SKLEARN_IMAGE, XGBOOST_IMAGE]
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    plain = run_step(home, tmp_path, "Model", "PlainModel", {"PrimaryContainer": containers(home)[1]})
    rows = raw_rows(60)
    answers = transform(home, tmp_path, model["ModelName"], "pipeline", rows)
    reference = transform(home, tmp_path, plain["ModelName"], "plain", encoded(fitted(), rows).splitlines())
    assert answers == reference
    assert len(answers.splitlines()) == 60


def test_a_direct_mode_model_is_refused_before_it_is_created(home: Path, tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match="InferenceExecutionConfig.Mode Direct is not served locally"):
        run_step(
            home, tmp_path, "Model", "DirectModel",
            {"Containers": containers(home), "InferenceExecutionConfig": {"Mode": "Direct"}},
        )  # fmt: skip


def test_a_transform_whose_front_container_fails_to_load_fails_the_job(home: Path, tmp_path: Path) -> None:
    broken = containers(home)
    broken[0] = {**broken[0], "Environment": {**ENVIRONMENT, "SAGEMAKER_PROGRAM": "missing.py"}}
    model = run_step(home, tmp_path, "Model", "BrokenModel", {"Containers": broken})
    with pytest.raises(StepFailed, match="no inference script missing.py"):
        transform(home, tmp_path, model["ModelName"], "broken", raw_rows(2))


def register_pipeline(home: Path, listed: list[dict[str, Any]]) -> str:
    response = Registry(home / "registry.sqlite").create_model_package(
        ModelPackageGroupName="PipelineModels",
        InferenceSpecification={
            "Containers": listed,
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="Approved",
    )
    return str(response["ModelPackageArn"])


def test_register_deploy_and_the_endpoint_answer_the_raw_record_as_the_encoded_one(home: Path) -> None:
    rows = raw_rows(5, seed=4)
    paths = deploy(home, (home / "plain-arn").read_text())
    reference = invoke(EndpointApp.from_home(paths, ObjectStore(home / "store")), encoded(fitted(), rows))
    assert reference[0] == 200, reference
    deploy(home, register_pipeline(home, containers(home)))
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    answer = invoke(app, "\n".join(rows), content_type="text/csv", accept="text/csv")
    assert (answer[0], answer[2]) == (200, reference[2])
    assert len(answer[2].splitlines()) == 5
    status, _, body = invoke(app, "M,not-a-number", content_type="text/csv")
    assert status == 500
    assert b"container 1: ValueError: could not convert string to float: 'not-a-number'" in body


def test_a_package_whose_front_container_cannot_load_is_not_deployed(home: Path) -> None:
    broken = containers(home)
    broken[0] = {**broken[0], "Environment": {**ENVIRONMENT, "SAGEMAKER_PROGRAM": "missing.py"}}
    with pytest.raises(ModelLoadError, match="no inference script missing.py"):
        deploy(home, register_pipeline(home, broken))


def test_a_package_with_an_xgboost_container_in_front_is_refused(home: Path) -> None:
    listed = containers(home)
    with pytest.raises(UsageError, match=r"Containers\[0\] image .*sagemaker-xgboost.* cannot run before"):
        deploy(home, register_pipeline(home, [listed[1], listed[1]]))


def test_a_real_server_runs_the_users_script_in_its_workers_and_answers_boto3(home: Path) -> None:
    """The endpoint as a client meets it: ``showcase endpoint serve`` (gunicorn, two workers), InvokeEndpoint."""
    import boto3
    from botocore.config import Config

    rows = raw_rows(3, seed=8)
    paths = deploy(home, (home / "plain-arn").read_text())
    reference = invoke(EndpointApp.from_home(paths, ObjectStore(home / "store")), encoded(fitted(), rows))
    config = write_config(home / "pipeline-config.json", register_pipeline(home, containers(home)))
    with serving(home, config, workers=2) as running:
        runtime = boto3.client(
            "sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{running.port}", region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )  # fmt: skip
        response = runtime.invoke_endpoint(
            EndpointName="test-endpoint", Body="\n".join(rows), ContentType="text/csv", Accept="text/csv"
        )
        assert response["Body"].read() == reference[2]
        assert response["InvokedProductionVariant"] == "AllTraffic"


def test_a_shadow_inference_pipeline_gets_the_raw_request_through_its_own_containers(home: Path) -> None:
    """The shadow variant's copy of the request is the client's raw body, run through the shadow's own containers."""
    import json

    rows = raw_rows(4, seed=6)
    shifted = register(home, train_booster(offset=5.0), group="Shifted")
    shifted_url = Registry(home / "registry.sqlite").describe_model_package(ModelPackageName=shifted)
    paths = deploy(home, shifted)
    reference = invoke(EndpointApp.from_home(paths, ObjectStore(home / "store")), encoded(fitted(), rows))
    primary = register_pipeline(home, containers(home))
    shadow_containers = [containers(home)[0], shifted_url["InferenceSpecification"]["Containers"][0]]
    paths = deploy(
        home, primary, ShadowModelPackageName=register_pipeline(home, shadow_containers),
        EnableDataCapture="true", SamplingPercentage="100",
    )  # fmt: skip
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))
    answer = invoke(app, "\n".join(rows), content_type="text/csv", accept="text/csv")
    app.close()
    assert answer[0] == 200 and answer[2] != reference[2]
    root = home / "store" / "showcase-local" / "datacapture" / "test-endpoint" / "Shadow"
    (record,) = [json.loads(line) for f in root.rglob("*.jsonl") for line in f.read_text().splitlines()]
    assert record["captureData"]["endpointInput"]["data"] == "\n".join(rows)
    assert record["captureData"]["endpointOutput"]["data"] == reference[2].decode()
