"""STS and IAM answer as for a SageMaker execution role: boto3's calls and the SDK v3's own role resolution."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import Api, start_api, stop_api


def test_the_caller_is_an_assumed_execution_role_that_sagemaker_may_assume(api: Api) -> None:
    sts: Any = api.client("sts")
    identity = sts.get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:sts::000000000000:assumed-role/showcase-local-execution/SageMaker"
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(":SageMaker")
    iam: Any = api.client("iam")
    role = iam.get_role(RoleName="showcase-local-execution")["Role"]
    assert role["Arn"] == "arn:aws:iam::000000000000:role/showcase-local-execution"
    trust = role["AssumeRolePolicyDocument"]  # sent URL-encoded, as IAM does; botocore decodes it
    statement = trust["Statement"][0]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert statement["Principal"]["Service"] == "sagemaker.amazonaws.com"
    studio = iam.get_role(RoleName="AmazonSageMaker-ExecutionRole-20240101T000000")["Role"]
    assert studio["Path"] == "/service-role/"
    assert studio["Arn"] == "arn:aws:iam::000000000000:role/service-role/AmazonSageMaker-ExecutionRole-20240101T000000"


def test_a_role_name_iam_refuses_is_a_validation_error(api: Api) -> None:
    iam: Any = api.client("iam")
    with pytest.raises(ClientError) as caught:
        iam.get_role(RoleName="no spaces/allowed")
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_the_role_name_and_account_are_configurable(tmp_path: Any) -> None:
    running = start_api(tmp_path, "--role-name", "TeamRole", env={"SHOWCASE_ACCOUNT": "123456789012"})
    try:
        sts: Any = running.client("sts")
        assert sts.get_caller_identity()["Arn"] == "arn:aws:sts::123456789012:assumed-role/TeamRole/SageMaker"
    finally:
        stop_api(running)


@pytest.mark.parametrize("role_type", ["pipeline", "training"])
def test_the_sdk_v3_resolves_and_validates_the_caller_s_role(
    api: Api, monkeypatch: pytest.MonkeyPatch, role_type: str
) -> None:
    """The SDK's own resolver: caller identity -> GetRole -> SimulatePrincipalPolicy (training) -> trust check."""
    from sagemaker.core.helper.iam_role_resolver import resolve_and_validate_role

    for name, value in api.env(SAGEMAKER_VALIDATE_ROLE="true").items():
        if name.startswith(("AWS_", "SAGEMAKER_")):
            monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    arn = resolve_and_validate_role(role_type=role_type)
    assert arn == "arn:aws:iam::000000000000:role/showcase-local-execution"
