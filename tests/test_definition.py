"""The pipeline definition: built offline, and wired the way SageMaker needs it."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from showcase.errors import UsageError

SRC = Path(__file__).resolve().parents[1] / "src" / "showcase"
ROLE = "arn:aws:iam::123456789012:role/showcase"


ATTEMPTS: list[str] = []


def _no_network(*args: Any, **kwargs: Any) -> None:
    """Record and refuse; recorded because a library may swallow the error and go on."""
    ATTEMPTS.append(repr(args))
    raise OSError(f"the definition build used the network: {args}")


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, Any], dict[str, bytes]]:
    """Build once with every socket connection forbidden and no AWS credentials in the environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
        ):
            patch.delenv(name, raising=False)
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket.socket, "connect_ex", _no_network)
        patch.setattr(socket, "create_connection", _no_network)
        patch.setattr(socket, "getaddrinfo", _no_network)
        from showcase.pipeline import get_pipeline

        pipeline = get_pipeline(region="eu-west-1", role=ROLE, default_bucket="showcase-bucket")
        definition = json.loads(pipeline.definition())
        uploads = dict(pipeline.sagemaker_session.pending_uploads)
    assert ATTEMPTS == []
    return definition, uploads


def all_steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    pending = list(definition["Steps"])
    while pending:
        step = pending.pop()
        steps[step["Name"]] = step
        pending.extend(step.get("Arguments", {}).get("IfSteps", []))
        pending.extend(step.get("Arguments", {}).get("ElseSteps", []))
    return steps


