"""Hyperparameter tuning: trials are Training jobs; strategies, ranges, objectives and failures as SageMaker's."""

from __future__ import annotations

import io
import itertools
import math
import os
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from showcase.errors import JobStopped, StepFailed
from showcase.local.jobs import JobContext, JobStop
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore
from tests.test_executors import _load_model
from tests.test_training_script_mode import SKLEARN_IMAGE, SOURCE_TAR, tar_gz

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "s3://showcase-local"
SCRIPT = """\
import argparse, os, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
args = parser.parse_args()
if args.lr == 0.5:
    raise SystemExit("diverged at lr 0.5")
for epoch in range(3):
    print(f"epoch {epoch} loss={abs(args.lr - 0.2) + 1.0 / (epoch + 1):.4f}")
pathlib.Path(os.environ["SM_MODEL_DIR"], "weights.txt").write_text(str(args.lr))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ObjectStore:
    store = ObjectStore(tmp_path_factory.mktemp("tuning") / "store")
    rng = np.random.default_rng(1)
    for split, rows in (("train", 300), ("validation", 100)):
        features = rng.normal(size=(rows, 4))
        label = 3 * features[:, 0] - features[:, 1] ** 2 + rng.normal(scale=0.3, size=rows)
        lines = [",".join(f"{v:.5f}" for v in (y, *x)) for y, x in zip(label, features, strict=True)]
        store.put_bytes(f"{BUCKET}/data/{split}/{split}.csv", ("\n".join(lines) + "\n").encode())
    store.put_bytes(SOURCE_TAR, tar_gz({"train.py": SCRIPT}))
    return store


def channel(name: str) -> dict[str, Any]:
    source = {"S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/data/{name}", "S3DataDistributionType": "FullyReplicated"}
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}, "ContentType": "text/csv"}


def tuning(
    strategy: str, ranges: dict[str, Any], *, jobs: int | None = 4, parallel: int = 2, **config: Any
) -> dict[str, Any]:
    """A TuningStep's arguments as the SDK writes them for a built-in XGBoost ModelTrainer."""
    limits = {"MaxParallelTrainingJobs": parallel, **({"MaxNumberOfTrainingJobs": jobs} if jobs else {})}
    return {
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "ResourceLimits": limits,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ParameterRanges": ranges,
            **config,
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": XGBOOST_IMAGE},
            "RoleArn": "arn:aws:iam::000000000000:role/r",
            "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/tuning", "CompressionType": "GZIP"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "StaticHyperParameters": {"objective": "reg:squarederror", "num_round": "12"},
            "InputDataConfig": [channel("train"), channel("validation")],
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        },
    }


def run(
    store: ObjectStore, tmp_path: Path, arguments: dict[str, Any], execution: str = "exec00000001"
) -> dict[str, Any]:
    work = tmp_path / execution / "attempt-1"
    work.mkdir(parents=True)
    context = JobContext(
        "P", execution, "Tune", "Tuning", arguments, work, io.StringIO(), store, Registry(tmp_path / "r.sqlite")
    )
    return STEP_TYPES["Tuning"].executor.run(context)


def categorical(**values: list[str]) -> dict[str, Any]:
    return {"CategoricalParameterRanges": [{"Name": name, "Values": v} for name, v in values.items()]}


def test_a_grid_search_visits_exactly_the_grid(store: ObjectStore, tmp_path: Path) -> None:
    grid = {"max_depth": ["2", "4"], "eta": ["0.1", "0.3", "0.6"]}
    properties = run(store, tmp_path, tuning("Grid", categorical(**grid), jobs=None, parallel=2))
    visited = [tuple(s["TunedHyperParameters"][k] for k in grid) for s in properties["TrainingJobSummaries"]]
    assert sorted(visited) == sorted(itertools.product(*grid.values()))
    assert properties["HyperParameterTuningJobStatus"] == "Completed"
    assert properties["TrainingJobStatusCounters"]["Completed"] == 6


