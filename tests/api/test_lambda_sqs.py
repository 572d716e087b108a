"""Lambda and SQS through boto3, and a pipeline of a Lambda and a Callback step run through the API: the function
created with CreateFunction, the callback's message read with ReceiveMessage, the step completed with
SendPipelineExecutionStepSuccess/Failure, the steps' Metadata as ListPipelineExecutionSteps gives it.
Every wait is a bounded poll; nothing asserts on time."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from showcase import functions
from tests.api.conftest import Api
from tests.api.definitions import ROLE, definition, get
from tests.api.test_executions import finished, steps, until

DESCRIBE = """\
def handler(event, context):
    return {"Count": event["n"] * 2, "Who": context.function_name}

def broken(event, context):
    raise KeyError("nothing here")
"""


def create_function(api: Api, name: str, handler: str = "fn.handler") -> dict[str, Any]:
    package = functions.zip_of({"fn.py": DESCRIBE.encode()})
    answer: dict[str, Any] = api.client("lambda").create_function(  # type: ignore[attr-defined]
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler, Code={"ZipFile": package}, Timeout=30
    )
    return answer


def test_create_function_then_invoke_runs_the_handler(api: Api) -> None:
    created = create_function(api, "api-describe")
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:api-describe"
    assert (created["Handler"], created["Timeout"], created["State"]) == ("fn.handler", 30, "Active")
    client: Any = api.client("lambda")
    answer = client.invoke(FunctionName="api-describe", Payload=json.dumps({"n": 4}).encode())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"Count": 8, "Who": "api-describe"}
    with pytest.raises(ClientError) as again:
        create_function(api, "api-describe")
    assert again.value.response["Error"]["Code"] == "ResourceConflictException"
    assert client.get_function(FunctionName="api-describe")["Configuration"]["CodeSize"] == created["CodeSize"]


def test_a_handler_error_is_the_payload_in_lambdas_shape(api: Api) -> None:
    create_function(api, "api-broken", "fn.broken")
    answer = api.client("lambda").invoke(FunctionName="api-broken")  # type: ignore[attr-defined]
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("KeyError", "'nothing here'")
    assert any("/var/task/fn.py" in line for line in error["stackTrace"])


def test_invoking_a_function_that_does_not_exist_is_resource_not_found(api: Api) -> None:
    with pytest.raises(ClientError) as missing:
        api.client("lambda").invoke(FunctionName="nowhere")  # type: ignore[attr-defined]
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_sqs_queues_send_receive_and_delete(api: Api) -> None:
    sqs: Any = api.client("sqs")
    url = sqs.create_queue(QueueName="api-queue")["QueueUrl"]
    assert url == "https://sqs.us-east-1.amazonaws.com/000000000000/api-queue"
    assert sqs.get_queue_url(QueueName="api-queue")["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="api-")["QueueUrls"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="hello")
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert (message["MessageId"], message["Body"]) == (sent["MessageId"], "hello")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # hidden for its visibility timeout
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    (again,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as missing:
        sqs.get_queue_url(QueueName="no-such-queue")
    assert missing.value.response["Error"]["Code"] in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")


def callback_pipeline(queue_url: str) -> str:
    describe = {
        "Name": "Describe",
        "Type": "Lambda",
        "Arguments": {"n": get("Parameters.N")},
        "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:api-pipeline-fn",
        "OutputParameters": [{"OutputName": "Count", "OutputType": "Integer"}],
    }
    approve = {
        "Name": "Approve",
        "Type": "Callback",
        "Arguments": {"count": get("Steps.Describe.OutputParameters['Count']")},
        "SqsQueueUrl": queue_url,
        "OutputParameters": [{"OutputName": "Score", "OutputType": "Float"}],
    }
    check = {
        "Name": "Check",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {"Type": "GreaterThan", "LeftValue": get("Steps.Approve.OutputParameters['Score']"), "RightValue": 0.5}
            ],
            "IfSteps": [],
            "ElseSteps": [{"Name": "Low", "Type": "Fail", "Arguments": {"ErrorMessage": "score too low"}}],
        },
    }
    return definition([describe, approve, check], [{"Name": "N", "Type": "Integer", "DefaultValue": 5}])


def started_and_waiting(api: Api, name: str) -> tuple[Any, str, dict[str, Any]]:
    """A pipeline started through the API, once its Callback step waits: the client, the ARN, the SQS message."""
    sqs: Any = api.client("sqs")
    try:  # the function the pipeline's Lambda step runs, created through the API
        create_function(api, "api-pipeline-fn")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceConflictException"
    url = sqs.create_queue(QueueName=f"{name}-queue")["QueueUrl"]
    sagemaker: Any = api.client("sagemaker")
    sagemaker.create_pipeline(PipelineName=name, PipelineDefinition=callback_pipeline(url), RoleArn=ROLE)
    arn = sagemaker.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"]
    received = until(lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2), lambda r: "Messages" in r, "msg")
    return sagemaker, arn, json.loads(received["Messages"][0]["Body"])


def test_a_callback_step_is_completed_through_the_api_and_its_outputs_feed_a_condition(api: Api) -> None:
    sagemaker, arn, body = started_and_waiting(api, "CallbackViaApi")
    assert (body["pipelineExecutionArn"], body["arguments"], body["status"]) == (arn, {"count": 10}, "Executing")
    waiting = steps(sagemaker, arn)["Approve"]
    assert waiting["StepStatus"] == "Executing"
    assert waiting["Metadata"]["Callback"]["CallbackToken"] == body["token"]
    sagemaker.send_pipeline_execution_step_success(
        CallbackToken=body["token"], OutputParameters=[{"Name": "Score", "Value": "0.9"}]
    )
    assert finished(sagemaker, arn) == "Succeeded"
    listed = steps(sagemaker, arn)
    assert listed["Describe"]["Metadata"]["Lambda"] == {
        "Arn": "arn:aws:lambda:us-east-1:000000000000:function:api-pipeline-fn",
        "OutputParameters": [{"Name": "Count", "Value": "10"}],
    }
    assert listed["Approve"]["Metadata"]["Callback"]["OutputParameters"] == [{"Name": "Score", "Value": "0.9"}]
    assert listed["Check"]["Metadata"]["Condition"]["Outcome"] == "True"
    with pytest.raises(ClientError) as late:
        sagemaker.send_pipeline_execution_step_failure(CallbackToken=body["token"], FailureReason="late")
    assert late.value.response["Error"]["Code"] == "ConflictException"


def test_a_callback_failed_through_the_api_fails_its_step(api: Api) -> None:
    sagemaker, arn, body = started_and_waiting(api, "CallbackFailedViaApi")
    sagemaker.send_pipeline_execution_step_failure(CallbackToken=body["token"], FailureReason="reviewer said no")
    assert finished(sagemaker, arn) == "Failed"
    assert steps(sagemaker, arn)["Approve"]["FailureReason"] == "reviewer said no"


def test_an_unknown_token_is_resource_not_found(api: Api) -> None:
    with pytest.raises(ClientError) as missing:
        api.client("sagemaker").send_pipeline_execution_step_success(CallbackToken="abcdefghij")  # type: ignore[attr-defined]
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"


def query(api: Api, **form: str) -> tuple[int, str]:
    """An SQS call in the query protocol, as botocore sent it before SQS moved to JSON (and between its revert)."""
    body = urllib.parse.urlencode({**form, "Version": "2012-11-05"}).encode()
    request = urllib.request.Request(
        f"{api.url}/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_sqs_answers_the_query_protocol_too(api: Api) -> None:
    status, created = query(api, Action="CreateQueue", QueueName="query-queue")
    assert (
        status == 200 and "<QueueUrl>https://sqs.us-east-1.amazonaws.com/000000000000/query-queue</QueueUrl>" in created
    )
    url = "https://sqs.us-east-1.amazonaws.com/000000000000/query-queue"
    status, sent = query(api, Action="SendMessage", QueueUrl=url, MessageBody="a <b> & c")
    assert status == 200 and "<MessageId>" in sent
    status, received = query(api, Action="ReceiveMessage", QueueUrl=url)
    assert status == 200 and "<Body>a &lt;b&gt; &amp; c</Body>" in received
    status, missing = query(api, Action="GetQueueUrl", QueueName="nowhere")
    assert (status == 400 and "<Code>" in missing and "QueueDoesNotExist" in missing) or "NonExistentQueue" in missing


SDK_LAMBDA = """\
import json, sys
import boto3
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.lambda_helper import Lambda

session = Session(boto_session=boto3.Session(), default_bucket="lambda-sdk-bucket")
function = Lambda(function_name="sdk-made", execution_role_arn=sys.argv[2], script=sys.argv[1], handler="fn.handler",
                  session=session)
first = function.upsert()["FunctionArn"]
again = function.upsert()["FunctionArn"]  # CreateFunction refused as existing, then UpdateFunctionCode
print(json.dumps({"arns": [first, again], "payload": json.loads(function.invoke()["Payload"].read())}))
"""


def test_the_sdks_lambda_helper_upserts_and_invokes_through_the_api(api: Api, tmp_path: Path) -> None:
    (tmp_path / "fn.py").write_text(DESCRIBE)
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    done = subprocess.run(
        [sys.executable, "-c", SDK_LAMBDA, str(tmp_path / "fn.py"), ROLE], text=True, capture_output=True, timeout=120,
        env=api.env(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["arns"] == ["arn:aws:lambda:us-east-1:000000000000:function:sdk-made"] * 2
    assert answer["payload"] == {
        "errorMessage": "'n'",
        "errorType": "KeyError",
        "stackTrace": answer["payload"]["stackTrace"],
    }
