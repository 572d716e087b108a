"""A QualityCheck of MODEL_QUALITY (the SDK's ModelQualityCheckConfig, problem type Regression): Model Monitor's
analyzer measures a transform's output, label and prediction columns, as regression_metrics; its suggested
regression_constraints; a supplied baseline that new predictions break fails the step with
constraint_violations.json written."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from showcase.errors import DefinitionError, StepFailed
from showcase.local import definition as definitions
from showcase.local.jobs import JobContext
from showcase.local.steps import STEP_TYPES
from showcase.monitoring import model_quality
from showcase.registry import Registry
from showcase.store import ObjectStore
from tests.test_quality_check import DATA, GROUP, check_step

OUTPUT = "s3://bucket/run/baseline"


def model_quality_step(**step_fields: Any) -> dict[str, Any]:
    """The step as the SDK writes a ModelQualityCheckConfig's: analysis_type, problem_type and both columns in its
    Environment (a transform's ``label,prediction`` lines: the labels in _c0, the predictions in _c1)."""
    step = check_step(CheckType="MODEL_QUALITY", **step_fields)
    step["Arguments"]["Environment"] |= {
        "analysis_type": "MODEL_QUALITY",
        "problem_type": "Regression",
        "inference_attribute": "_c1",
        "ground_truth_attribute": "_c0",
    }
    return step


def pairs(count: int, noise: float, seed: int = 7) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``label,prediction`` lines: labels around 10, predictions off by normal noise of ``noise``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(3, 20, size=count).astype(np.float64)
    predictions = labels + rng.normal(0.0, noise, size=count)
    return (
        [f"{label:g},{prediction:.6f}" for label, prediction in zip(labels, predictions, strict=True)],
        labels,
        predictions,
    )


def run_model_check(
    tmp_path: Path, rows: list[str], environment: dict[str, str] | None = None, **step_fields: Any
) -> tuple[dict[str, Any], str]:
    """Parse the step as the engine does, then run it on ``rows``."""
    store, registry = ObjectStore(tmp_path / "store"), Registry(tmp_path / "registry.sqlite")
    store.put_bytes(f"{DATA}/transform.csv.out", ("\n".join(rows) + "\n").encode())
    step = model_quality_step(**step_fields)
    step["Arguments"]["Environment"] |= environment or {}
    raw = {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}
    spec = definitions.parse(raw, STEP_TYPES).steps[step["Name"]]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    log = io.StringIO()
    context = JobContext("P", "exec1", spec.name, spec.type, spec.arguments, work, log, store, registry)
    try:
        return STEP_TYPES["QualityCheck"].executor.run(context), log.getvalue()
    except StepFailed as exc:
        raise StepFailed(f"{exc}\n{log.getvalue()}") from None


def test_a_baseline_is_the_regression_metrics_of_the_labels_and_predictions(tmp_path: Path) -> None:
    rows, labels, predictions = pairs(300, 1.0)
    properties, log = run_model_check(tmp_path, rows)
    store = ObjectStore(tmp_path / "store")
    assert properties["CalculatedBaselineStatistics"] == f"{OUTPUT}/statistics.json"
    assert properties["BaselineUsedForDriftCheckConstraints"] == f"{OUTPUT}/constraints.json"
    stats = json.loads(store.get_bytes(properties["CalculatedBaselineStatistics"]))
    assert stats["dataset"]["item_count"] == 300
    metrics = stats["regression_metrics"]
    errors = labels - np.round(predictions, 6)
    assert metrics["mse"]["value"] == pytest.approx(float(np.mean(errors**2)))
    assert metrics["mae"]["value"] == pytest.approx(float(np.mean(np.abs(errors))))
    assert metrics["rmse"]["value"] == pytest.approx(metrics["mse"]["value"] ** 0.5)
    assert 0.9 < metrics["r2"]["value"] < 1.0
    assert all(metrics[name]["standard_deviation"] > 0 for name in ("mae", "mse", "rmse", "r2"))  # 300 >= 200 pairs
    constraints = json.loads(store.get_bytes(properties["CalculatedBaselineConstraints"]))
    assert constraints["version"] == 0.0
    assert {name: c["comparison_operator"] for name, c in constraints["regression_constraints"].items()} == {
        "mae": "GreaterThanThreshold",
        "mse": "GreaterThanThreshold",
        "rmse": "GreaterThanThreshold",
        "r2": "LessThanThreshold",
    }
    assert constraints["regression_constraints"]["mse"]["threshold"] == metrics["mse"]["value"]
    assert not store.exists(f"{OUTPUT}/constraint_violations.json")
    assert "baseline of 300 rows, predictions and labels" in log


def test_fewer_than_200_pairs_carry_no_standard_deviation(tmp_path: Path) -> None:
    properties, _ = run_model_check(tmp_path, pairs(199, 1.0)[0])
    stats = json.loads(ObjectStore(tmp_path / "store").get_bytes(properties["CalculatedBaselineStatistics"]))
    assert "standard_deviation" not in stats["regression_metrics"]["mse"]


def test_worse_predictions_than_the_supplied_baseline_fail_with_the_violations_written(tmp_path: Path) -> None:
    first, _ = run_model_check(tmp_path, pairs(300, 1.0)[0])
    supplied = {
        "SuppliedBaselineStatistics": first["CalculatedBaselineStatistics"],
        "SuppliedBaselineConstraints": first["CalculatedBaselineConstraints"],
    }
    worse = pairs(300, 3.0, seed=8)[0]
    with pytest.raises(
        StepFailed,
        match=r"the model-quality check found 4 violation\(s\) against the baseline s3://bucket/run/baseline/"
        r"constraints.json: mae GreaterThanThreshold; mse GreaterThanThreshold; rmse GreaterThanThreshold; "
        r"r2 LessThanThreshold \(see s3://bucket/run/baseline/constraint_violations.json\)",
    ):
        run_model_check(tmp_path, worse, SkipCheck=False, RegisterNewBaseline=False, **supplied)
    written = json.loads(ObjectStore(tmp_path / "store").get_bytes(f"{OUTPUT}/constraint_violations.json"))
    mse = next(v for v in written["violations"] if v["metric_name"] == "mse")
    assert mse["constraint_check_type"] == "GreaterThanThreshold"
    assert mse["description"].startswith("Metric mse with ")
    # Predictions as good as the baseline's own pass, and the supplied baseline is carried over.
    again, _ = run_model_check(tmp_path, pairs(300, 1.0)[0], SkipCheck=False, RegisterNewBaseline=False, **supplied)
    assert again["BaselineUsedForDriftCheckConstraints"] == first["CalculatedBaselineConstraints"]
    # FailOnViolation false: written, and the step succeeds.
    run_model_check(tmp_path, worse, SkipCheck=False, FailOnViolation=False, **supplied)


def test_the_approved_packages_model_quality_baseline_is_checked_against(tmp_path: Path) -> None:
    first, _ = run_model_check(tmp_path, pairs(250, 0.5)[0])
    quality = {
        "Statistics": {"ContentType": "application/json", "S3Uri": first["BaselineUsedForDriftCheckStatistics"]},
        "Constraints": {"ContentType": "application/json", "S3Uri": first["BaselineUsedForDriftCheckConstraints"]},
    }
    Registry(tmp_path / "registry.sqlite").create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={"Containers": [{"Image": "image", "ModelDataUrl": "s3://bucket/model.tar.gz"}]},
        ModelApprovalStatus="Approved",
        DriftCheckBaselines={"ModelQuality": quality},
    )
    with pytest.raises(StepFailed, match=r"model-quality check found 4 violation"):
        run_model_check(tmp_path, pairs(250, 2.0, seed=9)[0], SkipCheck=False)