def references(value: Any) -> set[str]:
    """Every step a value refers to through Get or a property file."""
    found: set[str] = set()
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            found.add(get.split(".")[1])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def test_top_level_shape(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    definition, _ = built
    assert definition["Version"] == "2020-12-01"
    assert [step["Name"] for step in definition["Steps"]] == [
        "PrepareData",
        "DataQualityBaseline",
        "TrainModel",
        "EvaluateModel",
        "ReviewMse",
    ]
    steps = all_steps(definition)
    assert {name: step["Type"] for name, step in steps.items()} == {
        "PrepareData": "Processing",
        "DataQualityBaseline": "QualityCheck",
        "TrainModel": "Training",
        "EvaluateModel": "Processing",
        "ReviewMse": "Condition",
        "RegisterModel": "RegisterModel",
        "FailOnMse": "Fail",
    }


def test_parameters_and_defaults(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    definition, _ = built
    params = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    assert params["InputData"] == ("String", "s3://sagemaker-sample-files/datasets/tabular/uci_abalone/abalone.csv")
    assert params["SplitSeed"] == ("Integer", 42)
    assert params["MseThreshold"] == ("Float", 6.0)
    assert params["ModelApprovalStatus"] == ("String", "Approved")
    assert params["NumRound"] == ("Integer", 50)
    assert params["MaxDepth"] == ("Integer", 5)
    assert params["Eta"] == ("Float", 0.2)
    assert params["Subsample"] == ("Float", 0.7)
    for name in (
        "PrepInstanceType",
        "TrainInstanceType",
        "EvalInstanceType",
        "InferenceInstanceType",
        "TransformInstanceType",
    ):
        assert params[name][0] == "String" and params[name][1].startswith("ml.")
    for name in ("PrepInstanceCount", "TrainInstanceCount", "EvalInstanceCount"):
        assert params[name] == ("Integer", 1)
    assert params["BaselineInstanceType"] == ("String", "ml.m5.xlarge")
    # The first run has no earlier baseline: skip the check and register the new baseline.
    assert params["SkipDataQualityCheck"] == ("Boolean", True)
    assert params["RegisterNewDataQualityBaseline"] == ("Boolean", True)


def test_dependencies_follow_property_references(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    steps = all_steps(built[0])
    assert references(steps["PrepareData"]["Arguments"]) == set()
    assert references(steps["TrainModel"]["Arguments"]) == {"PrepareData"}
    assert references(steps["EvaluateModel"]["Arguments"]) == {"PrepareData", "TrainModel"}
    assert references(steps["ReviewMse"]["Arguments"]["Conditions"]) == {"EvaluateModel"}
    assert references(steps["DataQualityBaseline"]["Arguments"]) == {"PrepareData"}
    assert references(steps["RegisterModel"]["Arguments"]) == {
        "PrepareData",
        "TrainModel",
        "EvaluateModel",
        "DataQualityBaseline",
    }
    assert references(steps["FailOnMse"]["Arguments"]) == {"EvaluateModel"}


def test_prepare_step(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    args = all_steps(built[0])["PrepareData"]["Arguments"]
    app = args["AppSpecification"]
    assert "sagemaker-scikit-learn:1.9-0" in app["ImageUri"]
    assert app["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/preprocess.py"]
    assert app["ContainerArguments"][:2] == ["--input-data", {"Get": "Parameters.InputData"}]
    assert {"Get": "Parameters.SplitSeed"} in app["ContainerArguments"][3]["Std:Join"]["Values"]
    outputs = {o["OutputName"]: o["S3Output"]["LocalPath"] for o in args["ProcessingOutputConfig"]["Outputs"]}
    assert outputs == {
        name: f"/opt/ml/processing/output/{name}" for name in ("train", "validation", "test", "metadata", "baseline")
    }
    resources = args["ProcessingResources"]["ClusterConfig"]
    assert resources["InstanceType"] == {"Get": "Parameters.PrepInstanceType"}


def test_data_quality_baseline_step(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    step = all_steps(built[0])["DataQualityBaseline"]
    args = step["Arguments"]
    assert args["AppSpecification"]["ImageUri"].endswith(".amazonaws.com/sagemaker-model-monitor-analyzer")
    assert args["ProcessingInputs"] == [
        {
            "InputName": "baseline_dataset_input",
            "S3Input": {
                "S3Uri": {"Get": "Steps.PrepareData.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"},
                "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
            },
        }
    ]
    assert args["Environment"] == {
        "dataset_format": '{"csv": {"header": false, "output_columns_position": "START"}}',
        "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
        "output_path": "/opt/ml/processing/output",
        "publish_cloudwatch_metrics": "Disabled",
    }
    [output] = args["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output"
    assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"][1] == "data-quality-baseline"
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {"Get": "Parameters.BaselineInstanceType"}
    assert {key: step[key] for key in ("CheckType", "ModelPackageGroupName", "SkipCheck", "RegisterNewBaseline")} == {
        "CheckType": "DATA_QUALITY",
        "ModelPackageGroupName": "crayonShowcasePackageGroup",
        "SkipCheck": {"Get": "Parameters.SkipDataQualityCheck"},
        "RegisterNewBaseline": {"Get": "Parameters.RegisterNewDataQualityBaseline"},
    }
    assert step["FailOnViolation"] is True


def test_training_step(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    args = all_steps(built[0])["TrainModel"]["Arguments"]
    assert args["AlgorithmSpecification"]["TrainingImage"].endswith("sagemaker-xgboost:3.2-0")
    hyper = args["HyperParameters"]
    assert hyper["objective"] == "reg:squarederror"
    assert hyper["num_round"] == {"Get": "Parameters.NumRound"}
    assert hyper["min_child_weight"] == {"Get": "Parameters.MinChildWeight"}
    channels = {c["ChannelName"]: c for c in args["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    for name, channel in channels.items():
        assert channel["ContentType"] == "text/csv"
        assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
            "Get": f"Steps.PrepareData.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"
        }
    assert args["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainInstanceType"}


def test_evaluation_step_declares_the_property_file(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    step = all_steps(built[0])["EvaluateModel"]
    assert step["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    app = step["Arguments"]["AppSpecification"]
    assert app["ImageUri"].endswith("sagemaker-xgboost:3.2-0")
    inputs = {i["InputName"]: i["S3Input"] for i in step["Arguments"]["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["test"]["LocalPath"] == "/opt/ml/processing/test"


def test_review_registers_or_fails(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    steps = all_steps(built[0])
    review = steps["ReviewMse"]["Arguments"]
    mse = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.EvaluateModel.PropertyFiles.EvaluationReport"},
            "Path": "regression_metrics.mse.value",
        }
    }
    assert review["Conditions"] == [
        {"Type": "LessThanOrEqualTo", "LeftValue": mse, "RightValue": {"Get": "Parameters.MseThreshold"}}
    ]
    assert [s["Name"] for s in review["IfSteps"]] == ["RegisterModel"]
    assert [s["Name"] for s in review["ElseSteps"]] == ["FailOnMse"]
    message = steps["FailOnMse"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert mse in message and {"Get": "Parameters.MseThreshold"} in message

    register = steps["RegisterModel"]["Arguments"]
    assert register["ModelPackageGroupName"] == "crayonShowcasePackageGroup"
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    spec = register["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv"]
    assert spec["SupportedResponseMIMETypes"] == ["text/csv"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == [{"Get": "Parameters.InferenceInstanceType"}]
    assert spec["SupportedTransformInstanceTypes"] == [{"Get": "Parameters.TransformInstanceType"}]
    assert spec["Containers"][0]["ModelDataUrl"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"] == [
        {"Get": "Steps.EvaluateModel.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
        "evaluation.json",
    ]

    def source(prop: str) -> dict[str, Any]:
        return {"ContentType": "application/json", "S3Uri": {"Get": f"Steps.DataQualityBaseline.{prop}"}}

    assert register["ModelMetrics"]["ModelDataQuality"] == {
        "Statistics": source("CalculatedBaselineStatistics"),
        "Constraints": source("CalculatedBaselineConstraints"),
    }
    assert register["DriftCheckBaselines"] == {
        "ModelDataQuality": {
            "Statistics": source("BaselineUsedForDriftCheckStatistics"),
            "Constraints": source("BaselineUsedForDriftCheckConstraints"),
        }
    }
    assert register["CustomerMetadataProperties"] == {
        "ModelName": "crayonShowcase",
        "EvaluationReport": {
            "Std:Join": {
                "On": "/",
                "Values": [
                    {"Get": "Steps.EvaluateModel.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
                    "report.html",
                ],
            }
        },
        "TestData": {"Get": "Steps.PrepareData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
    }


def test_code_uploads_are_deferred_and_named_by_content(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    definition, uploads = built
    steps = all_steps(definition)
    for step_name, script in (("PrepareData", "preprocess.py"), ("EvaluateModel", "evaluate.py")):
        code = next(i for i in steps[step_name]["Arguments"]["ProcessingInputs"] if i["InputName"] == "code")
        uri = code["S3Input"]["S3Uri"]
        assert uri.startswith("s3://showcase-bucket/crayonShowcasePipeline/code/") and uri.endswith("/" + script)
        assert uploads[uri] == (SRC / script).read_bytes()
    assert len(uploads) == 2


def test_the_shipped_definition_fixture_is_what_the_sdk_builds(built: tuple[dict[str, Any], dict[str, bytes]]) -> None:
    from tests import definition_fixture

    assert definition_fixture.masked(definition_fixture.load()) == definition_fixture.masked(built[0]), (
        "tests/fixtures/abalone-definition.json is stale: regenerate it with python -m tests.definition_fixture"
    )


def test_building_twice_gives_the_same_document() -> None:
    from showcase.pipeline import get_pipeline

    first = get_pipeline(region="eu-west-1", role=ROLE, default_bucket="b").definition()
    second = get_pipeline(region="eu-west-1", role=ROLE, default_bucket="b").definition()
    assert first == second


def test_building_leaves_the_environment_warnings_and_sdk_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    """The build's region, role-validation and metadata-probe settings, telemetry switch and warning filter are
    scoped to it: a publish afterwards in the same process sees what the user configured."""
    import warnings

    from sagemaker.core.telemetry import telemetry_logging

    from showcase.pipeline import get_pipeline

    for name in ("AWS_DEFAULT_REGION", "SAGEMAKER_VALIDATE_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    environment, filters = dict(os.environ), list(warnings.filters)
    sender = telemetry_logging._send_telemetry_request
    get_pipeline(region="ap-south-1", role=ROLE, default_bucket="b")
    assert dict(os.environ) == environment
    assert warnings.filters == filters
    assert telemetry_logging._send_telemetry_request is sender


def test_keywords_change_names_and_bucket() -> None:
    from showcase.pipeline import get_pipeline

    pipeline = get_pipeline(
        region="us-west-2",
        role=ROLE,
        default_bucket="other",
        pipeline_name="p2",
        model_package_group_name="g2",
        base_job_prefix="prefix2",
    )
    definition = json.loads(pipeline.definition())
    assert pipeline.name == "p2"
    assert all_steps(definition)["RegisterModel"]["Arguments"]["ModelPackageGroupName"] == "g2"
    assert "us-west-2" in all_steps(definition)["TrainModel"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert "s3://other" in json.dumps(all_steps(definition)["TrainModel"]["Arguments"]["OutputDataConfig"])


def test_a_bare_role_name_is_refused() -> None:
    from showcase.pipeline import get_pipeline

    with pytest.raises(UsageError, match="full IAM role ARN"):
        get_pipeline(region="eu-west-1", role="MySageMakerRole", default_bucket="b")


def test_the_tuned_variant_is_awss_canonical_shape() -> None:
    """tune=True: prepare -> tune -> evaluate the best model -> create model -> transform -> review."""
    from showcase.pipeline import get_pipeline

    pipeline = get_pipeline(region="eu-west-1", role=ROLE, default_bucket="showcase-bucket", tune=True)
    definition = json.loads(pipeline.definition())
    steps = all_steps(definition)
    assert [s["Name"] for s in definition["Steps"]] == [
        "PrepareData", "DataQualityBaseline", "TuneModel", "EvaluateModel", "CreateModel", "TransformTest", "ReviewMse",
    ]  # fmt: skip
    assert {s["Name"]: s["Type"] for s in steps.values()}["CreateModel"] == "Model"
    config = steps["TuneModel"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian" and config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["ResourceLimits"] == {"MaxParallelTrainingJobs": 2, "MaxNumberOfTrainingJobs": 20}
    assert config["RandomSeed"] == {"Get": "Parameters.TuningSeed"}
    best = {"Get": "Steps.TuneModel.TrainingJobSummaries[0].TrainingJobName"}
    for name, url in (
        ("CreateModel", steps["CreateModel"]["Arguments"]["PrimaryContainer"]["ModelDataUrl"]),
        (
            "RegisterModel",
            steps["RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
        ),
    ):
        assert best in url["Std:Join"]["Values"], name
    assert steps["TransformTest"]["Arguments"]["ModelName"] == {"Get": "Steps.CreateModel.ModelName"}
    assert steps["TransformTest"]["Arguments"]["DataProcessing"] == {
        "InputFilter": "$[1:]", "OutputFilter": "$[0,-1]", "JoinSource": "Input",
    }  # fmt: skip
    assert steps["ReviewMse"]["DependsOn"] == ["TransformTest"]
    names = [p["Name"] for p in definition["Parameters"]]
    assert "TuningSeed" in names and "NumRound" in names and "MaxDepth" not in names