def test_properties_rank_trials_and_point_at_the_best_model(store: ObjectStore, tmp_path: Path) -> None:
    properties = run(store, tmp_path, tuning("Random", categorical(max_depth=["1", "3", "5"]), jobs=3))
    summaries = properties["TrainingJobSummaries"]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert values == sorted(values) and len(summaries) == 3
    best = properties["BestTrainingJob"]
    assert best == summaries[0]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:rmse"
    name = best["TrainingJobName"]
    assert name.startswith(properties["HyperParameterTuningJobName"] + "-")
    assert len(properties["HyperParameterTuningJobName"]) <= 32
    # What TuningStep.get_top_model_s3_uri(top_k=0, s3_bucket, prefix) joins: the best trial's model.
    assert store.exists(f"{BUCKET}/tuning/{name}/output/model.tar.gz")
    log = (tmp_path / "exec00000001" / "trials" / f"{name}.log").read_text()
    assert "#011validation-rmse:" in log and "'max_depth': '" in log


def test_the_same_seed_gives_the_same_trials(store: ObjectStore, tmp_path: Path) -> None:
    ranges = {
        "IntegerParameterRanges": [
            {"Name": "max_depth", "MinValue": "1", "MaxValue": "8", "ScalingType": "Logarithmic"}
        ],
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
            {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.99", "ScalingType": "ReverseLogarithmic"},
        ],
        "CategoricalParameterRanges": [{"Name": "gamma", "Values": ["0", "1"]}],
    }
    arguments = tuning("Bayesian", ranges, jobs=4, parallel=2, RandomSeed=7)
    first, second = (run(store, tmp_path, arguments, execution) for execution in ("execaaaaaaaa", "execbbbbbbbb"))

    def trials(properties: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (s["TunedHyperParameters"], s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
            for s in properties["TrainingJobSummaries"]
        ]

    assert trials(first) == trials(second)
    for tuned, _ in trials(first):
        assert 1 <= int(tuned["max_depth"]) <= 8 and 0.01 <= float(tuned["eta"]) <= 0.5
        assert 0.5 <= float(tuned["subsample"]) <= 0.99 and tuned["gamma"] in ("0", "1")


def test_a_job_whose_every_trial_fails_fails_with_the_trials_reasons(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StepFailed) as caught:
        run(store, tmp_path, tuning("Random", categorical(eta=["2", "3"]), jobs=2))
    message = str(caught.value)
    assert "no training job completed (2 of 2 failed)" in message
    assert message.count("ClientError: Hyperparameter eta") == 2


def test_a_crashing_trial_does_not_stop_the_others_and_regexes_read_a_scripts_objective(
    store: ObjectStore, tmp_path: Path
) -> None:
    definition = {
        "AlgorithmSpecification": {
            "TrainingInputMode": "File",
            "TrainingImage": SKLEARN_IMAGE,
            "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}],
        },
        "RoleArn": "arn:aws:iam::000000000000:role/r",
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/scripts"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "StaticHyperParameters": {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"{SOURCE_TAR}"'},
        "InputDataConfig": [channel("train")],
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
    }
    arguments = {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Grid",
            "ResourceLimits": {"MaxParallelTrainingJobs": 3},
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ParameterRanges": categorical(lr=["0.1", "0.5", "0.3"]),
        },
        "TrainingJobDefinition": definition,
    }
    properties = run(store, tmp_path, arguments)
    by_lr = {s["TunedHyperParameters"]["lr"]: s for s in properties["TrainingJobSummaries"]}
    assert by_lr["0.5"]["TrainingJobStatus"] == "Failed"
    assert "diverged at lr 0.5" in by_lr["0.5"]["FailureReason"]
    assert by_lr["0.1"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(0.1 + 1 / 3, abs=1e-4)
    assert properties["BestTrainingJob"]["TunedHyperParameters"] == {"lr": "0.1"}
    assert properties["TrainingJobStatusCounters"] == {
        "Completed": 2, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 1, "Stopped": 0,
    }  # fmt: skip


def test_early_stopping_auto_stops_trials_worse_than_the_median(store: ObjectStore, tmp_path: Path) -> None:
    """Early on, shallow trees on this data are clearly worse than deep ones: some trials are stopped. The runner
    judges each round from the lines the trial's job process writes, and stops that process (SIGTERM) when the
    median rule says so; the same seed stops the same trials."""
    arguments = tuning(
        "Random", categorical(max_depth=["6", "6", "1"], eta=["0.3", "0.01"]), jobs=10, parallel=1,
        TrainingJobEarlyStoppingType="Auto",
    )  # fmt: skip
    properties, again = (run(store, tmp_path, arguments, execution) for execution in ("execaaaaaaaa", "execbbbbbbbb"))
    counters = properties["TrainingJobStatusCounters"]
    assert counters["Stopped"] >= 1 and counters["Completed"] >= 1
    assert all(
        s["TrainingJobStatus"] == "Completed" for s in properties["TrainingJobSummaries"][: counters["Completed"]]
    )
    assert not math.isnan(properties["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])

    def trials(run: dict[str, Any]) -> list[tuple[Any, ...]]:
        summaries = run["TrainingJobSummaries"]
        return sorted((s["TrainingJobName"].split("-")[-2], s["TunedHyperParameters"], s["TrainingJobStatus"])
                      for s in summaries)  # fmt: skip

    assert trials(properties) == trials(again)
    for summary in properties["TrainingJobSummaries"]:
        if summary["TrainingJobStatus"] == "Stopped":
            assert "FailureReason" not in summary and "FinalHyperParameterTuningJobObjectiveMetric" not in summary
            log = (tmp_path / "execaaaaaaaa" / "trials" / f"{summary['TrainingJobName']}.log").read_text()
            assert "was stopped (Stopped, as by StopTrainingJob)" in log
            # What the algorithm saved when it got SIGTERM is uploaded, as SageMaker uploads a stopped job's model.
            name = summary["TrainingJobName"]
            (tmp_path / name).mkdir()
            model = _load_model(store, f"{BUCKET}/tuning/{name}/output/model.tar.gz", tmp_path / name)
            assert 1 <= model.num_boosted_rounds() <= 12


def test_a_stopped_tuning_job_stops_its_running_trials_and_starts_no_more(store: ObjectStore, tmp_path: Path) -> None:
    """StopHyperParameterTuningJob (the execution is being stopped): each running trial gets SIGTERM and ends
    Stopped, saving what it trained (uploaded, as for any stopped training job), and no further trial starts."""
    arguments = tuning("Random", categorical(max_depth=["2", "3"]), jobs=6, parallel=2)
    arguments["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "20000"
    work = tmp_path / "exec00000001" / "attempt-1"
    work.mkdir(parents=True)
    stop = JobStop()
    context = JobContext("P", "exec00000001", "Tune", "Tuning", arguments, work, io.StringIO(), store,
                         Registry(tmp_path / "r.sqlite"), stop=stop)  # fmt: skip
    trials = tmp_path / "exec00000001" / "trials"

    def training(log: Path) -> bool:
        return "]#011train-rmse:" in log.read_text()

    def stop_once_both_train() -> None:
        for _ in range(1200):  # bounded: ~60 s
            if len([log for log in trials.glob("*.log") if training(log)]) == 2:
                stop.set()
                return
            time.sleep(0.05)

    threading.Thread(target=stop_once_both_train, daemon=True).start()
    with pytest.raises(JobStopped, match="was stopped after 2 training job"):
        STEP_TYPES["Tuning"].executor.run(context)
    logs = sorted(trials.glob("*.log"))
    assert len(logs) == 2  # the two running ones; none started after the stop
    for log in logs:
        text = log.read_text()
        assert "stopped with its tuning job" in text and "stopped (SIGTERM) after" in text
        (tmp_path / log.stem).mkdir()
        rounds = _load_model(store, f"{BUCKET}/tuning/{log.stem}/output/model.tar.gz", tmp_path / log.stem)
        assert 1 <= rounds.num_boosted_rounds() < 20000


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"Strategy": "Annealing"}, "Strategy Annealing is not one of Bayesian, Random, Grid, Hyperband"),
        ({"ParameterRanges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "0", "MaxValue": "4",
                                                          "ScalingType": "Logarithmic"}]}},
         "Logarithmic scaling needs MinValue > 0"),
        ({"ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "1.5",
                                                             "ScalingType": "ReverseLogarithmic"}]}},
         "ReverseLogarithmic needs 0 <= MinValue < MaxValue < 1"),
        ({"Strategy": "Grid", "ParameterRanges": {"IntegerParameterRanges": [
            {"Name": "max_depth", "MinValue": "1", "MaxValue": "4"}]}}, "Grid search tunes categorical ranges only"),
        ({"Strategy": "Grid", "ResourceLimits": {"MaxNumberOfTrainingJobs": 5}},
         r"Grid search runs every combination \(2\); MaxNumberOfTrainingJobs is 5"),
        ({"HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:rmse"}},
         "the objective test:rmse is not a metric the built-in algorithm emits"),
        ({"Strategy": "Hyperband", "TrainingJobEarlyStoppingType": "Auto"}, "Hyperband stops trials itself"),
        ({"TuningJobCompletionCriteria": {"ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}}},
         "supports only TargetObjectiveMetricValue"),
    ],
)  # fmt: skip
def test_what_cannot_run_locally_is_refused_before_running(change: dict[str, Any], problem: str) -> None:
    import re

    arguments = tuning("Random", categorical(max_depth=["2", "3"]))
    arguments["HyperParameterTuningJobConfig"].update(change)
    problems = STEP_TYPES["Tuning"].executor.problems(arguments)
    assert len(problems) == 1 and re.search(problem, problems[0]), problems


