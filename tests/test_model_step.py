"""The Model step (CreateModel): a model record in the registry, with DescribeModel's shape as properties."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import RegistryError, StepFailed
from showcase.local.jobs import JobContext
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODEL_DATA = "s3://bucket/out/job/output/model.tar.gz"
ROLE = "arn:aws:iam::000000000000:role/r"


def context(tmp_path: Path, arguments: dict[str, Any], execution_id: str = "exec00000001") -> JobContext:
    store = ObjectStore(tmp_path / "store")
    registry = Registry(tmp_path / "registry.sqlite")
    return JobContext(
        "P", execution_id, "CreateModel", "Model", arguments, tmp_path / "work", io.StringIO(), store, registry
    )


def arguments(**container: Any) -> dict[str, Any]:
    primary = {"Image": IMAGE, "Environment": {"A": "1"}, "ModelDataUrl": MODEL_DATA, **container}
    return {"ExecutionRoleArn": ROLE, "PrimaryContainer": primary}


def test_a_model_step_creates_a_model_record_described_as_sagemaker_does(tmp_path: Path) -> None:
    ctx = context(tmp_path, arguments())
    ctx.store.put_bytes(MODEL_DATA, b"archive")
    properties = STEP_TYPES["Model"].executor.run(ctx)
    assert properties["ModelName"] == "pipelines-exec00000001-CreateModel"
    assert properties["ModelArn"] == "arn:aws:sagemaker:us-east-1:000000000000:model/pipelines-exec00000001-createmodel"
    assert properties["PrimaryContainer"] == {"Image": IMAGE, "Environment": {"A": "1"}, "ModelDataUrl": MODEL_DATA}
    assert properties["ExecutionRoleArn"] == ROLE
    assert properties["EnableNetworkIsolation"] is False
    assert "CreationTime" in properties
    described = ctx.registry.describe_model(ModelName="pipelines-exec00000001-CreateModel")
    assert described["PrimaryContainer"]["ModelDataUrl"] == MODEL_DATA


def test_missing_model_data_fails_the_step_and_writes_no_record(tmp_path: Path) -> None:
    ctx = context(tmp_path, arguments())
    with pytest.raises(StepFailed, match=f"Could not find model data at {MODEL_DATA}"):
        STEP_TYPES["Model"].executor.run(ctx)
    with pytest.raises(RegistryError, match="Could not find model"):
        ctx.registry.describe_model(ModelName="pipelines-exec00000001-CreateModel")


def test_a_model_name_is_unique(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "r.sqlite")
    registry.create_model(ModelName="m", PrimaryContainer={"Image": IMAGE})
    with pytest.raises(RegistryError, match="Cannot create already existing model"):
        registry.create_model(ModelName="M", PrimaryContainer={"Image": IMAGE})
    with pytest.raises(RegistryError, match="exactly one of PrimaryContainer and Containers"):
        registry.create_model(ModelName="n")
    with pytest.raises(RegistryError, match="unknown parameter"):
        registry.create_model(ModelName="n", PrimaryContainer={"Image": IMAGE}, Nope=1)


def test_what_cannot_run_locally_is_refused_before_running() -> None:
    problems = STEP_TYPES["Model"].executor.problems
    assert problems({"PrimaryContainer": {"Image": IMAGE}, "VpcConfig": {}}) == [
        "VpcConfig is not supported locally: there is no VPC locally"
    ]
    assert problems({}) == ["a Model step needs exactly one of PrimaryContainer and Containers"]
    assert problems({"Containers": [{"ModelPackageName": "arn"}]}) == [
        "Containers[0] needs an Image (ModelPackageName containers are not supported locally)"
    ]
    assert problems({"PrimaryContainer": {"Image": IMAGE, "Mode": "MultiModel"}}) == [
        "PrimaryContainer.Mode MultiModel is not supported locally; use SingleModel"
    ]


def test_a_registry_from_before_models_gains_the_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    Registry(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE models")
    Registry(path).create_model(ModelName="m", PrimaryContainer={"Image": IMAGE})
    assert Registry(path).describe_model(ModelName="m")["ModelName"] == "m"
