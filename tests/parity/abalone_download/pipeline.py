"""An Abalone pipeline in the style of the SageMaker Projects model-build template, with SDK v3: its
preprocessing script downloads its input itself (``--input-data s3://...`` and boto3), not through a
ProcessingInput, and the built-in XGBoost trains on what it wrote. Nothing in it knows about the local runtime.
"""

from __future__ import annotations

import os

import boto3
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
from sagemaker.core.training.configs import Compute, InputData
from sagemaker.core.workflow.parameters import ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.train import ModelTrainer

BASE_DIR = os.path.dirname(os.path.realpath(__file__))


def get_session(region, default_bucket):
    boto_session = boto3.Session(region_name=region)
    return Session(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        sagemaker_runtime_client=boto_session.client("sagemaker-runtime"),
        default_bucket=default_bucket,
    )


def get_pipeline_session(region, default_bucket):
    boto_session = boto3.Session(region_name=region)
    return PipelineSession(
        boto_session=boto_session, sagemaker_client=boto_session.client("sagemaker"), default_bucket=default_bucket
    )


def get_pipeline(
    region,
    role=None,
    default_bucket=None,
    pipeline_name="AbaloneDownload",
    base_job_prefix="AbaloneDownload",
    processing_instance_type="ml.m5.xlarge",
    training_instance_type="ml.m5.xlarge",
    input_data=None,
):
    sagemaker_session = get_session(region, default_bucket)
    if role is None:
        role = get_execution_role(sagemaker_session)
    pipeline_session = get_pipeline_session(region, default_bucket)
    bucket = pipeline_session.default_bucket()
    input_data = ParameterString(
        name="InputDataUrl",
        default_value=input_data or f"s3://sagemaker-servicecatalog-seedcode-{region}/dataset/abalone-dataset.csv",
    )

    sklearn_processor = ScriptProcessor(
        image_uri=image_uris.retrieve(
            framework="sklearn", region=region, version="1.2-1", instance_type=processing_instance_type
        ),
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=1,
        base_job_name=f"{base_job_prefix}/sklearn-abalone-preprocess",
        sagemaker_session=pipeline_session,
        role=role,
    )
    step_process = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=sklearn_processor.run(
            code=os.path.join(BASE_DIR, "preprocess.py"),
            arguments=["--input-data", input_data],
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

    trainer = ModelTrainer(
        training_image=image_uris.retrieve(framework="xgboost", region=region, version="1.7-1"),
        compute=Compute(instance_type=training_instance_type, instance_count=1),
        base_job_name=f"{base_job_prefix}/abalone-train",
        sagemaker_session=pipeline_session,
        role=role,
        hyperparameters={"objective": "reg:squarederror", "num_round": 30, "max_depth": 5, "eta": 0.2},
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
    return Pipeline(
        name=pipeline_name,
        parameters=[input_data],
        steps=[step_process, step_train],
        sagemaker_session=pipeline_session,
    )