def test_a_trial_definition_the_training_executor_refuses_is_refused() -> None:
    arguments = tuning("Random", categorical(max_depth=["2"]))
    arguments["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = (
        "123.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    )
    problems = STEP_TYPES["Tuning"].executor.problems(arguments)
    assert any("TrainingJobDefinition: image 123.dkr.ecr" in p for p in problems), problems


HYPERBAND_RANGES = {
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "6", "ScalingType": "Linear"}],
    "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"}],
}  # fmt: skip


def hyperband(low: int, high: int, jobs: int) -> dict[str, Any]:
    strategy = {"HyperbandStrategyConfig": {"MinResource": low, "MaxResource": high}}
    return tuning("Hyperband", HYPERBAND_RANGES, jobs=jobs, parallel=1, StrategyConfig=strategy)


def stops(tmp_path: Path, execution: str, properties: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    """Each trial (by its number) -> its status and the epoch its log says it was stopped at."""
    found = {}
    for summary in properties["TrainingJobSummaries"]:
        name = summary["TrainingJobName"]
        log = (tmp_path / execution / "trials" / f"{name}.log").read_text()
        epochs = [int(epoch) for epoch in re.findall(r"^Hyperband stops this trial at epoch (\d+)$", log, re.M)]
        assert len(epochs) <= 1 and (summary["TrainingJobStatus"] == "Stopped") == bool(epochs), log
        found[name.split("-")[-2]] = (summary["TrainingJobStatus"], epochs[0] if epochs else None)
    return found


def test_hyperband_stops_trials_at_its_rungs_and_the_same_seed_stops_the_same_ones(
    store: ObjectStore, tmp_path: Path
) -> None:
    """With one trial at a time, Hyperband's brackets (a hash of the trial's number) repeat with the seed."""
    first, again = (run(store, tmp_path, hyperband(1, 12, jobs=9), name) for name in ("execaaaaaaaa", "execbbbbbbbb"))
    counters = first["TrainingJobStatusCounters"]
    assert counters["Stopped"] >= 1 and counters["Completed"] >= 1
    assert counters["Stopped"] + counters["Completed"] == 9
    assert first["BestTrainingJob"]["TrainingJobStatus"] == "Completed"
    assert stops(tmp_path, "execaaaaaaaa", first) == stops(tmp_path, "execbbbbbbbb", again)


@pytest.mark.parametrize(("low", "high"), [(3, 12), (1, 2)])
def test_hyperband_stops_trials_only_from_min_resource_up_to_max_resource(
    store: ObjectStore, tmp_path: Path, low: int, high: int
) -> None:
    """HyperbandStrategyConfig: a trial is not stopped before MinResource epochs (boosting rounds here), and
    MaxResource is the last epoch it is judged at (SageMaker ends it there; here it trains its 12 rounds).
    Hyperband's rungs are at MinResource times powers of 3: (1, 2) has rungs at 3 and 9 past MaxResource."""
    properties = run(store, tmp_path, hyperband(low, high, jobs=12))
    found = stops(tmp_path, "exec00000001", properties)
    stopped_at = [epoch for status, epoch in found.values() if status == "Stopped"]
    assert stopped_at and all(low <= epoch <= high for epoch in stopped_at), found
    assert properties["TrainingJobStatusCounters"]["Completed"] == 12 - len(stopped_at) >= 1


def test_several_training_job_definitions_each_with_their_own_static_hyperparameters(
    store: ObjectStore, tmp_path: Path
) -> None:
    base = tuning("Random", categorical(eta=["0.1", "0.3"]), jobs=6, parallel=2)
    config, definition = base["HyperParameterTuningJobConfig"], base["TrainingJobDefinition"]
    objective, ranges = config.pop("HyperParameterTuningJobObjective"), config.pop("ParameterRanges")
    definitions = []
    for name, depth in (("shallow", "1"), ("deep", "6")):
        statics = {**definition["StaticHyperParameters"], "max_depth": depth}
        definitions.append({**definition, "DefinitionName": name, "TuningObjective": objective,
                            "HyperParameterRanges": ranges, "StaticHyperParameters": statics})  # fmt: skip
    properties = run(store, tmp_path, {"HyperParameterTuningJobConfig": config, "TrainingJobDefinitions": definitions})
    summaries = properties["TrainingJobSummaries"]
    assert {s["TrainingJobDefinitionName"] for s in summaries} == {"shallow", "deep"}
    for summary in summaries:
        log = (tmp_path / "exec00000001" / "trials" / f"{summary['TrainingJobName']}.log").read_text()
        depth = "1" if summary["TrainingJobDefinitionName"] == "shallow" else "6"
        assert f"'max_depth': '{depth}'" in log
    # On this data deep trees fit far better: the best trial is one of the deep definition's.
    assert properties["BestTrainingJob"]["TrainingJobDefinitionName"] == "deep"


EPOCHS = """\
import argparse, os, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
args = parser.parse_args()
for epoch in range(5):
    print(f"epoch {epoch} loss={abs(args.lr - 0.2) + 1.0 / (epoch + 1):.4f}", flush=True)
    time.sleep(0.08)
pathlib.Path(os.environ["SM_MODEL_DIR"], "weights.txt").write_text(str(args.lr))
"""


def test_a_scripts_trials_are_stopped_early_from_the_objective_it_prints_each_epoch(
    store: ObjectStore, tmp_path: Path
) -> None:
    """SageMaker's median rule for any algorithm that emits its objective each epoch: here each match of the
    MetricDefinitions regex in the script's output, read from its process as it prints them."""
    store.put_bytes(f"{BUCKET}/code/epochs.tar.gz", tar_gz({"train.py": EPOCHS}))
    definition = {
        "AlgorithmSpecification": {
            "TrainingInputMode": "File", "TrainingImage": SKLEARN_IMAGE,
            "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}],
        },
        "RoleArn": "arn:aws:iam::000000000000:role/r",
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/epochs"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "StaticHyperParameters": {"sagemaker_program": '"train.py"',
                                  "sagemaker_submit_directory": f'"{BUCKET}/code/epochs.tar.gz"'},
        "InputDataConfig": [channel("train")],
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
    }  # fmt: skip
    arguments = {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random", "RandomSeed": 1, "TrainingJobEarlyStoppingType": "Auto",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 1},
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ParameterRanges": categorical(lr=["0.2", "0.21", "0.9"]),
        },
        "TrainingJobDefinition": definition,
    }  # fmt: skip
    properties = run(store, tmp_path, arguments)
    stopped = [s for s in properties["TrainingJobSummaries"] if s["TrainingJobStatus"] == "Stopped"]
    assert stopped and all(s["TunedHyperParameters"] == {"lr": "0.9"} for s in stopped)
    for summary in stopped:
        log = (tmp_path / "exec00000001" / "trials" / f"{summary['TrainingJobName']}.log").read_text()
        assert log.count("loss=") < 5  # its process was stopped before its last epoch
    assert properties["BestTrainingJob"]["TunedHyperParameters"] == {"lr": "0.2"}


