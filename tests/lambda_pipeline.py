"""A pipeline of Lambda and Callback steps, built with the SDK as AWS's lambda-step example builds one.

``Describe`` (a Lambda made from one script) returns a count, a label and a flag; a Condition compares the
count with the ``MinCount`` parameter. With ``callback=True`` an ``Approve`` Callback step then waits for its
token, and ``Deploy`` (a Lambda shipped as the zip ``code_zip``) reads what it was completed with. ``handler``
picks the handler of ``Describe`` (``describe.broken`` raises).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from showcase.aws.session import DefinitionSession
from showcase.builder.offline import offline_build

HERE = Path(__file__).resolve().parent / "fixtures" / "lambda"
QUEUE = "https://sqs.us-east-1.amazonaws.com/000000000000/showcase-approvals"


def get_pipeline(
    region: str = "us-east-1",
    role: str = "arn:aws:iam::000000000000:role/showcase-local-execution",
    default_bucket: str = "lambda-bucket",
    handler: str = "describe.handler",
    callback: bool = False,
    code_zip: str = "",
) -> Any:
    with offline_build(region):
        return _build(region, role, default_bucket, handler, callback, code_zip)


def _build(region: str, role: str, bucket: str, handler: str, callback: bool, code_zip: str) -> Any:
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
    from sagemaker.mlops.workflow.callback_step import CallbackOutput, CallbackOutputTypeEnum, CallbackStep
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.mlops.workflow.pipeline import Pipeline

    session = DefinitionSession(region=region, default_bucket=bucket)
    model = ParameterString(name="ModelName", default_value="abalone")
    min_count = ParameterInteger(name="MinCount", default_value=4)
    describe = LambdaStep(
        name="Describe",
        lambda_func=Lambda(
            function_name="showcase-describe",
            execution_role_arn=role,
            script=str(HERE / "describe.py"),
            handler=handler,
            session=session,
        ),
        inputs={"model": model, "n": 3},
        outputs=[
            LambdaOutput(output_name="Count", output_type=LambdaOutputTypeEnum.Integer),
            LambdaOutput(output_name="Label", output_type=LambdaOutputTypeEnum.String),
            LambdaOutput(output_name="Ok", output_type=LambdaOutputTypeEnum.Boolean),
        ],
    )
    then: list[Any] = []
    if callback:
        approve = CallbackStep(
            name="Approve",
            sqs_queue_url=QUEUE,
            inputs={"label": describe.properties.Outputs["Label"]},
            outputs=[CallbackOutput(output_name="Approved", output_type=CallbackOutputTypeEnum.Boolean)],
        )
        deploy = LambdaStep(
            name="Deploy",
            lambda_func=Lambda(
                function_name="showcase-deploy",
                execution_role_arn=role,
                zipped_code_dir=code_zip,
                s3_bucket=bucket,
                handler="deploy.handler",
                environment={"Variables": {"STAGE": "staging"}},
                session=session,
            ),
            inputs={"label": describe.properties.Outputs["Label"], "approved": approve.properties.Outputs["Approved"]},
            outputs=[LambdaOutput(output_name="Deployed"), LambdaOutput(output_name="Stage")],
        )
        then = [approve, deploy]
    enough = ConditionStep(
        name="Enough",
        conditions=[ConditionGreaterThanOrEqualTo(left=describe.properties.Outputs["Count"], right=min_count)],
        if_steps=then,
        else_steps=[FailStep(name="TooFew", error_message="the function counted too few")],
    )
    return Pipeline(
        name="LambdaShowcase",
        parameters=[model, min_count],
        steps=[describe, enough],
        sagemaker_session=session,
    )
