"""AWS's canonical tuned shape, built with the SDK and run locally through the real CLI on the real data:

prepare -> tune -> evaluate the best model -> create a model -> batch transform the test split -> review -> register.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from showcase.settings import load
from showcase.store import ObjectStore
from tests.test_local_e2e import REPO, packages, run_local

pytestmark = pytest.mark.e2e
TUNED = json.dumps({"tune": True, "tuning_max_jobs": 3, "tuning_max_parallel_jobs": 2})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("tuned")
    result = run_local(home, "-n", "showcase.pipeline", "-k", TUNED, "-p", "NumRound=20")
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def execution(home: Path, index: int = 0) -> dict[str, Any]:
    directories = sorted(load(home).executions_root.iterdir(), key=lambda p: p.stat().st_mtime)
    return dict(json.loads((directories[index] / "execution.json").read_text()))


def steps(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in record["steps"]}


def test_the_canonical_tuned_pipeline_succeeds_and_registers_the_best_trial(home: Path) -> None:
    record = execution(home)
    ran = steps(record)
    assert record["status"] == "Succeeded"
    assert {name: s["status"] for name, s in ran.items()} == {
        "PrepareData": "Succeeded", "DataQualityBaseline": "Succeeded", "TuneModel": "Succeeded",
        "EvaluateModel": "Succeeded",
        "CreateModel": "Succeeded", "TransformTest": "Succeeded", "ReviewMse": "Succeeded",
        "RegisterModel": "Succeeded", "FailOnMse": "Skipped",
    }  # fmt: skip
    tuning = ran["TuneModel"]["properties"]
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    assert len(tuning["TrainingJobSummaries"]) == 3
    best = tuning["BestTrainingJob"]["TrainingJobName"]
    assert best == tuning["TrainingJobSummaries"][0]["TrainingJobName"]
    # get_top_model_s3_uri(top_k=0) resolved to the best trial's model, for the model record and the package.
    model_url = ran["CreateModel"]["properties"]["PrimaryContainer"]["ModelDataUrl"]
    assert model_url.endswith(f"/tuning/{best}/output/model.tar.gz")
    (package,) = packages(home)
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == model_url
    assert ran["TransformTest"]["properties"]["ModelName"] == ran["CreateModel"]["properties"]["ModelName"]


def test_the_batch_predictions_are_the_evaluated_models_predictions(home: Path) -> None:
    """The transform's label,prediction lines give the same test MSE as the evaluation step computed."""
    ran = steps(execution(home))
    output = ran["TransformTest"]["properties"]["TransformOutput"]["S3OutputPath"]
    store = ObjectStore(load(home).store_root)
    test_uri = ran["PrepareData"]["properties"]["ProcessingOutputConfig"]["Outputs"]
    test_prefix = next(o["S3Output"]["S3Uri"] for o in test_uri if o["OutputName"] == "test")
    (test_object,) = store.list(test_prefix + "/")
    lines = store.get_bytes(f"{output}/{test_object.rpartition('/')[2]}.out").decode().splitlines()
    rows = list(csv.reader(store.get_bytes(test_object).decode().splitlines()))
    assert [line.split(",")[0] for line in lines] == [row[0] for row in rows]
    mse = sum((float(label) - float(prediction)) ** 2 for label, prediction in (line.split(",") for line in lines))
    (package,) = packages(home)
    assert mse / len(lines) == pytest.approx(package["Metrics"]["regression_metrics"]["mse"]["value"], rel=1e-5)


def test_the_trials_show_in_describe_and_each_has_its_log(home: Path) -> None:
    record = execution(home)
    env_home = {"SHOWCASE_HOME": str(home), "COLUMNS": "250", "PATH": ""}
    command = [sys.executable, "-m", "showcase"]
    described = subprocess.run([*command, "describe", record["execution_id"]], capture_output=True, text=True,
                               env={**env_home, "PYTHONPATH": str(REPO / "src")}, check=True, timeout=60)  # fmt: skip
    summaries = steps(record)["TuneModel"]["properties"]["TrainingJobSummaries"]
    assert "TuneModel trials, best first" in described.stdout
    for summary in summaries:
        assert summary["TrainingJobName"] in described.stdout
    for summary in summaries[:1]:
        log = subprocess.run([*command, "logs", record["execution_id"], summary["TrainingJobName"]],
                             capture_output=True, text=True, env={**env_home, "PYTHONPATH": str(REPO / "src")},
                             check=True, timeout=60)  # fmt: skip
        assert f"TrainingJob {summary['TrainingJobName']}: hyperparameters" in log.stdout
        assert "#011validation-rmse:" in log.stdout


def test_a_tuning_step_whose_every_trial_fails_fails_the_execution_with_their_reasons(home: Path) -> None:
    """The same definition again (in process: the engine, not the CLI), with a num_round the algorithm refuses."""
    from showcase import local

    first = execution(home)
    directory = load(home).executions_root / first["execution_id"]
    definition = json.loads((directory / "definition.json").read_text())
    parameters = {**first["parameters"], "NumRound": 0}
    record = local.run_definition(
        definition, pipeline_name=first["pipeline_name"], parameters=parameters, settings=load(home)
    )
    ran = {step.name: step for step in record.steps}
    assert record.status == "Failed"
    reason = ran["TuneModel"].failure_reason or ""
    assert "no training job completed (3 of 3 failed)" in reason
    assert reason.count("ClientError: Hyperparameter num_round") == 3
    assert ran["PrepareData"].status == "Cached" and ran["CreateModel"].status == "NotStarted"
    assert len(packages(home)) == 1


def test_the_dashboard_draws_the_trials_and_shows_their_logs(home: Path) -> None:
    from starlette.testclient import TestClient

    from showcase.dashboard import create_app
    from showcase.dashboard.local_source import LocalSource

    record = execution(home)
    summaries = steps(record)["TuneModel"]["properties"]["TrainingJobSummaries"]
    client = TestClient(create_app(LocalSource(load(home))), base_url="http://127.0.0.1:8765")  # a name it answers to
    page = client.get(f"/executions/{record['execution_id']}").text
    for summary in summaries:
        assert f'data-job="{summary["TrainingJobName"]}"' in page
    tune_page = client.get(f"/executions/{record['execution_id']}/steps/TuneModel").text
    assert "Training jobs, best first" in tune_page and summaries[0]["TrainingJobName"] in tune_page
    trial = client.get(f"/executions/{record['execution_id']}/steps/{summaries[0]['TrainingJobName']}")
    assert trial.status_code == 200 and "#011validation-rmse:" in trial.text
