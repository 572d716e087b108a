"""1b. A data-quality baseline of the train split's features (Model Monitor's analyzer image)."""

from __future__ import annotations

from typing import Any

from .shared import Parameters, Shared, split_uri


def baseline_step(shared: Shared, params: Parameters, prepare: Any, *, model_package_group_name: str) -> Any:
    """1b. A data-quality baseline of the train split's features, as the endpoint receives them (Model Monitor's
    analyzer image): statistics.json and constraints.json. With SkipDataQualityCheck false it also checks the
    features against the baseline of the newest Approved package in the group, failing on a violation."""
    from sagemaker.core.model_monitor.dataset_format import DatasetFormat
    from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
    from sagemaker.mlops.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep

    check_job = CheckJobConfig(
        role=shared.role,
        instance_count=1,
        instance_type=params.baseline_instance_type,
        base_job_name=f"{shared.base_job_prefix}-baseline",
        sagemaker_session=shared.session,
    )
    return QualityCheckStep(
        name="DataQualityBaseline",
        display_name="Data-quality baseline",
        description="Statistics and constraints of the train features: what endpoint traffic is checked against.",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=split_uri(prepare, "baseline"),
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=shared.under_run("data-quality-baseline"),
        ),
        check_job_config=check_job,
        skip_check=params.skip_data_quality_check,
        register_new_baseline=params.register_new_data_quality_baseline,
        model_package_group_name=model_package_group_name,
        cache_config=shared.cache,
    )