def test_a_metric_regex_that_is_not_one_is_refused_before_running() -> None:
    arguments = tuning("Random", categorical(max_depth=["2"]))
    arguments["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "validation:rmse", "Regex": "rmse=([0-9."}
    ]
    problems = STEP_TYPES["Tuning"].executor.problems(arguments)
    assert any("MetricDefinitions validation:rmse: Regex 'rmse=([0-9.' is not a regex" in p for p in problems), problems


SCORE = """\
import argparse, os, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
args = parser.parse_args()
print(f"score={1 - abs(args.lr - 0.3):.4f}")
pathlib.Path(os.environ["SM_MODEL_DIR"], "weights.txt").write_text(str(args.lr))
"""


def scored(store: ObjectStore, kind: str, rates: list[str], **config: Any) -> dict[str, Any]:
    """A grid over a script's learning rate, one trial at a time; it prints score = 1 - |lr - 0.3|."""
    store.put_bytes(f"{BUCKET}/code/score.tar.gz", tar_gz({"train.py": SCORE}))
    definition = {
        "AlgorithmSpecification": {
            "TrainingInputMode": "File", "TrainingImage": SKLEARN_IMAGE,
            "MetricDefinitions": [{"Name": "score", "Regex": r"score=([0-9.]+)"}],
        },
        "RoleArn": "arn:aws:iam::000000000000:role/r",
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/scored"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "StaticHyperParameters": {"sagemaker_program": '"train.py"',
                                  "sagemaker_submit_directory": f'"{BUCKET}/code/score.tar.gz"'},
        "InputDataConfig": [channel("train")],
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
    }  # fmt: skip
    return {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Grid",
            "ResourceLimits": {"MaxParallelTrainingJobs": 1},
            "HyperParameterTuningJobObjective": {"Type": kind, "MetricName": "score"},
            "ParameterRanges": categorical(lr=rates),
            **config,
        },
        "TrainingJobDefinition": definition,
    }


