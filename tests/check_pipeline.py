"""A pipeline of check steps, built with the SDK v3 as AWS's examples build them, on the real Abalone data.

    Split -> Fit -> CreateModel -> Predict (label,prediction per test row) -> ModelQuality (QualityCheck)
                 └─> DataBias (ClarifyCheck on the train split) ── ModelBias, Explainability (on the model)
    -> Register: ModelMetrics and DriftCheckBaselines from the checks' properties

The bias label is "rings of 10 or more" (``label_values_or_threshold`` 10..29: rings is categorical, as Clarify
reads a column of few values), the facet the infants (``sex_I`` = 1); the model predicts rings, and a prediction
above ``probability_threshold`` 9.5 is the positive predicted label. Each check's supplied baseline is a parameter
(empty: none), so one definition runs both with and without one.
"""

from __future__ import annotations

from typing import Any

from showcase.aws.session import DefinitionSession
from showcase.builder.offline import offline_build
from showcase.pipeline import HERE

ROLE = "arn:aws:iam::000000000000:role/checks"
HEADERS = ["rings", "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight",
           "shell_weight", "sex_F", "sex_I", "sex_M"]  # fmt: skip
GROUP = "checked-models"


def get_pipeline(data: str, region: str = "us-east-1", default_bucket: str = "checks-bucket") -> Any:
    with offline_build(region):
        return _build(data, region, default_bucket)


def _build(data: str, region: str, bucket: str) -> Any:
    from sagemaker.core.workflow.parameters import ParameterBoolean, ParameterString
    from sagemaker.mlops.workflow.pipeline import Pipeline

    session = DefinitionSession(region=region, default_bucket=bucket)
    parameters = {
        "DataUri": ParameterString(name="DataUri", default_value=data),
        "SkipChecks": ParameterBoolean(name="SkipChecks", default_value=True),
        "QualityStatistics": ParameterString(name="QualityStatistics", default_value=""),
        "QualityConstraints": ParameterString(name="QualityConstraints", default_value=""),
        "DataBiasConstraints": ParameterString(name="DataBiasConstraints", default_value=""),
    }
    split, fit, create, predict = _model_steps(session, region, bucket, parameters["DataUri"])
    quality = _model_quality(session, bucket, predict, parameters)
    data_bias, model_bias, explainability = _clarify_checks(session, region, bucket, split, create, parameters)
    register = _register(session, region, fit, quality, data_bias, model_bias, explainability)
    return Pipeline(
        name="check-pipeline",
        parameters=list(parameters.values()),
        steps=[split, fit, create, predict, quality, data_bias, model_bias, explainability, register],
        sagemaker_session=session,
    )


