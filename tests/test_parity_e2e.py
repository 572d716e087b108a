"""Pipelines written the way SageMaker users write them, run unchanged with `run_pipeline.py --local`.

- an AWS-template-style Abalone pipeline: its own sessions, data uploaded with the SDK while building,
  scripts hard-coding /opt/ml/processing/..., the built-in XGBoost at image 1.0-1 and an evaluate script
  that unpickles the model, as that image's users do;
- two SDK v3 ModelTrainer(source_code=...) jobs side by side, run by SageMaker's own sm_train.sh driver.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from showcase.cli.aliases import local as local_cli
from showcase.local import describe_execution
from showcase.settings import load
from showcase.store import ObjectStore

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "pipelines" / "run_pipeline.py"

pytestmark = pytest.mark.e2e


def run_local(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """No AWS settings at all in the environment: no region, no credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOWCASE_"))}
    env.update(SHOWCASE_HOME=str(home), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--local", "--quiet-definition", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def member(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


def test_an_aws_template_style_pipeline_runs_unchanged(tmp_path: Path, abalone_path: Path) -> None:
    result = run_local(
        tmp_path, "-n", "tests.parity.abalone_template.pipeline", "-k", json.dumps({"local_data": str(abalone_path)})
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    store = ObjectStore(load(tmp_path).store_root)
    report = json.loads(store.get_bytes("s3://showcase-local/Abalone/evaluation/evaluation.json"))
    assert 0 < report["regression_metrics"]["mse"]["value"] < 6.0
    (model_uri,) = [uri for uri in store.list("s3://showcase-local/") if uri.endswith("/output/model.tar.gz")]
    assert member(store.get_bytes(model_uri), "xgboost-model")[:1] == b"\x80"  # pickled, as image 1.0-1 does
    # The model this home trained is created and batch transforms the test split in its own job process.
    (transformed,) = store.list("s3://showcase-local/Abalone/transform/")
    test_rows = store.get_bytes(transformed.replace("/transform/", "/test/").removesuffix(".out")).splitlines()
    predictions = [float(line) for line in store.get_bytes(transformed).splitlines()]
    assert len(predictions) == len(test_rows) and all(0 < value < 30 for value in predictions)


def test_two_model_trainer_jobs_in_parallel_and_a_failure_file(tmp_path: Path) -> None:
    result = run_local(tmp_path, "-n", "tests.parity.trainer.pipeline")
    assert result.returncode == 0, result.stderr[-3000:]
    settings = load(tmp_path)
    store = ObjectStore(settings.store_root)
    (execution,) = os.listdir(settings.executions_root)
    record = describe_execution(execution, settings)
    first, second = record.step("First"), record.step("Second")
    assert first.start and second.start and first.end and second.end
    assert first.start < second.end and second.start < first.end  # they overlapped
    for step in (first, second):
        uri = step.properties["ModelArtifacts"]["S3ModelArtifacts"]
        model = json.loads(member(store.get_bytes(uri), "model.json"))
        assert model["name"] == step.name and model["channels"] == ["code", "sm_drivers", "train"]
        assert [round(c) for c in model["coef"]] == [3, -2]

    # The driver's pip install of requirements.txt checked the file against this environment and installed nothing.
    log = Path(first.log_path or "").read_text()
    assert "/opt/ml/input/data/code/requirements.txt: every requirement is met by this environment" in log
    assert "every requirement of requirements.txt is met by this environment; nothing installed" in log

    # The same definition again (showcase-local start: no rebuild), the second job told to fail after training.
    definition = settings.executions_root / execution / "definition.json"
    assert local_cli(["--home", str(tmp_path), "start", "--definition", str(definition), "-p", "FailSecond=yes"]) == 1
    (failed,) = set(os.listdir(settings.executions_root)) - {execution}
    second = describe_execution(failed, settings).step("Second")
    # What SageMaker's driver writes to /opt/ml/output/failure, and so the FailureReason on SageMaker too:
    # the traceback of its call to the script (the script's own error is in the log).
    reason = second.failure_reason or ""
    assert reason.startswith("Traceback") and len(reason) <= 1024
    assert "'train.py', '--name', 'Second', '--fail', 'yes']' returned non-zero exit status 1" in reason
    assert "RuntimeError: job Second: refusing to train, as asked" in Path(second.log_path or "").read_text()

    # Once more, the first job's requirements.txt replaced by one this environment cannot meet: refused before it runs.
    (requirements,) = [uri for uri in store.list("s3://showcase-local/") if uri.endswith("/input/code/requirements.txt")
                       and "trainer-first" in uri]  # fmt: skip
    unmet = tmp_path / "requirements.txt"
    unmet.write_text("scikit-learn<0.1\n")
    upload = f"{unmet}={requirements}"
    assert local_cli(["--home", str(tmp_path), "start", "--definition", str(definition), "--upload", upload]) == 1
    (refused,) = set(os.listdir(settings.executions_root)) - {execution, failed}
    first = describe_execution(refused, settings).step("First")
    assert (first.failure_reason or "").startswith(
        "ClientError: step First: /opt/ml/input/data/code/requirements.txt asks for 1 requirement(s) this "
        "environment does not meet: scikit-learn<0.1 (installed: "
    )
    assert "Executing command" not in Path(first.log_path or "").read_text()  # the driver never ran
