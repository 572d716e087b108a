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
