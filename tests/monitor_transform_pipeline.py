"""A monitored batch transform (SDK v3 ``MonitorBatchTransformStep``), built by tests/test_function_steps.py with
``showcase run -n tests.monitor_transform_pipeline`` over a home whose registry holds the model ``batch-model``.

A QualityCheck step first computes a data-quality baseline of the input (``skip_check``, a new baseline); the
MonitorBatchTransformStep then writes its two steps: ``Scored-monitoring`` (a QualityCheck of the same input
against that baseline, ``monitor_before_transform``) and ``Scored-transform`` (the Transform), as the SDK does.
The SDK v3 (3.27) builds a pipeline of the collection's ``steps``: its Pipeline refuses the collection itself.
"""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::000000000000:role/monitor-transform"
BUCKET = "showcase-local"
INPUT = f"s3://{BUCKET}/monitored/input"


def get_pipeline(region: str = "us-east-1") -> Any:
    import boto3
    from sagemaker.core.model_monitor.dataset_format import DatasetFormat
    from sagemaker.core.transformer import Transformer
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
    from sagemaker.mlops.workflow.monitor_batch_transform_step import MonitorBatchTransformStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep

    boto_session = boto3.Session(region_name=region)
    session = PipelineSession(
        boto_session=boto_session, sagemaker_client=boto_session.client("sagemaker"), default_bucket=BUCKET
    )
    check_job = CheckJobConfig(role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=session)

    def quality(name: str) -> Any:
        return DataQualityCheckConfig(
            baseline_dataset=INPUT,
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=f"s3://{BUCKET}/monitored/{name}",
        )

    baseline = QualityCheckStep(
        name="Baseline",
        quality_check_config=quality("baseline"),
        check_job_config=check_job,
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name="Monitored",
    )
    model = ParameterString(name="ModelName", default_value="batch-model")  # a literal name is looked up at build
    transformer = Transformer(
        model_name=model,
        instance_type="ml.m5.large",
        instance_count=1,
        output_path=f"s3://{BUCKET}/monitored/output",
        accept="text/csv",
        assemble_with="Line",
        sagemaker_session=session,
    )
    monitored = MonitorBatchTransformStep(
        name="Scored",
        transform_step_args=transformer.transform(data=INPUT, content_type="text/csv", split_type="Line"),
        monitor_configuration=quality("check"),
        check_job_configuration=check_job,
        monitor_before_transform=True,
        supplied_baseline_statistics=baseline.properties.CalculatedBaselineStatistics,
        supplied_baseline_constraints=baseline.properties.CalculatedBaselineConstraints,
    )
    # The SDK v3's Pipeline takes a step collection's steps, not the collection ("Invalid input step type").
    return Pipeline(
        name="monitored-transform",
        parameters=[model],
        steps=[baseline, *monitored.steps],
        sagemaker_session=session,
    )