def test_a_data_quality_baseline_is_not_a_model_quality_one(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "store")
    store.put_bytes("s3://bucket/dq/statistics.json", b'{"version": 0.0, "features": []}')
    store.put_bytes("s3://bucket/dq/constraints.json", b'{"version": 0.0, "features": []}')
    supplied = {
        "SuppliedBaselineStatistics": "s3://bucket/dq/statistics.json",
        "SuppliedBaselineConstraints": "s3://bucket/dq/constraints.json",
    }
    with pytest.raises(StepFailed, match=r"s3://bucket/dq/statistics.json is not in Model Monitor's format \(no "
                       r"regression_metrics\)"):  # fmt: skip
        run_model_check(tmp_path, pairs(10, 1.0)[0], SkipCheck=False, **supplied)


def test_a_column_that_holds_no_number_fails_the_job_naming_it(tmp_path: Path) -> None:
    rows = pairs(10, 1.0)[0]
    rows[3] = "7,oops"
    with pytest.raises(StepFailed, match=r"inference_attribute '_c1': row 4 holds no number"):
        run_model_check(tmp_path, rows)
    with pytest.raises(StepFailed, match=r"ground_truth_attribute '_c5' names no column of the dataset's 2"):
        run_model_check(tmp_path, pairs(10, 1.0)[0], environment={"ground_truth_attribute": "_c5"})


def test_what_the_analyzer_cannot_measure_here_is_refused_before_running() -> None:
    step = model_quality_step()
    step["Arguments"]["Environment"]["problem_type"] = "Ranking"
    del step["Arguments"]["Environment"]["inference_attribute"]
    with pytest.raises(DefinitionError) as refused:
        definitions.parse({"Version": "2020-12-01", "Parameters": [], "Steps": [step]}, STEP_TYPES)
    message = str(refused.value)
    assert (
        "Environment.problem_type Ranking is not one of Regression, BinaryClassification, MulticlassClassification"
    ) in message
    assert (
        "Environment.inference_attribute is missing (or, for BinaryClassification, probability_attribute): a "
        "model-quality check needs the column of the predictions"
    ) in message


