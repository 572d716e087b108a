"""A user's own SDK v2 script, run unchanged against the local API by the SDK v2 environment's Python:
``python -m tests.api.sdk_v2_flow DATA_PATH``.

With only ``AWS_ENDPOINT_URL`` (and dummy credentials) in its environment it builds a pipeline with the SageMaker
SDK v2's ``PipelineSession`` and ``sagemaker.workflow`` steps (the code uploads go through the API's S3): a
ProcessingStep, a TrainingStep of the built-in XGBoost through ``sagemaker.estimator.Estimator``, and a
``RegisterModel``. It upserts it twice (create, then the SDK's update path), starts it, waits, lists its steps and
describes it; then, with the SDK v2 alone, approves the registered package (``ModelPackage.update_approval_status``),
deploys it (``ModelPackage.deploy``: CreateModel, CreateEndpointConfig, CreateEndpoint), invokes it through a
``Predictor``, deletes it and waits until it is gone. It prints one JSON document of what it saw. It imports
nothing of the project (the SDK v2 environment has only the SDK).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROLE = "arn:aws:iam::000000000000:role/sdk-v2-flow"
BUCKET = "sdk-v2-flow-bucket"
GROUP = "sdk-v2-flow-group"
ENDPOINT = "sdk-v2-flow-endpoint"
ROW = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15"
PREPROCESS = Path(__file__).resolve().parents[2] / "src" / "showcase" / "preprocess.py"
"""The project's preprocessing script, as a file the SDK uploads (it imports nothing of the project)."""


def build(data: str) -> Any:
    import boto3
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.processing import ProcessingOutput, ScriptProcessor
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.step_collections import RegisterModel
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    boto_session = boto3.Session()
    session = PipelineSession(boto_session=boto_session, default_bucket=BUCKET)
    region = boto_session.region_name
    data_uri = ParameterString(name="DataUri", default_value=data)
    sklearn = image_uris.retrieve(framework="sklearn", region=region, version="1.2-1", instance_type="ml.m5.large")
    xgb = image_uris.retrieve(framework="xgboost", region=region, version="1.7-1")
    base = Join(on="/", values=[f"s3://{BUCKET}", "runs", ExecutionVariables.PIPELINE_EXECUTION_ID])
    processor = ScriptProcessor(
        image_uri=sklearn, command=["python3"], role=ROLE, instance_type="ml.m5.large", instance_count=1,
        sagemaker_session=session,
    )  # fmt: skip
    split = ProcessingStep(
        name="Split",
        step_args=processor.run(
            code=str(PREPROCESS),
            arguments=["--input-data", data_uri, "--output-dir", "/opt/ml/processing/out"],
            outputs=[
                ProcessingOutput(
                    output_name=name,
                    source=f"/opt/ml/processing/out/{name}",
                    destination=Join(on="/", values=[base, name]),
                )
                for name in ("train", "validation", "test")
            ],
        ),
    )
    estimator = Estimator(
        image_uri=xgb, role=ROLE, instance_type="ml.m5.large", instance_count=1, sagemaker_session=session,
        output_path=Join(on="/", values=[base, "model"]),
        hyperparameters={"objective": "reg:squarederror", "num_round": 20, "max_depth": 4},
    )  # fmt: skip
    fit = TrainingStep(
        name="Fit",
        step_args=estimator.fit(
            inputs={
                "train": TrainingInput(
                    s3_data=split.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri,
                    content_type="text/csv",
                )
            }
        ),
    )
    publish = RegisterModel(
        name="Publish", estimator=estimator, model_data=fit.properties.ModelArtifacts.S3ModelArtifacts,
        content_types=["text/csv"], response_types=["text/csv"], inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"], model_package_group_name=GROUP, approval_status="PendingManualApproval",
    )  # fmt: skip
    return Pipeline(name="SdkV2Flow", parameters=[data_uri], steps=[split, fit, publish], sagemaker_session=session)


def run_pipeline(data: str) -> dict[str, Any]:
    pipeline = build(data)
    created = pipeline.upsert(role_arn=ROLE, description="first")
    updated = pipeline.upsert(role_arn=ROLE, description="second")  # exists: the SDK's update path
    execution = pipeline.start(parameters={"DataUri": data})
    execution.wait(delay=1, max_attempts=600)
    steps = execution.list_steps()
    described = execution.describe()
    return {
        "created": created["PipelineArn"],
        "updated": updated["PipelineArn"],
        "description": pipeline.describe()["PipelineDescription"],
        "status": described["PipelineExecutionStatus"],
        "execution_arn": described["PipelineExecutionArn"],
        "steps": {s["StepName"]: [s["StepStatus"], sorted(s.get("Metadata", {}))] for s in steps},
    }


def serve(results: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from sagemaker.model import ModelPackage
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer
    from sagemaker.session import Session

    session = Session(boto_session=boto3.Session(), default_bucket=BUCKET)
    packages = session.sagemaker_client.list_model_packages(
        ModelPackageGroupName=GROUP, SortBy="CreationTime", SortOrder="Descending"
    )["ModelPackageSummaryList"]
    arn = packages[0]["ModelPackageArn"]
    package = ModelPackage(role=ROLE, model_package_arn=arn, sagemaker_session=session)
    package.update_approval_status("Approved")
    approved = session.sagemaker_client.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
    package.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=ENDPOINT, wait=False)
    in_service = session.wait_for_endpoint(ENDPOINT, poll=1)
    predictor = Predictor(ENDPOINT, sagemaker_session=session, serializer=CSVSerializer())
    prediction = predictor.predict(_features()).decode()
    predictor.delete_endpoint()
    waiter = session.sagemaker_client.get_waiter("endpoint_deleted")
    waiter.wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    names = [
        e["EndpointName"] for e in session.sagemaker_client.list_endpoints(NameContains="sdk-v2-flow")["Endpoints"]
    ]
    return {
        **results,
        "package_status_before": packages[0]["ModelApprovalStatus"],
        "package_status_after": approved,
        "endpoint_status": in_service["EndpointStatus"],
        "prediction": prediction,
        "endpoints_after_delete": names,
    }


def _features() -> str:
    """The row as the preprocessing writes model inputs: the sex one-hot encoded after the numbers."""
    sex, *numbers = ROW.split(",")
    return ",".join([*numbers, *("1" if sex == letter else "0" for letter in "FIM")])


if __name__ == "__main__":
    seen = serve(run_pipeline(sys.argv[1]))
    print()  # after what the SDK's waits print, without a newline, to show their progress
    print(json.dumps(seen))
