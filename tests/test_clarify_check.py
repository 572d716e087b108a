"""The ClarifyCheck step type's refusals before a run, and Clarify's formats (showcase.monitoring.clarify):
what a label's values or threshold select, the drift checks of bias metrics and of SHAP rankings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from showcase.errors import DefinitionError, MonitoringError
from showcase.local import definition as definitions
from showcase.local.steps import STEP_TYPES
from showcase.monitoring import clarify

CLARIFY = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"


def clarify_step(**step_fields: Any) -> dict[str, Any]:
    """A ClarifyCheck step as the SDK's ClarifyCheckStep serialises a data-bias check."""

    def source(name: str, uri: str, path: str) -> dict[str, Any]:
        return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": path, "S3DataType": "S3Prefix",
                                               "S3InputMode": "File"}}  # fmt: skip

    return {
        "Name": "DataBias",
        "Type": "ClarifyCheck",
        "Arguments": {
            "ProcessingInputs": [
                source("analysis_config", "s3://b/bias/analysis_config.json", "/opt/ml/processing/input/config"),
                source("dataset", "s3://b/train", "/opt/ml/processing/input/data"),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "analysis_result",
                        "S3Output": {
                            "S3Uri": "s3://b/bias",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "AppSpecification": {"ImageUri": CLARIFY},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}
            },
            "RoleArn": "arn:aws:iam::000000000000:role/r",
        },
        "CheckType": "DATA_BIAS",
        "ModelPackageGroupName": "g",
        "SkipCheck": False,
        "FailOnViolation": True,
        "RegisterNewBaseline": False,
        "SuppliedBaselineConstraints": None,
        **step_fields,
    }


def refusals(step: dict[str, Any]) -> str:
    with pytest.raises(DefinitionError) as refused:
        definitions.parse({"Version": "2020-12-01", "Parameters": [], "Steps": [step]}, STEP_TYPES)
    return str(refused.value)


def test_a_data_bias_step_as_the_sdk_writes_it_parses() -> None:
    spec = definitions.parse({"Version": "2020-12-01", "Parameters": [], "Steps": [clarify_step()]}, STEP_TYPES)
    assert spec.steps["DataBias"].arguments["CheckType"] == "DATA_BIAS"


def test_what_clarify_would_not_run_is_refused_before_running() -> None:
    step = clarify_step(CheckType="MODEL_BIAS")
    step["Arguments"]["AppSpecification"]["ImageUri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    step["Arguments"]["ProcessingInputs"][1]["S3Input"]["LocalPath"] = "/opt/ml/processing/elsewhere"
    message = refusals(step)
    assert "a MODEL_BIAS check needs ModelName (the model whose predictions it analyzes)" in message
    assert "is not SageMaker Clarify's (sagemaker-clarify-processing)" in message
    assert "ProcessingInputs dataset.S3Input.LocalPath must be /opt/ml/processing/input/data" in message
    assert "CheckType DATA_DRIFT is not one of DATA_BIAS, MODEL_BIAS, MODEL_EXPLAINABILITY" in refusals(
        clarify_step(CheckType="DATA_DRIFT")
    )


def test_a_continuous_label_takes_a_threshold_and_a_categorical_one_values() -> None:
    continuous = pd.Series(np.linspace(0, 1, 100), name="score")
    assert clarify.selected(continuous, [0.5], "label").sum() == 50  # the exclusive lower bound
    with pytest.raises(MonitoringError, match="of the continuous column score must be one threshold"):
        clarify.selected(continuous, [0.2, 0.5], "label")
    categorical = pd.Series([1, 2, 3, 1, 2, 3] * 20, name="grade")
    assert list(clarify.selected(categorical, [2, 3], "label")[:3]) == [False, True, True]
    assert clarify.selected(pd.Series(["yes", "no", "yes"]), ["yes"], "label").tolist() == [True, False, True]


def test_a_facet_without_a_value_gets_one_entry_per_value() -> None:
    frame = pd.DataFrame({"y": [1, 0, 1, 0, 1, 1], "colour": ["red", "blue", "red", "green", "blue", "red"]})
    config = {"label": "y", "label_values_or_threshold": [1], "facet": [{"name_or_index": "colour"}],
              "methods": {"pre_training_bias": {"methods": ["CI"]}}}  # fmt: skip
    found = clarify.bias_metrics(frame, config, "pre_training_bias")
    assert [group["value_or_threshold"] for group in found["facets"]["colour"]] == ["blue", "green", "red"]
    assert found["facets"]["colour"][2]["metrics"] == [
        {"name": "CI", "description": "Class Imbalance (CI)", "value": (3 - 3) / 6}
    ]


def section(**values: float | None) -> dict[str, Any]:
    metrics = [{"name": name, "description": name, "value": value} for name, value in values.items()]
    return {"pre_training_bias_metrics": {"facets": {"f": [{"value_or_threshold": "1", "metrics": metrics}]}}}


def test_a_bias_metric_violates_its_baseline_when_farther_from_fair() -> None:
    baseline = section(CI=0.3, DPL=-0.2, DI=0.8)
    assert clarify.bias_violations(section(CI=-0.3, DPL=0.1, DI=1.2), baseline) == []
    found = clarify.bias_violations(section(CI=0.31, DPL=-0.25, DI=0.7, KL=None), baseline)
    assert [(v["metric_name"], v["constraint_check_type"]) for v in found] == [
        ("CI", "bias_drift_check"),
        ("DPL", "bias_drift_check"),
        ("DI", "bias_drift_check"),
    ]
    assert found[2]["description"].startswith("Value 0.7 does not meet the constraint requirement")


def test_a_shap_ranking_drifts_when_its_ndcg_falls_below_the_threshold() -> None:
    baseline = {"a": 0.6, "b": 0.3, "c": 0.1}
    assert clarify.ndcg({"a": 5.0, "b": 2.0, "c": 1.0}, baseline) == pytest.approx(1.0)
    assert clarify.ndcg({"a": 1.0, "b": 2.0, "c": 5.0}, baseline) < clarify.NDCG_THRESHOLD

    def explained(values: dict[str, float]) -> dict[str, Any]:
        return {"explanations": {"kernel_shap": {"label0": {"global_shap_values": values}}}}

    (violation,) = clarify.attribution_violations(explained({"a": 1.0, "b": 2.0, "c": 5.0}), explained(baseline))
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert clarify.attribution_violations(explained({"a": 0.5, "b": 0.4, "c": 0.0}), explained(baseline)) == []