@pytest.mark.parametrize(
    ("kind", "target", "launched", "best"),
    [
        # Scores in grid order: 0.8, 1.0, 0.4, 0.9. To maximize, the second trial reaches 1.0.
        ("Maximize", 1.0, ["0.1", "0.3"], "0.3"),
        # To minimize, the third reaches 0.4 (0.8 and 1.0 are above it).
        ("Minimize", 0.4, ["0.1", "0.3", "0.9"], "0.9"),
    ],
)
def test_the_objective_type_and_target_value_decide_the_best_trial_and_when_to_stop(
    store: ObjectStore, tmp_path: Path, kind: str, target: float, launched: list[str], best: str
) -> None:
    """TuningJobCompletionCriteria.TargetObjectiveMetricValue: once a trial's objective reaches it (at or above it
    to maximize, at or below to minimize) no further trial is launched, and the tuning job is Completed (the
    API has no completion reason for it: FailureReason is a failed job's; TuningJobCompletionDetails is for the
    two other criteria). The best trial is the highest score to maximize, the lowest to minimize."""
    arguments = scored(store, kind, ["0.1", "0.3", "0.9", "0.2"], TuningJobCompletionCriteria={
        "TargetObjectiveMetricValue": target})  # fmt: skip
    work = tmp_path / "exec00000001" / "attempt-1"
    work.mkdir(parents=True)
    log = io.StringIO()
    context = JobContext("P", "exec00000001", "Tune", "Tuning", arguments, work, log, store,
                         Registry(tmp_path / "r.sqlite"))  # fmt: skip
    properties = STEP_TYPES["Tuning"].executor.run(context)
    summaries = properties["TrainingJobSummaries"]
    assert sorted(s["TunedHyperParameters"]["lr"] for s in summaries) == sorted(launched)
    assert properties["HyperParameterTuningJobStatus"] == "Completed"
    assert properties["TrainingJobStatusCounters"]["Completed"] == len(launched)
    assert f"TargetObjectiveMetricValue {target} reached; no further trials" in log.getvalue()
    assert properties["BestTrainingJob"]["TunedHyperParameters"] == {"lr": best}
    objective = properties["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
    assert objective == {"Type": kind, "MetricName": "score", "Value": pytest.approx(1 - abs(float(best) - 0.3))}
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert values == sorted(values, reverse=kind == "Maximize")


def test_the_tuning_jobs_own_max_runtime_ends_it_once_passed(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ResourceLimits.MaxRuntimeInSeconds (at least 120 on SageMaker) bounds the tuning job, not each trial: once
    it has passed, no further trial is launched and the job completes with the trials it ran. The tuning job's
    clock is made to run a minute a reading, so that the test need not wait two minutes."""
    from showcase.local.steps import tuning_job as tuning_module

    start, readings = datetime.now(timezone.utc), itertools.count()
    monkeypatch.setattr(
        tuning_module,
        "timestamp",
        lambda: (start + timedelta(minutes=next(readings))).isoformat(timespec="microseconds"),
    )
    arguments = tuning("Random", categorical(max_depth=["1", "3", "5"]), jobs=6, parallel=1)
    arguments["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 120
    work = tmp_path / "exec00000001" / "attempt-1"
    work.mkdir(parents=True)
    log = io.StringIO()
    context = JobContext("P", "exec00000001", "Tune", "Tuning", arguments, work, log, store,
                         Registry(tmp_path / "r.sqlite"))  # fmt: skip
    properties = STEP_TYPES["Tuning"].executor.run(context)
    assert properties["HyperParameterTuningJobStatus"] == "Completed"
    assert 1 <= properties["TrainingJobStatusCounters"]["Completed"] < 6
    assert len(properties["TrainingJobSummaries"]) == properties["TrainingJobStatusCounters"]["Completed"]
    assert "ResourceLimits.MaxRuntimeInSeconds 120 reached" in log.getvalue()


def test_trials_run_at_most_as_many_at_a_time_as_the_host_has_cores(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MaxParallelTrainingJobs 6 on a host with 2 cores: no more than 2 trials' TrainingStartTime-TrainingEndTime
    spans overlap at any instant."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    properties = run(store, tmp_path, tuning("Random", categorical(max_depth=["1", "3", "5"]), jobs=6, parallel=6))
    summaries = properties["TrainingJobSummaries"]
    assert len(summaries) == 6
    # Sweep the spans' ends (-1) and starts (+1) in time order, an end before a start at the same instant.
    edges = sorted(
        [(datetime.fromisoformat(s["TrainingStartTime"]), 1) for s in summaries]
        + [(datetime.fromisoformat(s["TrainingEndTime"]), -1) for s in summaries]
    )
    running = list(itertools.accumulate(change for _, change in edges))
    assert max(running) <= 2, edges


def test_a_1_0_1_tuning_job_with_silent_and_reg_linear_runs_every_trial(store: ObjectStore, tmp_path: Path) -> None:
    """The Projects template's tuning shape: image 1.0-1, whose container accepts ``silent`` (0-1) and ``reg:linear``;
    every trial trains (on 1.7-1 each would fail: Extraneous hyperparameter found: silent)."""
    arguments = tuning("Random", {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]})
    definition = arguments["TrainingJobDefinition"]
    definition["AlgorithmSpecification"]["TrainingImage"] = XGBOOST_IMAGE.replace(":1.7-1", ":1.0-1-cpu-py3")
    definition["StaticHyperParameters"] = {"objective": "reg:linear", "num_round": "5", "silent": "0"}
    properties = run(store, tmp_path, arguments)
    counters = properties["TrainingJobStatusCounters"]
    assert counters["Completed"] == 4 and counters["NonRetryableError"] == 0
    assert properties["BestTrainingJob"]["TunedHyperParameters"]["eta"]
