"""An Abalone pipeline written the way AWS's MLOps project template writes one, with SDK v3.

It makes its own sessions (``get_session``, ``get_pipeline_session``), uploads its data with the
SDK while building, trains the built-in XGBoost algorithm at image 1.0-1 (``silent=0``, ``reg:linear``, as
the template does), and its scripts hard-code the container's ``/opt/ml/processing`` paths. When the MSE is
low enough it creates a model and batch transforms the test split with it, as AWS's Abalone example
does. Nothing in it knows about the local runtime.
"""

from __future__ import annotations

import os

import boto3
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.s3 import S3Uploader
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.training.configs import Compute, InputData
from sagemaker.core.transformer import Transformer
from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.core.workflow.functions import JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep, TransformStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

BASE_DIR = os.path.dirname(os.path.realpath(__file__))


def get_session(region, default_bucket):
    boto_session = boto3.Session(region_name=region)
    sagemaker_client = boto_session.client("sagemaker")
    runtime_client = boto_session.client("sagemaker-runtime")
    return Session(
        boto_session=boto_session,
        sagemaker_client=sagemaker_client,
        sagemaker_runtime_client=runtime_client,
        default_bucket=default_bucket,
    )


def get_pipeline_session(region, default_bucket):
    boto_session = boto3.Session(region_name=region)
    sagemaker_client = boto_session.client("sagemaker")
    return PipelineSession(boto_session=boto_session, sagemaker_client=sagemaker_client, default_bucket=default_bucket)


def get_pipeline(
    region,
    sagemaker_project_name=None,
    role=None,
    default_bucket=None,
    pipeline_name="AbalonePipeline",
    base_job_prefix="Abalone",
    processing_instance_type="ml.m5.xlarge",
    training_instance_type="ml.m5.xlarge",
    local_data=None,
):
    sagemaker_session = get_session(region, default_bucket)
    if role is None:
        role = get_execution_role(sagemaker_session)
    pipeline_session = get_pipeline_session(region, default_bucket)
    bucket = pipeline_session.default_bucket()

    default_input = f"s3://sagemaker-servicecatalog-seedcode-{region}/dataset/abalone-dataset.csv"
    if local_data:
        default_input = S3Uploader.upload(
            local_data, f"s3://{bucket}/abalone/dataset", sagemaker_session=pipeline_session
        )
    processing_instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    input_data = ParameterString(name="InputDataUrl", default_value=default_input)
    mse_limit = ParameterFloat(name="MseLimit", default_value=6.0)

    sklearn_image = image_uris.retrieve(
        framework="sklearn", region=region, version="1.2-1", instance_type=processing_instance_type
    )
    preprocessor = ScriptProcessor(
        image_uri=sklearn_image,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=processing_instance_count,
        base_job_name=f"{base_job_prefix}/sklearn-abalone-preprocess",
        sagemaker_session=pipeline_session,
        role=role,
    )
    step_process = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=preprocessor.run(
            code=os.path.join(BASE_DIR, "preprocess.py"),
            inputs=[
                ProcessingInput(
                    input_name="raw",
                    s3_input=ProcessingS3Input(
                        s3_uri=input_data, local_path="/opt/ml/processing/input", s3_data_type="S3Prefix"
                    ),
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name=name,
                    s3_output=ProcessingS3Output(
                        s3_uri=f"s3://{bucket}/{base_job_prefix}/{name}",
                        local_path=f"/opt/ml/processing/{name}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for name in ("train", "validation", "test")
            ],
        ),
    )

    image_uri = image_uris.retrieve(framework="xgboost", region=region, version="1.0-1")
    trainer = ModelTrainer(
        training_image=image_uri,
        compute=Compute(instance_type=training_instance_type, instance_count=1),
        base_job_name=f"{base_job_prefix}-abalone-train",
        sagemaker_session=pipeline_session,
        role=role,
        hyperparameters={
            "objective": "reg:linear",
            "num_round": 50,
            "silent": 0,
            "max_depth": 5,
            "eta": 0.2,
            "gamma": 4,
            "min_child_weight": 6,
            "subsample": 0.7,
        },
    )
    step_train = TrainingStep(
        name="TrainAbaloneModel",
        step_args=trainer.train(
            input_data_config=[
                InputData(
                    channel_name=channel,
                    data_source=step_process.properties.ProcessingOutputConfig.Outputs[channel].S3Output.S3Uri,
                    content_type="text/csv",
                )
                for channel in ("train", "validation")
            ]
        ),
    )

    evaluator = ScriptProcessor(
        image_uri=image_uri,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=1,
        base_job_name=f"{base_job_prefix}/script-abalone-eval",
        sagemaker_session=pipeline_session,
        role=role,
    )
    evaluation_report = PropertyFile(name="AbaloneEvaluationReport", output_name="evaluation", path="evaluation.json")
    step_eval = ProcessingStep(
        name="EvaluateAbaloneModel",
        step_args=evaluator.run(
            code=os.path.join(BASE_DIR, "evaluate.py"),
            inputs=[
                ProcessingInput(
                    input_name="model",
                    s3_input=ProcessingS3Input(
                        s3_uri=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                        local_path="/opt/ml/processing/model",
                        s3_data_type="S3Prefix",
                    ),
                ),
                ProcessingInput(
                    input_name="test",
                    s3_input=ProcessingS3Input(
                        s3_uri=step_process.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri,
                        local_path="/opt/ml/processing/test",
                        s3_data_type="S3Prefix",
                    ),
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    s3_output=ProcessingS3Output(
                        s3_uri=f"s3://{bucket}/{base_job_prefix}/evaluation",
                        local_path="/opt/ml/processing/evaluation",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
        ),
        property_files=[evaluation_report],
    )

    model = ModelBuilder(
        image_uri=image_uri,
        s3_model_data_url=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        role_arn=role,
        sagemaker_session=pipeline_session,
    )
    step_create_model = ModelStep(name="AbaloneCreateModel", step_args=model.build())
    transformer = Transformer(
        model_name=step_create_model.properties.ModelName,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        output_path=f"s3://{bucket}/{base_job_prefix}/transform",
        sagemaker_session=pipeline_session,
    )
    step_transform = TransformStep(
        name="AbaloneTransform",
        step_args=transformer.transform(
            data=step_process.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri,
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
        ),
    )

    mse = JsonGet(step_name=step_eval.name, property_file=evaluation_report, json_path="regression_metrics.mse.value")
    step_cond = ConditionStep(
        name="CheckMSEAbaloneEvaluation",
        conditions=[ConditionLessThanOrEqualTo(left=mse, right=mse_limit)],
        if_steps=[step_create_model, step_transform],
        else_steps=[FailStep(name="AbaloneMSETooHigh", error_message="the model's MSE is above MseLimit")],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[processing_instance_count, input_data, mse_limit],
        steps=[step_process, step_train, step_eval, step_cond],
        sagemaker_session=pipeline_session,
    )
