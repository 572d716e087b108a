"""A model from an image that pickles (before 1.3-1) is loaded where SageMaker loads it: in the Transform job's own
process, and only when this home's training job wrote its archive (its sha256) or the user allows pickled models.

The runner (this test's process) never unpickles: ``pickle.load``/``loads`` raise here while the steps run.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost

from showcase.errors import StepFailed
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore
from tests.test_executors import BUCKET, _rows, make_context, training_arguments

IMAGE_1_0_1 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"
INPUT = f"{BUCKET}/batch/input"


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "store")
    for name, seed in (("train", 1), ("validation", 2)):
        features, label = _rows(seed, 200)
        lines = [",".join(f"{v:.6f}" for v in [y, *x]) for x, y in zip(features, label, strict=True)]
        store.put_bytes(f"{BUCKET}/exec/data/{name}/{name}.csv", "\n".join(lines).encode())
    features, _ = _rows(3, 20)
    store.put_bytes(f"{INPUT}/rows.csv", "\n".join(",".join(f"{v:.6f}" for v in row) for row in features).encode())
    return store


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite")


@pytest.fixture()
def no_unpickling_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the runner unpickled a model")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.delenv("SHOWCASE_ALLOW_PICKLED_MODELS", raising=False)


def train_1_0_1(tmp_path: Path, store: ObjectStore, registry: Registry) -> str:
    arguments = training_arguments({"num_round": "5", "silent": "0", "objective": "reg:linear"})
    arguments["AlgorithmSpecification"]["TrainingImage"] = IMAGE_1_0_1
    properties = STEP_TYPES["Training"].executor.run(make_context(tmp_path, store, registry, "Training", arguments))
    return str(properties["ModelArtifacts"]["S3ModelArtifacts"])


def transform(tmp_path: Path, store: ObjectStore, registry: Registry, model_data: str) -> tuple[str, str]:
    """CreateModel (the Model step's registry record) and a Transform of the 20 rows; (output, step log)."""
    registry.create_model(ModelName="abalone", PrimaryContainer={"Image": IMAGE_1_0_1, "ModelDataUrl": model_data})
    arguments = {
        "ModelName": "abalone",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": INPUT}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"{BUCKET}/batch/output", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    context = make_context(tmp_path, store, registry, "Transform", arguments)
    try:
        STEP_TYPES["Transform"].executor.run(context)
    finally:
        log = context.log.getvalue()  # type: ignore[attr-defined]
    return store.get_bytes(f"{BUCKET}/batch/output/rows.csv.out").decode(), log


def pickled_archive(store: ObjectStore, uri: str, booster: xgboost.Booster) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = pickle.dumps(booster)
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return store.put_bytes(uri, buffer.getvalue())


@pytest.mark.usefixtures("no_unpickling_here")
def test_a_1_0_1_model_this_home_trained_goes_through_create_model_and_transform(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    model_data = train_1_0_1(tmp_path, store, registry)
    output, log = transform(tmp_path, store, registry, model_data)
    assert "is the one this home's training job pipelines-abc123def456-MyTraining wrote" in log
    predictions = [float(line) for line in output.splitlines()]
    assert len(predictions) == 20 and np.isfinite(predictions).all()
    assert len(set(predictions)) > 1


def foreign_booster() -> xgboost.Booster:
    features, label = _rows(1, 50)
    return xgboost.train({"objective": "reg:squarederror"}, xgboost.DMatrix(features, label=label), 2)


@pytest.mark.usefixtures("no_unpickling_here")
def test_a_pickled_archive_this_home_did_not_write_is_refused(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    model_data = pickled_archive(store, f"{BUCKET}/elsewhere/model.tar.gz", foreign_booster())
    with pytest.raises(StepFailed) as failed:
        transform(tmp_path, store, registry, model_data)
    message = str(failed.value)
    assert "xgboost-model is a Python pickle, as the built-in XGBoost image 1.0-1 writes it" in message
    assert "SHOWCASE_ALLOW_PICKLED_MODELS=true" in message and "\n" not in message


@pytest.mark.usefixtures("no_unpickling_here")
def test_an_archive_changed_after_training_is_no_longer_this_homes(
    tmp_path: Path, store: ObjectStore, registry: Registry
) -> None:
    """The permission is for the bytes the training job wrote: the same URI rewritten with another pickle is not."""
    model_data = train_1_0_1(tmp_path, store, registry)
    pickled_archive(store, model_data, foreign_booster())
    with pytest.raises(StepFailed, match="xgboost-model is a Python pickle"):
        transform(tmp_path, store, registry, model_data)


@pytest.mark.usefixtures("no_unpickling_here")
def test_the_user_may_allow_pickled_models(
    tmp_path: Path, store: ObjectStore, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_data = pickled_archive(store, f"{BUCKET}/elsewhere/model.tar.gz", foreign_booster())
    monkeypatch.setenv("SHOWCASE_ALLOW_PICKLED_MODELS", "true")
    output, log = transform(tmp_path, store, registry, model_data)
    assert "pickled models are allowed (SHOWCASE_ALLOW_PICKLED_MODELS)" in log
    assert len(output.splitlines()) == 20


# -- the endpoint -------------------------------------------------------------------------------------------


def pickled_package(home: Path, booster: xgboost.Booster, *, trained_here: bool) -> str:
    from showcase.registry.provenance import TrainedArchives
    from tests.serving_support import register

    arn = register(home, pickle.dumps(booster))
    registry = Registry(home / "registry.sqlite")
    uri = registry.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0]
    if trained_here:  # as the Training executor notes the model.tar.gz it uploads
        archive = ObjectStore(home / "store").path_of(uri["ModelDataUrl"])
        TrainedArchives(home / "registry.sqlite").record(archive, uri=uri["ModelDataUrl"], job_name="pipelines-x-Train")
    return arn


def test_the_endpoint_serves_a_pickled_model_this_home_trained_loading_it_in_its_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from showcase.serving.app import EndpointApp
    from tests.serving_support import NUM_FEATURES, train_booster
    from tests.test_serving_app import deploy, invoke

    home = tmp_path / "home"
    booster = train_booster()
    arn = pickled_package(home, booster, trained_here=True)
    with monkeypatch.context() as inside_the_deploying_process:
        inside_the_deploying_process.setattr(pickle, "loads", lambda *a, **k: pytest.fail("deploy unpickled"))
        inside_the_deploying_process.setattr(pickle, "load", lambda *a, **k: pytest.fail("deploy unpickled"))
        paths = deploy(home, arn)
    app = EndpointApp.from_home(paths, ObjectStore(home / "store"))  # a worker: it may unpickle
    row = ",".join(["0.5"] * NUM_FEATURES)
    status, _, body = invoke(app, row, content_type="text/csv", accept="text/csv")
    expected = booster.inplace_predict(np.full((1, NUM_FEATURES), 0.5))[0]
    assert status == 200 and float(body) == pytest.approx(float(expected), rel=1e-6)


def test_the_endpoint_refuses_a_pickled_model_this_home_did_not_train(tmp_path: Path) -> None:
    from showcase.serving.errors import ModelLoadError
    from tests.serving_support import train_booster
    from tests.test_serving_app import deploy

    home = tmp_path / "home"
    arn = pickled_package(home, train_booster(), trained_here=False)
    with pytest.raises(ModelLoadError, match="xgboost-model is a Python pickle") as refused:
        deploy(home, arn)
    assert "\n" not in str(refused.value)
    assert not list((home / "endpoints").glob("*/deployment.json"))


# -- the allowance: a setting and a flag ----------------------------------------------------------------------


def test_the_allowance_is_a_setting_that_fails_loudly_on_a_bad_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from showcase import settings
    from showcase.errors import UsageError

    monkeypatch.delenv("SHOWCASE_ALLOW_PICKLED_MODELS", raising=False)
    assert settings.load(tmp_path).allow_pickled_models is False
    monkeypatch.setenv("SHOWCASE_ALLOW_PICKLED_MODELS", "yes")
    with pytest.raises(UsageError, match="SHOWCASE_ALLOW_PICKLED_MODELS must be true or false, got 'yes'"):
        settings.load(tmp_path)
    monkeypatch.setenv("SHOWCASE_ALLOW_PICKLED_MODELS", "TRUE")
    assert settings.load(tmp_path).allow_pickled_models is True


@pytest.mark.parametrize(
    "words",
    [["run", "--allow-pickled-models"], ["endpoint", "serve", "--config", "c.json", "--allow-pickled-models"]],
)
def test_the_flag_is_the_setting_for_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, words: list[str]
) -> None:
    from showcase import settings
    from showcase.cli.common import apply_pickles_flag
    from showcase.cli.main import build_parser

    monkeypatch.delenv("SHOWCASE_ALLOW_PICKLED_MODELS", raising=False)
    apply_pickles_flag(build_parser().parse_args(words[:-1]))
    assert settings.load(tmp_path).allow_pickled_models is False
    apply_pickles_flag(build_parser().parse_args(words))
    assert settings.load(tmp_path).allow_pickled_models is True
