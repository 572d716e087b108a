"""4a. Register the model with its metrics, its evaluation report, its test split and its data-quality baselines."""

from __future__ import annotations

from typing import Any

from .shared import Parameters, Shared

PREPROCESSING_ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
}
"""The preprocessing container's environment: ``preprocess_serving.py`` (as ``code/inference.py`` in its archive),
answering CSV to the XGBoost container behind it."""


def register_step(
    shared: Shared,
    params: Parameters,
    model_data: Any,
    evaluate: Any,
    baseline: Any,
    *,
    test_data: Any,
    model_name: str,
    model_package_group_name: str,
    pipeline_name: str,
    model_quality: Any = None,
    preprocessing_model: Any = None,
) -> Any:
    """4a. Register the model with its test metrics, its evaluation report, the test split (``test_data``, which a
    staging test sends through the endpoint again) and the data-quality baseline (calculated: ModelMetrics; to
    check traffic against: DriftCheckBaselines); the model quality is ``_model_quality``'s. With
    ``preprocessing_model`` (the preprocessing archive's S3 URI) the package is an inference pipeline: the
    scikit-learn preprocessing container, then XGBoost; its endpoint takes the raw record."""
    from sagemaker.core.drift_check_baselines import DriftCheckBaselines
    from sagemaker.core.model_metrics import ModelMetrics
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.serve.model_builder import ModelBuilder

    evaluation_output = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    evaluation_uri = Join(on="/", values=[evaluation_output, "evaluation.json"])
    # ModelMetrics has no slot for an HTML page; the SDK types CustomerMetadataProperties' values as
    # pipeline variables (Dict[str, StrPipeVar]), so the package carries the report's URI there.
    report_uri = Join(on="/", values=[evaluation_output, "report.html"])
    metadata = {"ModelName": model_name, "EvaluationReport": report_uri, "TestData": test_data}
    quality_metrics, quality_baselines = _model_quality(model_quality, evaluation_uri)
    builder = ModelBuilder(
        **_models(shared, model_data, preprocessing_model), role_arn=shared.role, sagemaker_session=shared.session
    )
    return ModelStep(
        name="RegisterModel",
        display_name="Register model",
        description="Register the model and its test metrics in the model package group.",
        step_args=builder.register(
            model_package_group_name=model_package_group_name,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=[params.inference_instance_type],
            transform_instances=[params.transform_instance_type],
            approval_status=params.approval_status,
            description=f"{model_name}: XGBoost regression of Abalone rings, built by {pipeline_name}",
            customer_metadata_properties=metadata,
            model_metrics=ModelMetrics(
                model_data_statistics=json_source(baseline.properties.CalculatedBaselineStatistics),
                model_data_constraints=json_source(baseline.properties.CalculatedBaselineConstraints),
                **quality_metrics,
            ),
            drift_check_baselines=DriftCheckBaselines(
                model_data_statistics=json_source(baseline.properties.BaselineUsedForDriftCheckStatistics),
                model_data_constraints=json_source(baseline.properties.BaselineUsedForDriftCheckConstraints),
                **quality_baselines,
            ),
        ),
    )


def _model_quality(check: Any, evaluation_uri: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """ModelMetrics' and DriftCheckBaselines' ModelQuality arguments: a model-quality check step's baseline, else
    evaluation.json as the model's statistics (and no drift-check baseline)."""
    if check is None:
        return {"model_statistics": json_source(evaluation_uri)}, {}
    quality = check.properties
    calculated = {
        "model_statistics": json_source(quality.CalculatedBaselineStatistics),
        "model_constraints": json_source(quality.CalculatedBaselineConstraints),
    }
    used = {
        "model_statistics": json_source(quality.BaselineUsedForDriftCheckStatistics),
        "model_constraints": json_source(quality.BaselineUsedForDriftCheckConstraints),
    }
    return calculated, used


def _models(shared: Shared, model_data: Any, preprocessing_model: Any) -> dict[str, Any]:
    """ModelBuilder's model: the XGBoost model alone, or the preprocessing container's and XGBoost's in sequence."""
    if preprocessing_model is None:
        return {"image_uri": shared.xgboost_image, "s3_model_data_url": model_data}
    from sagemaker.core.resources import Model
    from sagemaker.core.shapes import ContainerDefinition

    first = ContainerDefinition(
        image=shared.sklearn_image, model_data_url=preprocessing_model, environment=PREPROCESSING_ENVIRONMENT
    )
    second = ContainerDefinition(image=shared.xgboost_image, model_data_url=model_data)
    models = [
        Model(model_name="preprocessing", primary_container=first),
        Model(model_name="xgboost", primary_container=second),
    ]
    return {"model": models}


def json_source(s3_uri: Any) -> Any:
    """A JSON document of the model's metrics or baselines, at ``s3_uri``."""
    from sagemaker.core.model_metrics import MetricsSource

    return MetricsSource(content_type="application/json", s3_uri=s3_uri)