def _model_steps(session: Any, region: str, bucket: str, data_uri: Any) -> tuple[Any, Any, Any, Any]:
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
    from sagemaker.core.transformer import Transformer
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep, TransformStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer

    sklearn = image_uris.retrieve(framework="sklearn", region=region, version="1.2-1", instance_type="ml.m5.large")
    xgb = image_uris.retrieve(framework="xgboost", region=region, version="1.7-1")
    split = ProcessingStep(
        name="Split",
        step_args=ScriptProcessor(
            image_uri=sklearn,
            command=["python3"],
            role=ROLE,
            instance_type="ml.m5.large",
            instance_count=1,
            sagemaker_session=session,
        ).run(
            code=str(HERE / "preprocess.py"),
            arguments=["--input-data", data_uri, "--output-dir", "/opt/ml/processing/out"],
            outputs=[
                ProcessingOutput(
                    output_name=name,
                    s3_output=ProcessingS3Output(
                        s3_uri=f"s3://{bucket}/checks/{name}",
                        local_path=f"/opt/ml/processing/out/{name}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for name in ("train", "test")
            ],
        ),
    )
    train_uri = split.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri
    fit = TrainingStep(
        name="Fit",
        step_args=ModelTrainer(
            training_image=xgb,
            role=ROLE,
            sagemaker_session=session,
            compute=Compute(instance_type="ml.m5.large", instance_count=1),
            output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/checks/model"),
            hyperparameters={"objective": "reg:squarederror", "num_round": 40, "max_depth": 4},
        ).train(input_data_config=[InputData(channel_name="train", content_type="text/csv", data_source=train_uri)]),
    )
    builder = ModelBuilder(
        image_uri=xgb, s3_model_data_url=fit.properties.ModelArtifacts.S3ModelArtifacts, role_arn=ROLE,
        sagemaker_session=session,
    )  # fmt: skip
    create = ModelStep(name="CreateModel", step_args=builder.build())
    transformer = Transformer(
        model_name=create.properties.ModelName,
        instance_type="ml.m5.large",
        instance_count=1,
        output_path=f"s3://{bucket}/checks/predictions",
        accept="text/csv",
        assemble_with="Line",
        sagemaker_session=session,
    )
    predict = TransformStep(
        name="Predict",
        step_args=transformer.transform(
            data=split.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri,
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
            join_source="Input",
            output_filter="$[0,-1]",
        ),
    )
    return split, fit, create, predict


def _check_job(session: Any) -> Any:
    from sagemaker.mlops.workflow.check_job_config import CheckJobConfig

    return CheckJobConfig(role=ROLE, instance_count=1, instance_type="ml.m5.large", sagemaker_session=session)


def _model_quality(session: Any, bucket: str, predict: Any, parameters: dict[str, Any]) -> Any:
    from sagemaker.core.model_monitor.dataset_format import DatasetFormat
    from sagemaker.mlops.workflow.quality_check_step import ModelQualityCheckConfig, QualityCheckStep

    return QualityCheckStep(
        name="ModelQuality",
        quality_check_config=ModelQualityCheckConfig(
            baseline_dataset=predict.properties.TransformOutput.S3OutputPath,
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=f"s3://{bucket}/checks/model-quality",
            problem_type="Regression",
            inference_attribute="_c1",
            ground_truth_attribute="_c0",
        ),
        check_job_config=_check_job(session),
        skip_check=parameters["SkipChecks"],
        register_new_baseline=True,
        model_package_group_name=GROUP,
        supplied_baseline_statistics=parameters["QualityStatistics"],
        supplied_baseline_constraints=parameters["QualityConstraints"],
    )


def _clarify_checks(
    session: Any, region: str, bucket: str, split: Any, create: Any, parameters: dict[str, Any]
) -> tuple[Any, Any, Any]:
    from sagemaker.core.clarify import BiasConfig, DataConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig
    from sagemaker.mlops.workflow.clarify_check_step import (
        ClarifyCheckStep,
        DataBiasCheckConfig,
        ModelBiasCheckConfig,
        ModelExplainabilityCheckConfig,
    )

    def data_config(name: str) -> Any:
        return DataConfig(
            s3_data_input_path=split.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri,
            s3_output_path=f"s3://{bucket}/checks/{name}",
            label="rings",
            headers=HEADERS,
            dataset_type="text/csv",
        )

    bias = BiasConfig(label_values_or_threshold=list(range(10, 30)), facet_name="sex_I", facet_values_or_threshold=[1])
    model = ModelConfig(
        model_name=create.properties.ModelName,
        instance_type="ml.m5.large",
        instance_count=1,
        accept_type="text/csv",
        content_type="text/csv",
    )
    common = {"check_job_config": _check_job(session), "model_package_group_name": GROUP}
    data_bias = ClarifyCheckStep(
        name="DataBias",
        clarify_check_config=DataBiasCheckConfig(data_config=data_config("data-bias"), data_bias_config=bias),
        skip_check=parameters["SkipChecks"],
        register_new_baseline=True,
        supplied_baseline_constraints=parameters["DataBiasConstraints"],
        **common,
    )
    model_bias = ClarifyCheckStep(
        name="ModelBias",
        clarify_check_config=ModelBiasCheckConfig(
            data_config=data_config("model-bias"),
            data_bias_config=bias,
            model_config=model,
            model_predicted_label_config=ModelPredictedLabelConfig(probability_threshold=9.5),
        ),
        skip_check=True,
        register_new_baseline=True,
        **common,
    )
    explainability = ClarifyCheckStep(
        name="Explainability",
        clarify_check_config=ModelExplainabilityCheckConfig(
            data_config=data_config("explainability"),
            model_config=model,
            explainability_config=SHAPConfig(baseline=[[0.0] * 10], num_samples=50, agg_method="mean_abs"),
        ),
        skip_check=True,
        register_new_baseline=True,
        **common,
    )
    return data_bias, model_bias, explainability


def _register(
    session: Any, region: str, fit: Any, quality: Any, data_bias: Any, model_bias: Any, explainability: Any
) -> Any:
    from sagemaker.core import image_uris
    from sagemaker.core.drift_check_baselines import DriftCheckBaselines
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.serve.model_builder import ModelBuilder

    def source(uri: Any) -> Any:
        return MetricsSource(content_type="application/json", s3_uri=uri)

    return ModelStep(
        name="Register",
        step_args=ModelBuilder(
            image_uri=image_uris.retrieve(framework="xgboost", region=region, version="1.7-1"),
            s3_model_data_url=fit.properties.ModelArtifacts.S3ModelArtifacts,
            role_arn=ROLE,
            sagemaker_session=session,
        ).register(
            model_package_group_name=GROUP,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            approval_status="Approved",
            model_metrics=ModelMetrics(
                model_statistics=source(quality.properties.CalculatedBaselineStatistics),
                model_constraints=source(quality.properties.CalculatedBaselineConstraints),
                bias_pre_training=source(data_bias.properties.CalculatedBaselineConstraints),
                bias_post_training=source(model_bias.properties.CalculatedBaselineConstraints),
                explainability=source(explainability.properties.CalculatedBaselineConstraints),
            ),
            drift_check_baselines=DriftCheckBaselines(
                model_statistics=source(quality.properties.BaselineUsedForDriftCheckStatistics),
                model_constraints=source(quality.properties.BaselineUsedForDriftCheckConstraints),
                bias_pre_training_constraints=source(data_bias.properties.BaselineUsedForDriftCheckConstraints),
                bias_post_training_constraints=source(model_bias.properties.BaselineUsedForDriftCheckConstraints),
                explainability_constraints=source(explainability.properties.BaselineUsedForDriftCheckConstraints),
            ),
        ),
    )
