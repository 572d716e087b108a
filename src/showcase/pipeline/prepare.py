"""1. Prepare: check, encode, scale and split the data (scikit-learn image; ``preprocess.py``)."""

from __future__ import annotations

from typing import Any

from .shared import HERE, PROCESSING, Parameters, Shared

SERVING_CODE = f"{PROCESSING}/input/serving"
PREPROCESSING_MODEL = "preprocessing_model"
"""The output holding the inference pipeline's preprocessing model archive (``preprocess_serving.py``)."""


def prepare_step(shared: Shared, params: Parameters, *, inference_pipeline: bool = False) -> Any:
    """1. Prepare: check, encode, scale and split the data (scikit-learn image). With ``inference_pipeline``, also
    the preprocessing container's model archive: this encoding, fitted on the train split, and its serving code."""
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.mlops.workflow.steps import ProcessingStep

    processor = shared.processor(shared.sklearn_image, params.prep_instance_type, params.prep_instance_count, "prepare")
    outputs = ["train", "validation", "test", "metadata", "baseline"]
    arguments = ["--input-data", params.input_data, "--seed", params.split_seed.to_string()]
    arguments += ["--output-dir", f"{PROCESSING}/output"]
    inputs = []
    if inference_pipeline:
        outputs.append(PREPROCESSING_MODEL)
        arguments += ["--serving-code", SERVING_CODE]
        inputs.append(
            ProcessingInput(
                input_name="serving",
                s3_input=ProcessingS3Input(
                    s3_uri=str(HERE / "preprocess_serving.py"),
                    local_path=SERVING_CODE,
                    s3_data_type="S3Prefix",
                    s3_input_mode="File",
                ),
            )
        )
    return ProcessingStep(
        name="PrepareData",
        display_name="Prepare data",
        description="Check the Abalone data, one-hot encode sex, scale, split 70/15/15 with a seed.",
        cache_config=shared.cache,
        step_args=processor.run(
            code=str(HERE / "preprocess.py"),
            arguments=arguments,
            inputs=inputs or None,
            outputs=[
                ProcessingOutput(
                    output_name=split,
                    s3_output=ProcessingS3Output(
                        s3_uri=shared.under_run("data", split),
                        local_path=f"{PROCESSING}/output/{split}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for split in outputs
            ],
        ),
    )


def preprocessing_model_uri(prepare: Any) -> Any:
    """The S3 URI of the preprocessing model archive PrepareData writes (``inference_pipeline``)."""
    from sagemaker.core.workflow.functions import Join

    outputs = prepare.properties.ProcessingOutputConfig.Outputs
    return Join(on="/", values=[outputs[PREPROCESSING_MODEL].S3Output.S3Uri, "model.tar.gz"])
