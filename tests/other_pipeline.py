"""A second pipeline, built with the SDK, that shares nothing with ours but the processing scripts.

Other step names, parameter names, output names and container paths, the condition the other
way round (GreaterThan sends to the Fail step), and a PendingManualApproval registration: the
local runtime must run it without knowing any of these names.
"""

from __future__ import annotations

from typing import Any

from showcase.aws.session import DefinitionSession
from showcase.builder.offline import offline_build
from showcase.pipeline import HERE

ROLE = "arn:aws:iam::000000000000:role/other"


def get_pipeline(data: str, region: str = "us-east-1", default_bucket: str = "other-bucket") -> Any:
    with offline_build(region):
        return _build(data, region, default_bucket)


def _build(data: str, region: str, default_bucket: str) -> Any:
    from sagemaker.core import image_uris
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
    from sagemaker.core.workflow.conditions import ConditionGreaterThan
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer

    session = DefinitionSession(region=region, default_bucket=default_bucket)
    data_uri = ParameterString(name="DataUri", default_value=data)
    max_mse = ParameterFloat(name="MaxMse", default_value=4.0)
    sklearn = image_uris.retrieve(framework="sklearn", region=region, version="1.2-1", instance_type="ml.m5.large")
    xgb = image_uris.retrieve(framework="xgboost", region=region, version="1.7-1")
    base = Join(
        on="/",
        values=[
            f"s3://{default_bucket}",
            "elsewhere",
            ExecutionVariables.PIPELINE_NAME,
            ExecutionVariables.PIPELINE_EXECUTION_ID,
        ],
    )

    def processor(image: str) -> Any:
        return ScriptProcessor(
            image_uri=image,
            command=["python3"],
            role=ROLE,
            instance_type="ml.m5.large",
            instance_count=1,
            sagemaker_session=session,
        )

    split = ProcessingStep(
        name="Split",
        step_args=processor(sklearn).run(
            code=str(HERE / "preprocess.py"),
            arguments=["--input-data", data_uri, "--seed", "7", "--output-dir", "/opt/ml/processing/out"],
            outputs=[
                ProcessingOutput(
                    output_name=f"part-{name}",
                    s3_output=ProcessingS3Output(
                        s3_uri=Join(on="/", values=[base, name]),
                        local_path=f"/opt/ml/processing/out/{name}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for name in ("train", "validation", "test")
            ],
        ),
    )
    fit = TrainingStep(
        name="Fit",
        step_args=ModelTrainer(
            training_image=xgb,
            role=ROLE,
            sagemaker_session=session,
            compute=Compute(instance_type="ml.m5.large", instance_count=1),
            output_data_config=OutputDataConfig(s3_output_path=Join(on="/", values=[base, "artifacts"])),
            hyperparameters={"objective": "reg:squarederror", "num_round": 30, "max_depth": 4},
        ).train(
            input_data_config=[
                InputData(
                    channel_name="train",
                    content_type="text/csv",
                    data_source=split.properties.ProcessingOutputConfig.Outputs["part-train"].S3Output.S3Uri,
                ),
            ]
        ),
    )
    report = PropertyFile(name="Scores", output_name="scores", path="evaluation.json")
    score = ProcessingStep(
        name="Score",
        property_files=[report],
        step_args=processor(xgb).run(
            code=str(HERE / "evaluate.py"),
            arguments=[
                "--model-dir",
                "/opt/ml/processing/m",
                "--test-dir",
                "/opt/ml/processing/t",
                "--output-dir",
                "/opt/ml/processing/s",
            ],
            inputs=[
                ProcessingInput(
                    input_name="m",
                    s3_input=ProcessingS3Input(
                        s3_uri=fit.properties.ModelArtifacts.S3ModelArtifacts,
                        local_path="/opt/ml/processing/m",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                ),
                ProcessingInput(
                    input_name="t",
                    s3_input=ProcessingS3Input(
                        s3_uri=split.properties.ProcessingOutputConfig.Outputs["part-test"].S3Output.S3Uri,
                        local_path="/opt/ml/processing/t",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="scores",
                    s3_output=ProcessingS3Output(
                        s3_uri=Join(on="/", values=[base, "scores"]),
                        local_path="/opt/ml/processing/s",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
        ),
    )
    mse = JsonGet(step_name=score.name, property_file=report, json_path="regression_metrics.mse.value")
    publish = ModelStep(
        name="Publish",
        step_args=ModelBuilder(
            image_uri=xgb,
            s3_model_data_url=fit.properties.ModelArtifacts.S3ModelArtifacts,
            role_arn=ROLE,
            sagemaker_session=session,
        ).register(
            model_package_group_name="other-group",
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            approval_status="PendingManualApproval",
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json",
                    s3_uri=Join(
                        on="/",
                        values=[
                            score.properties.ProcessingOutputConfig.Outputs["scores"].S3Output.S3Uri,
                            "evaluation.json",
                        ],
                    ),
                )
            ),
        ),
    )
    stop = FailStep(name="Stop", error_message=Join(on=" ", values=["mse", mse, "over", max_mse]))
    gate = ConditionStep(
        name="Gate", conditions=[ConditionGreaterThan(left=mse, right=max_mse)], if_steps=[stop], else_steps=[publish]
    )
    return Pipeline(
        name="other-pipeline",
        parameters=[data_uri, max_mse],
        steps=[split, fit, score, gate],
        sagemaker_session=session,
    )
