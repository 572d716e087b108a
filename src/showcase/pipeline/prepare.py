"""1. Prepare: check, encode, scale and split the data (scikit-learn image; ``preprocess.py``)."""

from __future__ import annotations

from typing import Any

from .shared import HERE, PROCESSING, Parameters, Shared


def prepare_step(shared: Shared, params: Parameters) -> Any:
    """1. Prepare: check, encode, scale and split the data (scikit-learn image)."""
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.mlops.workflow.steps import ProcessingStep

    processor = shared.processor(shared.sklearn_image, params.prep_instance_type, params.prep_instance_count, "prepare")
    return ProcessingStep(
        name="PrepareData",
        display_name="Prepare data",
        description="Check the Abalone data, one-hot encode sex, scale, split 70/15/15 with a seed.",
        cache_config=shared.cache,
        step_args=processor.run(
            code=str(HERE / "preprocess.py"),
            arguments=[
                "--input-data",
                params.input_data,
                "--seed",
                params.split_seed.to_string(),
                "--output-dir",
                f"{PROCESSING}/output",
            ],
            outputs=[
                ProcessingOutput(
                    output_name=split,
                    s3_output=ProcessingS3Output(
                        s3_uri=shared.under_run("data", split),
                        local_path=f"{PROCESSING}/output/{split}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for split in ("train", "validation", "test", "metadata", "baseline")
            ],
        ),
    )