def test_the_suggested_constraints_hold_for_the_baselines_own_metrics() -> None:
    _, labels, predictions = pairs(50, 1.0)
    stats = model_quality.statistics(labels, predictions)
    assert model_quality.violations(stats, model_quality.suggest_constraints(stats)) == []


# Eight rows: TP 2 (rows 1, 2), FN 1 (row 3), FP 1 (row 4), TN 4.
BINARY_LABELS = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
BINARY_PREDICTIONS = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
PROBABILITIES = np.array([0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1, 0.05])


def test_binary_classification_metrics_of_a_worked_case() -> None:
    metrics = model_quality.classification_metrics(
        "BinaryClassification", BINARY_LABELS, BINARY_PREDICTIONS, PROBABILITIES
    )
    values = {
        name: metric["value"] for name, metric in metrics.items() if isinstance(metric, dict) and "value" in metric
    }
    assert values == pytest.approx(
        {
            "recall": 2 / 3,
            "precision": 2 / 3,
            "accuracy": 6 / 8,
            "true_positive_rate": 2 / 3,
            "true_negative_rate": 4 / 5,
            "false_positive_rate": 1 / 5,
            "false_negative_rate": 1 / 3,
            "f0_5": 2 / 3,
            "f1": 2 / 3,
            "f2": 2 / 3,
            "auc": 14 / 15,  # of the 15 (positive, negative) pairs, all but (0.4, 0.7) rank the positive higher
            # the best constant classifier predicts 0, the most frequent label
            "recall_best_constant_classifier": 0.0,
            "precision_best_constant_classifier": 0.0,
            "accuracy_best_constant_classifier": 5 / 8,
            "true_positive_rate_best_constant_classifier": 0.0,
            "true_negative_rate_best_constant_classifier": 1.0,
            "false_positive_rate_best_constant_classifier": 0.0,
            "false_negative_rate_best_constant_classifier": 1.0,
            "f0_5_best_constant_classifier": 0.0,
            "f1_best_constant_classifier": 0.0,
            "f2_best_constant_classifier": 0.0,
        }
    )
    assert metrics["confusion_matrix"] == {"0": {"0": 4, "1": 1}, "1": {"0": 1, "1": 2}}
    curve = metrics["receiver_operating_characteristic_curve"]
    assert curve["false_positive_rates"][0] == 0.0 and curve["true_positive_rates"][-1] == 1.0


def test_multiclass_metrics_are_weighted_by_each_labels_share() -> None:
    actual = np.array(["a", "a", "b", "b", "c", "c"])
    predicted = np.array(["a", "b", "b", "b", "c", "a"])
    metrics = model_quality.classification_metrics("MulticlassClassification", actual, predicted)
    assert metrics["accuracy"]["value"] == pytest.approx(4 / 6)
    assert metrics["weighted_recall"]["value"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert metrics["weighted_precision"]["value"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert metrics["confusion_matrix"]["c"] == {"a": 1, "b": 0, "c": 1}


def binary_rows(count: int, flip: float, seed: int) -> list[str]:
    """``label,predicted label,probability``: the probability near the label, ``flip`` of them on the wrong side."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=count)
    probability = np.clip(np.where(labels == 1, 0.8, 0.2) + rng.normal(0, 0.1, size=count), 0, 1)
    wrong = rng.random(count) < flip
    probability[wrong] = 1 - probability[wrong]
    return [f"{label},{int(p >= 0.5)},{p:.4f}" for label, p in zip(labels, probability, strict=True)]


def test_a_binary_classification_check_from_probabilities_fails_when_it_gets_worse(tmp_path: Path) -> None:
    environment = {"problem_type": "BinaryClassification", "inference_attribute": "", "probability_attribute": "_c2",
                   "probability_threshold_attribute": "0.5", "ground_truth_attribute": "_c0"}  # fmt: skip
    first, _ = run_model_check(tmp_path, binary_rows(400, 0.05, seed=1), environment)
    store = ObjectStore(tmp_path / "store")
    stats = json.loads(store.get_bytes(first["CalculatedBaselineStatistics"]))["binary_classification_metrics"]
    assert 0.9 < stats["accuracy"]["value"] < 1.0 and "standard_deviation" in stats["accuracy"]
    constraints = json.loads(store.get_bytes(first["CalculatedBaselineConstraints"]))
    assert constraints["binary_classification_constraints"]["false_positive_rate"]["comparison_operator"] == (
        "GreaterThanThreshold"
    )
    supplied = {
        "SuppliedBaselineStatistics": first["CalculatedBaselineStatistics"],
        "SuppliedBaselineConstraints": first["CalculatedBaselineConstraints"],
    }
    with pytest.raises(StepFailed, match=r"model-quality check found \d+ violation\(s\) .*accuracy LessThanThreshold"):
        run_model_check(
            tmp_path, binary_rows(400, 0.3, seed=2), environment, SkipCheck=False, RegisterNewBaseline=False, **supplied
        )
