"""Lineage: what the engine hands a registration about its execution, and what the real pipeline records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from showcase.local.jobs import JobContext
from showcase.store import ObjectStore
from tests.local_fakes import Harness, definition, get, parameter, processing, training
from tests.test_local_e2e import REPO, packages, run_local

TRAIN_URI = "ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"


def chain_with_a_side_step() -> dict[str, Any]:
    """Prep -> Train -> Register, and Side, which nothing the registration uses depends on."""
    register = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {"ModelDataUrl": get("Steps.Train.ModelArtifacts.S3ModelArtifacts")},
    }
    steps = [processing("Prep"), processing("Side"), training("Train", get(f"Steps.Prep.{TRAIN_URI}")), register]
    return definition(steps, [parameter("Seed", "Integer", 42), parameter("Mode", "String", "fast")])


def test_a_registration_sees_the_parameters_and_its_upstream_steps_resolved(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    seen: list[JobContext] = []
    harness.executors["RegisterModel"].behaviours["Register"] = lambda c: seen.append(c) or {"ModelPackageArn": "a"}

    record = harness.engine.start(chain_with_a_side_step(), pipeline_name="P", parameters={"Mode": "slow"})

    assert record.status == "Succeeded"
    (context,) = seen
    assert context.parameters == {"Seed": 42, "Mode": "slow"}
    assert [(step.name, step.type, step.status) for step in context.upstream] == [
        ("Prep", "Processing", "Succeeded"),
        ("Train", "Training", "Succeeded"),
    ]
    train = context.upstream[1]
    channel = train.arguments["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel == f"s3://bucket/{record.execution_id}/Prep/out", "arguments arrive resolved"
    assert train.properties["ModelArtifacts"]["S3ModelArtifacts"].endswith("/Train/output/model.tar.gz")


def test_resolved_arguments_are_kept_in_the_record_and_survive_a_retry(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    register = harness.executors["RegisterModel"]
    attempts: list[JobContext] = []

    def fails_once(context: JobContext) -> dict[str, Any]:
        attempts.append(context)
        if len(attempts) == 1:
            raise RuntimeError("registry down")
        return {"ModelPackageArn": "a"}

    register.behaviours["Register"] = fails_once
    first = harness.engine.start(chain_with_a_side_step(), pipeline_name="P", parameters={})
    assert first.status == "Failed"
    saved = json.loads((harness.settings.executions_root / first.execution_id / "execution.json").read_text())
    prep = next(step for step in saved["steps"] if step["name"] == "Prep")
    assert prep["arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].startswith("s3://bucket/")

    retried = harness.engine.retry(first.execution_id)

    assert retried.status == "Succeeded"
    assert harness.executors["Processing"].called("Prep") == 1, "Prep was not run again"
    assert [step.name for step in attempts[1].upstream] == ["Prep", "Train"]
    assert attempts[1].upstream[0].arguments == attempts[0].upstream[0].arguments


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.e2e
def test_the_real_pipeline_records_input_data_and_code_hashes(tmp_path: Path, abalone_path: Path) -> None:
    result = run_local(tmp_path, "-n", "showcase.pipeline", data=abalone_path)
    assert result.returncode == 0, result.stderr + result.stdout
    (package,) = packages(tmp_path)
    lineage = package["Lineage"]

    assert lineage["PipelineName"] == "crayonShowcasePipeline"
    assert lineage["Parameters"]["InputData"] == str(abalone_path.resolve())
    inputs = [item for step in lineage["Steps"] for item in step["Inputs"]]
    (data,) = [item for item in inputs if item["Uri"] == str(abalone_path.resolve())]
    assert data["Sha256"] == sha256_file(abalone_path)
    # The prepare script's own record of what it read agrees with the lineage.
    store = ObjectStore(tmp_path / "store")
    (metadata,) = [uri for uri in store.list("s3://showcase-local/") if uri.endswith("/metadata/preprocessing.json")]
    assert json.loads(store.get_bytes(metadata))["input_sha256"] == data["Sha256"]

    code = {Path(item["Uri"]).name: item["Sha256"] for step in lineage["Steps"] for item in step["Code"]}
    assert code == {
        "preprocess.py": sha256_file(REPO / "src" / "showcase" / "preprocess.py"),
        "evaluate.py": sha256_file(REPO / "src" / "showcase" / "evaluate.py"),
    }
    artifacts = {item["Field"]: item for item in lineage["Artifacts"]}
    model = artifacts["InferenceSpecification.Containers[0].ModelDataUrl"]
    assert model["Sha256"] == sha256_file(store.path_of(model["Uri"]))
