"""A one-step pipeline whose input is one large local file, for the benchmark's large-input re-run row.

``InputData`` names a local file; the job (``large_input_job.py``) reads only its first line, so the
cost measured is the runtime's own: building the definition and checking the step cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from showcase.aws.session import DefinitionSession
from showcase.builder.offline import offline_build

HERE = Path(__file__).resolve().parent


def get_pipeline(input_data: str, region: str = "us-east-1", default_bucket: str = "showcase-local") -> Any:
    with offline_build(region):
        return _build(input_data, region, default_bucket)


def _build(input_data: str, region: str, default_bucket: str) -> Any:
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep

    session = DefinitionSession(region=region, default_bucket=default_bucket)
    data = ParameterString(name="InputData", default_value=input_data)
    image = image_uris.retrieve(framework="sklearn", region=region, version="1.2-1", instance_type="ml.m5.large")
    processor = ScriptProcessor(
        image_uri=image,
        command=["python3"],
        role="arn:aws:iam::000000000000:role/benchmark",
        instance_type="ml.m5.large",
        instance_count=1,
        base_job_name="large-input",
        sagemaker_session=session,
    )
    step = ProcessingStep(
        name="PeekAtInput",
        cache_config=CacheConfig(enable_caching=True, expire_after="P30D"),
        step_args=processor.run(
            code=str(HERE / "large_input_job.py"),
            arguments=["--input-data", data, "--output-dir", "/opt/ml/processing/output"],
            outputs=[
                ProcessingOutput(
                    output_name="summary",
                    s3_output=ProcessingS3Output(
                        s3_uri=Join(
                            on="/", values=[f"s3://{default_bucket}", "large", ExecutionVariables.PIPELINE_EXECUTION_ID]
                        ),
                        local_path="/opt/ml/processing/output",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
        ),
    )
    return Pipeline(name="LargeInputPipeline", parameters=[data], steps=[step], sagemaker_session=session)
