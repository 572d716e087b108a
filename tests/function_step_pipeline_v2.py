"""A ``@step`` function written for the SageMaker Python SDK v2 (``sagemaker.workflow.function_step.step``): built in
the SDK v2 environment by tests/test_function_steps.py with ``showcase run -n tests.function_step_pipeline_v2``."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::000000000000:role/function-steps"
IMAGE = "236514542706.dkr.ecr.us-east-1.amazonaws.com/sagemaker-base-python-311:1.0"


def get_pipeline(region: str = "us-east-1", default_bucket: str = "function-steps-bucket") -> Any:
    import boto3
    from sagemaker.workflow.function_step import step
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(region_name=region)
    session = PipelineSession(
        boto_session=boto_session, sagemaker_client=boto_session.client("sagemaker"), default_bucket=default_bucket
    )

    @step(name="add", instance_type="ml.m5.large", role=ROLE, image_uri=IMAGE)
    def add(left: int, right: int) -> int:
        return left + right

    return Pipeline(name="functions-v2", steps=[add(1, 2)], sagemaker_session=session)
