"""A user's own script, run unchanged against the local API: ``python -m tests.api.sdk_flow DATA_PATH``.

With only ``AWS_ENDPOINT_URL`` (and dummy credentials) in its environment it builds a pipeline with the SageMaker
SDK v3's real ``PipelineSession`` (the code uploads go through the API's S3), upserts it twice (create, then the
SDK's update path), starts it, waits, lists its steps, then does what follows training by hand with boto3:
finds and approves the registered package, creates a model, an endpoint config and an endpoint, invokes it
through sagemaker-runtime, swaps it to a second config, and deletes it. It prints one JSON document of what it saw.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from showcase.pipeline import HERE

ROLE = "arn:aws:iam::000000000000:role/sdk-flow"
BUCKET = "sdk-flow-bucket"
GROUP = "sdk-flow-group"
ROW = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15"


def build(data: str) -> Any:
    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.train import ModelTrainer

    boto_session = boto3.Session()
    session = PipelineSession(boto_session=boto_session, default_bucket=BUCKET)
    region = boto_session.region_name
    data_uri = ParameterString(name="DataUri", default_value=data)
    sklearn = image_uris.retrieve(framework="sklearn", region=region, version="1.2-1", instance_type="ml.m5.large")
    xgb = image_uris.retrieve(framework="xgboost", region=region, version="1.7-1")
    base = Join(on="/", values=[f"s3://{BUCKET}", "runs", ExecutionVariables.PIPELINE_EXECUTION_ID])
    split = ProcessingStep(
        name="Split",
        step_args=ScriptProcessor(
            image_uri=sklearn, command=["python3"], role=ROLE, instance_type="ml.m5.large", instance_count=1,
            sagemaker_session=session,
        ).run(
            code=str(HERE / "preprocess.py"),
            arguments=["--input-data", data_uri, "--output-dir", "/opt/ml/processing/out"],
            outputs=[
                ProcessingOutput(
                    output_name=name,
                    s3_output=ProcessingS3Output(
                        s3_uri=Join(on="/", values=[base, name]), local_path=f"/opt/ml/processing/out/{name}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for name in ("train", "validation", "test")
            ],
        ),
    )  # fmt: skip
    fit = TrainingStep(
        name="Fit",
        step_args=ModelTrainer(
            training_image=xgb, role=ROLE, sagemaker_session=session,
            compute=Compute(instance_type="ml.m5.large", instance_count=1),
            output_data_config=OutputDataConfig(s3_output_path=Join(on="/", values=[base, "model"])),
            hyperparameters={"objective": "reg:squarederror", "num_round": 20, "max_depth": 4},
        ).train(
            input_data_config=[
                InputData(
                    channel_name="train", content_type="text/csv",
                    data_source=split.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri,
                )
            ]
        ),
    )  # fmt: skip
    publish = _publish(session, fit.properties.ModelArtifacts.S3ModelArtifacts, xgb)
    return Pipeline(name="SdkFlow", parameters=[data_uri], steps=[split, fit, publish], sagemaker_session=session)


def _publish(session: Any, model_data: Any, image: str) -> Any:
    """Register the trained model, pending approval, in GROUP."""
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.serve.model_builder import ModelBuilder

    return ModelStep(
        name="Publish",
        step_args=ModelBuilder(
            image_uri=image, s3_model_data_url=model_data, role_arn=ROLE, sagemaker_session=session,
        ).register(
            model_package_group_name=GROUP, content_types=["text/csv"], response_types=["text/csv"],
            inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
            approval_status="PendingManualApproval",
        ),
    )  # fmt: skip


def run_pipeline(data: str) -> dict[str, Any]:
    pipeline = build(data)
    created = pipeline.upsert(role_arn=ROLE, description="first")
    updated = pipeline.upsert(role_arn=ROLE, description="second")  # exists: the SDK's update path
    execution = pipeline.start(parameters={"DataUri": data})
    execution.wait(delay=1, max_attempts=600)
    steps = execution.list_steps()
    described = execution.describe()
    sagemaker = pipeline.sagemaker_session.sagemaker_client
    training_arn = next(s["Metadata"]["TrainingJob"]["Arn"] for s in steps if "TrainingJob" in s.get("Metadata", {}))
    training = sagemaker.describe_training_job(TrainingJobName=training_arn.rsplit("/", 1)[1])
    return {
        "created": created["PipelineArn"],
        "updated_version": updated.get("PipelineVersionId"),
        "description": pipeline.describe()["PipelineDescription"],
        "status": described["PipelineExecutionStatus"],
        "execution_arn": described["PipelineExecutionArn"],
        "steps": {s["StepName"]: [s["StepStatus"], sorted(s.get("Metadata", {}))] for s in steps},
        "training_status": training["TrainingJobStatus"],
        "model_artifacts": training["ModelArtifacts"]["S3ModelArtifacts"],
    }


def serve(results: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    sagemaker = boto3.client("sagemaker")
    packages = sagemaker.list_model_packages(
        ModelPackageGroupName=GROUP, SortBy="CreationTime", SortOrder="Descending", MaxResults=10
    )["ModelPackageSummaryList"]
    arn = packages[0]["ModelPackageArn"]
    before = packages[0]["ModelApprovalStatus"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sagemaker.create_model(
        ModelName="sdk-flow-model", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE
    )
    for config in ("sdk-flow-config-a", "sdk-flow-config-b"):
        sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "sdk-flow-model",
                                 "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        )  # fmt: skip
    sagemaker.create_endpoint(EndpointName="sdk-flow-endpoint", EndpointConfigName="sdk-flow-config-a")
    waiter_config = {"Delay": 1, "MaxAttempts": 120}
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="sdk-flow-endpoint", WaiterConfig=waiter_config)
    runtime = boto3.client("sagemaker-runtime", config=Config(retries={"max_attempts": 1}))
    invoked = runtime.invoke_endpoint(EndpointName="sdk-flow-endpoint", Body=_features(), ContentType="text/csv")
    sagemaker.update_endpoint(EndpointName="sdk-flow-endpoint", EndpointConfigName="sdk-flow-config-b")
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="sdk-flow-endpoint", WaiterConfig=waiter_config)
    after_update = sagemaker.describe_endpoint(EndpointName="sdk-flow-endpoint")
    sagemaker.delete_endpoint(EndpointName="sdk-flow-endpoint")
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="sdk-flow-endpoint", WaiterConfig=waiter_config)
    return {
        **results,
        "package_status_before": before,
        "package_status_after": sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"],
        "prediction": invoked["Body"].read().decode(),
        "variant": invoked["InvokedProductionVariant"],
        "config_after_update": after_update["EndpointConfigName"],
        "status_after_update": after_update["EndpointStatus"],
    }


def _features() -> str:
    """The row as the preprocessing writes model inputs: the sex one-hot encoded after the numbers."""
    sex, *numbers = ROW.split(",")
    return ",".join([*numbers, *("1" if sex == letter else "0" for letter in "FIM")])


if __name__ == "__main__":
    print(json.dumps(serve(run_pipeline(sys.argv[1]))))
