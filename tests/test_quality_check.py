"""The QualityCheck executor (data quality): the local stand-in for Model Monitor's analyzer image, driven with
the step shape the SDK's QualityCheckStep writes (see test_definition), on the real Abalone train features."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from showcase import preprocess
from showcase.errors import DefinitionError, StepFailed
from showcase.local import definition as definitions
from showcase.local.jobs import JobContext
from showcase.local.steps import STEP_TYPES
from showcase.registry import Registry
from showcase.store import ObjectStore

ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
DATA = "s3://bucket/run/data/baseline"
GROUP = "Watched"


def check_step(**step_fields: Any) -> dict[str, Any]:
    """A QualityCheck step as the SDK's QualityCheckStep serialises it (resolved: no expressions left)."""
    return {
        "Name": "DataQualityBaseline",
        "Type": "QualityCheck",
        "Arguments": {
            "ProcessingInputs": [
                {
                    "InputName": "baseline_dataset_input",
                    "S3Input": {
                        "S3Uri": DATA,
                        "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "quality_check_output",
                        "S3Output": {
                            "S3Uri": "s3://bucket/run/baseline",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "AppSpecification": {"ImageUri": ANALYZER},
            "Environment": {
                "output_path": "/opt/ml/processing/output",
                "publish_cloudwatch_metrics": "Disabled",
                "dataset_format": '{"csv": {"header": false, "output_columns_position": "START"}}',
                "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
            },
        },
        "CheckType": "DATA_QUALITY",
        "ModelPackageGroupName": GROUP,
        "SkipCheck": True,
        "FailOnViolation": True,
        "RegisterNewBaseline": True,
        "SuppliedBaselineStatistics": None,
        "SuppliedBaselineConstraints": None,
        **step_fields,
    }


@pytest.fixture(scope="module")
def features(abalone_path: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("prepared")
    assert preprocess.main(["--input-data", str(abalone_path), "--output-dir", str(out)]) == 0
    return (out / "baseline" / "train_features.csv").read_text().splitlines()


def run_check(tmp_path: Path, rows: list[str], **step_fields: Any) -> tuple[dict[str, Any], str]:
    """Parse the step as the engine does (step-level fields merged into its arguments), then run it."""
    store, registry = ObjectStore(tmp_path / "store"), Registry(tmp_path / "registry.sqlite")
    store.put_bytes(f"{DATA}/train_features.csv", ("\n".join(rows) + "\n").encode())
    raw = {"Version": "2020-12-01", "Parameters": [], "Steps": [check_step(**step_fields)]}
    spec = definitions.parse(raw, STEP_TYPES).steps["DataQualityBaseline"]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    log = io.StringIO()
    context = JobContext("P", "exec1", spec.name, spec.type, spec.arguments, work, log, store, registry)
    try:
        return STEP_TYPES["QualityCheck"].executor.run(context), log.getvalue()
    except StepFailed as exc:
        raise StepFailed(f"{exc}\n{log.getvalue()}") from None


def register_with(tmp_path: Path, properties: dict[str, Any]) -> str:
    """An Approved package whose DriftCheckBaselines are a check step's baseline, as RegisterModel records it."""
    quality = {
        "Statistics": {"ContentType": "application/json", "S3Uri": properties["BaselineUsedForDriftCheckStatistics"]},
        "Constraints": {"ContentType": "application/json", "S3Uri": properties["BaselineUsedForDriftCheckConstraints"]},
    }
    return str(
        Registry(tmp_path / "registry.sqlite").create_model_package(
            ModelPackageGroupName=GROUP,
            InferenceSpecification={"Containers": [{"Image": "image", "ModelDataUrl": "s3://bucket/model.tar.gz"}]},
            ModelApprovalStatus="Approved",
            DriftCheckBaselines={"ModelDataQuality": quality},
        )["ModelPackageArn"]
    )


def test_a_new_baseline_is_model_monitors_statistics_and_constraints(tmp_path: Path, features: list[str]) -> None:
    properties, _ = run_check(tmp_path, features)
    store = ObjectStore(tmp_path / "store")
    assert properties["CalculatedBaselineStatistics"] == "s3://bucket/run/baseline/statistics.json"
    assert properties["CalculatedBaselineConstraints"] == "s3://bucket/run/baseline/constraints.json"
    assert properties["BaselineUsedForDriftCheckStatistics"] == properties["CalculatedBaselineStatistics"]
    assert properties["BaselineUsedForDriftCheckConstraints"] == properties["CalculatedBaselineConstraints"]
    stats = json.loads(store.get_bytes(properties["CalculatedBaselineStatistics"]))
    assert stats["dataset"] == {"item_count": 2924}
    length = stats["features"][0]
    assert (length["name"], length["inferred_type"]) == ("_c0", "Fractional")
    numbers = length["numerical_statistics"]
    assert numbers["common"] == {"num_present": 2924, "num_missing": 0}
    assert abs(numbers["mean"]) < 1e-6 and abs(numbers["std_dev"] - 1) < 1e-6  # the scaler's own train split
    assert sum(bucket["count"] for bucket in numbers["distribution"]["kll"]["buckets"]) == 2924
    assert numbers["distribution"]["kll"]["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    constraints = json.loads(store.get_bytes(properties["CalculatedBaselineConstraints"]))
    assert constraints["features"][9] == {
        "name": "_c9",
        "inferred_type": "Integral",
        "completeness": 1.0,
        "num_constraints": {"is_non_negative": True},
    }
    assert constraints["monitoring_config"]["distribution_constraints"] == {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    }
    assert not store.exists("s3://bucket/run/baseline/constraint_violations.json")  # SkipCheck: nothing checked


def test_a_check_against_the_approved_baseline_fails_on_drift(tmp_path: Path, features: list[str]) -> None:
    first, _ = run_check(tmp_path / "a", features)
    register_with(tmp_path / "a", first)
    shifted = [f"{float(row.split(',', 1)[0]) + 1.0},{row.split(',', 1)[1]}" for row in features]
    with pytest.raises(StepFailed, match=r"found 1 violation\(s\) .*: _c0 baseline_drift_check \(see s3://"):
        run_check(tmp_path / "a", shifted, SkipCheck=False, RegisterNewBaseline=False)
    violations = json.loads(
        ObjectStore(tmp_path / "a" / "store").get_bytes("s3://bucket/run/baseline/constraint_violations.json")
    )
    assert [v["constraint_check_type"] for v in violations["violations"]] == ["baseline_drift_check"]
    # FailOnViolation false: the violations are written, the step succeeds.
    run_check(tmp_path / "a", shifted, SkipCheck=False, FailOnViolation=False)


def test_a_clean_check_carries_the_approved_baseline_over(tmp_path: Path, features: list[str]) -> None:
    first, _ = run_check(tmp_path, features)
    register_with(tmp_path, first)
    properties, log = run_check(tmp_path, features[::-1], SkipCheck=False, RegisterNewBaseline=False)
    assert properties["BaselineUsedForDriftCheckConstraints"] == first["CalculatedBaselineConstraints"]
    assert "drift-check baseline of arn:aws:sagemaker:" in log
    # RegisterNewBaseline true: the newly calculated baseline is what the next package carries.
    again, _ = run_check(tmp_path, features, SkipCheck=False, RegisterNewBaseline=True)
    assert again["BaselineUsedForDriftCheckStatistics"] == again["CalculatedBaselineStatistics"]


def test_a_check_with_nothing_to_check_against_says_what_to_do(tmp_path: Path, features: list[str]) -> None:
    with pytest.raises(StepFailed, match=r"SkipCheck is false but there is no baseline to check against: give "):
        run_check(tmp_path, features, SkipCheck=False)


def test_supplied_baselines_win_over_the_registry(tmp_path: Path, features: list[str]) -> None:
    first, _ = run_check(tmp_path, features)
    supplied = {
        "SuppliedBaselineStatistics": first["CalculatedBaselineStatistics"],
        "SuppliedBaselineConstraints": first["CalculatedBaselineConstraints"],
    }
    properties, _ = run_check(tmp_path, features, SkipCheck=False, RegisterNewBaseline=False, **supplied)
    assert properties["BaselineUsedForDriftCheckStatistics"] == first["CalculatedBaselineStatistics"]


def test_a_feature_threshold_edited_into_the_supplied_constraints_is_the_one_checked(
    tmp_path: Path, features: list[str]
) -> None:
    """The suggested constraints.json, edited as Model Monitor's users edit it: _c0 gets its own
    monitoringConfigOverrides.comparison_threshold, which the analyzer's job reads from the supplied file. Both
    _c0 and _c1 move by one standard deviation; only _c1, held to the dataset's 0.1, drifts."""
    first, _ = run_check(tmp_path, features)
    store = ObjectStore(tmp_path / "store")
    constraints = json.loads(store.get_bytes(first["CalculatedBaselineConstraints"]))
    constraints["features"][0]["monitoringConfigOverrides"] = {"comparison_threshold": 0.9}
    edited = store.put_bytes("s3://bucket/edited/constraints.json", json.dumps(constraints).encode())
    shifted = []
    for row in features:
        length, diameter, rest = row.split(",", 2)
        shifted.append(f"{float(length) + 1.0},{float(diameter) + 1.0},{rest}")
    supplied = {
        "SuppliedBaselineStatistics": first["CalculatedBaselineStatistics"],
        "SuppliedBaselineConstraints": edited,
    }
    with pytest.raises(StepFailed, match=r"found 1 violation\(s\) .*: _c1 baseline_drift_check \(see s3://"):
        run_check(tmp_path, shifted, SkipCheck=False, RegisterNewBaseline=False, **supplied)


def test_what_cannot_run_locally_is_refused_before_running() -> None:
    step = check_step(CheckType="MODEL_BIAS")
    step["Arguments"]["AppSpecification"]["ImageUri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    step["Arguments"]["Environment"]["record_preprocessor_script"] = "/opt/ml/processing/code/pre.py"
    step["Arguments"]["Environment"]["dataset_format"] = '{"json": {"lines": true}}'
    with pytest.raises(DefinitionError) as refused:
        definitions.parse({"Version": "2020-12-01", "Parameters": [], "Steps": [step]}, STEP_TYPES)
    message = str(refused.value)
    assert "(4 problems)" in message
    assert "CheckType MODEL_BIAS is not one of DATA_QUALITY, MODEL_QUALITY" in message
    assert "is not Model Monitor's analyzer (sagemaker-model-monitor-analyzer)" in message
    assert "Environment.record_preprocessor_script is not supported locally" in message
    assert "only headerless csv datasets" in message


def test_step_level_fields_take_parameters(tmp_path: Path) -> None:
    step = check_step(SkipCheck={"Get": "Parameters.Skip"}, RegisterNewBaseline={"Get": "Parameters.Nope"})
    raw = {"Version": "2020-12-01", "Parameters": [{"Name": "Skip", "Type": "Boolean"}], "Steps": [step]}
    with pytest.raises(DefinitionError, match=r"Parameters\.Nope is not declared"):
        definitions.parse(raw, STEP_TYPES)
    step["RegisterNewBaseline"] = True
    spec = definitions.parse(raw, STEP_TYPES).steps["DataQualityBaseline"]
    assert spec.arguments["SkipCheck"] == {"Get": "Parameters.Skip"}


def test_the_cache_key_leaves_the_output_out_and_keeps_the_check_fields(tmp_path: Path) -> None:
    from showcase.local.cache import cache_key

    store = ObjectStore(tmp_path / "store")
    store.put_bytes(f"{DATA}/train_features.csv", b"1,2\n")
    spec = definitions.parse({"Version": "2020-12-01", "Parameters": [], "Steps": [check_step()]}, STEP_TYPES)
    arguments = spec.steps["DataQualityBaseline"].arguments
    elsewhere = json.loads(json.dumps(arguments))
    elsewhere["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = "s3://bucket/other-execution/baseline"
    assert cache_key(STEP_TYPES["QualityCheck"], arguments, store) == cache_key(
        STEP_TYPES["QualityCheck"], elsewhere, store
    )
    assert cache_key(STEP_TYPES["QualityCheck"], arguments, store) != cache_key(
        STEP_TYPES["QualityCheck"], {**arguments, "SkipCheck": False}, store
    )
    store.put_bytes(f"{DATA}/train_features.csv", b"1,3\n")  # new data at the same URI: not a stale hit
    assert cache_key(STEP_TYPES["QualityCheck"], arguments, store) != cache_key(
        STEP_TYPES["QualityCheck"], elsewhere, ObjectStore(tmp_path / "x")
    )
