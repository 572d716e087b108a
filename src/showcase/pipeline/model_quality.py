"""3c (with ``model_quality_baseline``). A model-quality baseline of the test split's predictions (Model Monitor)."""

from __future__ import annotations

from typing import Any

from .shared import Parameters, Shared


def model_quality_step(shared: Shared, params: Parameters, transform: Any, *, model_package_group_name: str) -> Any:
    """3c. Model Monitor's model-quality baseline (problem type Regression: mae, mse, rmse, r2) of the batch
    transform's ``label,prediction`` lines: statistics.json and constraints.json, what the endpoint's model-quality
    monitoring (ground truth joined with the captured predictions) is checked against once the package carries them
    in DriftCheckBaselines.ModelQuality."""
    from sagemaker.core.model_monitor.dataset_format import DatasetFormat
    from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
    from sagemaker.mlops.workflow.quality_check_step import ModelQualityCheckConfig, QualityCheckStep

    check_job = CheckJobConfig(
        role=shared.role,
        instance_count=1,
        instance_type=params.baseline_instance_type,
        base_job_name=f"{shared.base_job_prefix}-model-quality",
        sagemaker_session=shared.session,
    )
    return QualityCheckStep(
        name="ModelQualityBaseline",
        display_name="Model-quality baseline",
        description="Regression metrics of the test split's predictions: what ground truth is checked against.",
        quality_check_config=ModelQualityCheckConfig(
            baseline_dataset=transform.properties.TransformOutput.S3OutputPath,
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=shared.under_run("model-quality-baseline"),
            problem_type="Regression",
            inference_attribute="_c1",
            ground_truth_attribute="_c0",
        ),
        check_job_config=check_job,
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=model_package_group_name,
        cache_config=shared.cache,
    )
