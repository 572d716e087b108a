"""3. Evaluate the model on the test split (XGBoost image; ``evaluate.py``), and read its test MSE."""

from __future__ import annotations

from typing import Any

from .shared import HERE, PROCESSING, Parameters, Shared, split_uri


def evaluate_step(shared: Shared, params: Parameters, prepare: Any, model_data: Any) -> tuple[Any, Any]:
    """3. Evaluate on the test split (XGBoost image); returns the step and its ``evaluation.json`` property file."""
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.steps import ProcessingStep

    def mounted(name: str, s3_uri: Any) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=s3_uri, local_path=f"{PROCESSING}/{name}", s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    evaluation = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    processor = shared.processor(
        shared.xgboost_image, params.eval_instance_type, params.eval_instance_count, "evaluate"
    )
    step = ProcessingStep(
        name="EvaluateModel",
        display_name="Evaluate model",
        description="Compute MSE, RMSE, MAE and R2 of the trained model on the test split.",
        cache_config=shared.cache,
        property_files=[evaluation],
        step_args=processor.run(
            code=str(HERE / "evaluate.py"),
            arguments=[
                "--model-dir",
                f"{PROCESSING}/model",
                "--test-dir",
                f"{PROCESSING}/test",
                "--output-dir",
                f"{PROCESSING}/evaluation",
            ],
            inputs=[
                mounted("model", model_data),
                mounted("test", split_uri(prepare, "test")),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    s3_output=ProcessingS3Output(
                        s3_uri=shared.under_run("evaluation"),
                        local_path=f"{PROCESSING}/evaluation",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
        ),
    )
    return step, evaluation


def test_mse(evaluate: Any, evaluation: Any) -> Any:
    """The test MSE, read from the evaluation report when the condition is evaluated."""
    from sagemaker.core.workflow.functions import JsonGet

    return JsonGet(step_name=evaluate.name, property_file=evaluation, json_path="regression_metrics.mse.value")
