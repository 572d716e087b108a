"""Unknown operations, malformed requests and foreign Host headers: AWS's error shape for the service, one line at
the caller, and the service still answering afterwards."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import REPO, Api, start_api, stop_api


def raw(
    api: Api, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    connection.request(method, path, body=body, headers={"Host": f"127.0.0.1:{api.port}", **(headers or {})})
    response = connection.getresponse()
    answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    connection.close()
    return answer


def sagemaker_target(operation: str) -> dict[str, str]:
    return {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"}


def test_an_operation_the_api_does_not_serve_is_named_in_the_service_s_own_code(api: Api) -> None:
    sagemaker: Any = api.client("sagemaker")
    with pytest.raises(ClientError) as caught:
        sagemaker.list_notebook_instances()
    error = caught.value.response["Error"]
    assert error["Code"] == "UnknownOperationException"
    assert "ListNotebookInstances" in error["Message"] and "not implemented by the local API" in error["Message"]
    sts: Any = api.client("sts")
    with pytest.raises(ClientError) as caught:
        sts.get_session_token()
    assert caught.value.response["Error"]["Code"] == "InvalidAction"
    assert "GetSessionToken" in caught.value.response["Error"]["Message"]
    logs: Any = api.client("logs")
    with pytest.raises(ClientError) as caught:
        logs.describe_log_groups()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"
    assert "DescribeLogGroups" in caught.value.response["Error"]["Message"]
    assert sts.get_caller_identity()["Account"]  # still up


def test_unknown_and_malformed_requests_on_the_wire(api: Api) -> None:
    status, headers, body = raw(api, "POST", "/", b"{}", sagemaker_target("Frobnicate"))
    assert status == 400 and json.loads(body)["__type"] == "UnknownOperationException"
    assert "Frobnicate" in json.loads(body)["Message"]
    status, _, body = raw(api, "POST", "/", b"{not json", sagemaker_target("DescribePipeline"))
    assert status == 400 and json.loads(body)["__type"] == "SerializationException"
    status, _, body = raw(api, "POST", "/", b"{}", sagemaker_target("DescribePipeline"))
    assert status == 400 and json.loads(body)["__type"] == "ValidationException"
    assert "Value null at 'pipelineName'" in json.loads(body)["Message"]
    status, _, body = raw(api, "POST", "/", b"[1, 2]", sagemaker_target("DescribePipeline"))
    assert status == 400 and json.loads(body)["__type"] == "SerializationException"
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    status, _, body = raw(api, "POST", "/", b"Action=Frobnicate&Version=2011-06-15", form)
    assert status == 400 and b"<Code>InvalidAction</Code>" in body and b"Frobnicate" in body
    status, _, body = raw(api, "PATCH", "/some-bucket/key")
    assert status == 501 and b"<Code>NotImplemented</Code>" in body
    status, headers, _ = raw(
        api, "POST", "/", b"", {**sagemaker_target("CreatePipeline"), "Content-Length": "999999999"}
    )
    assert status == 400 and headers.get("connection") == "close"
    assert raw(api, "GET", "/")[0] == 200  # still up


def test_a_request_for_another_host_is_refused(api: Api) -> None:
    for host in ("evil.example", f"evil.example:{api.port}", "127.0.0.1:1", f"localhost.evil.example:{api.port}"):
        status, _, body = raw(api, "GET", "/", headers={"Host": host})
        assert (status, body) == (403, b"Host header not allowed\n"), host
    for host in (f"localhost:{api.port}", f"[::1]:{api.port}", f"127.0.0.1:{api.port}"):
        assert raw(api, "GET", "/", headers={"Host": host})[0] == 200, host


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(["CreatePipeline", "StartPipelineExecution", "ListModelPackages", "DescribeEndpoint"]),
    body=st.one_of(
        st.binary(max_size=200),
        st.dictionaries(st.text(max_size=10), st.text(max_size=10)).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_any_body_gets_an_aws_error_or_an_answer_never_a_crash(api: Api, target: str, body: bytes) -> None:
    status, _, answer = raw(api, "POST", "/", body, sagemaker_target(target))
    assert status < 500, answer
    if status >= 400:
        assert json.loads(answer)["__type"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#?"), max_size=40),
    method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "POST"]),
)
def test_any_s3_path_gets_an_s3_answer_never_a_crash(api: Api, path: str, method: str) -> None:
    status, _, _ = raw(api, method, "/" + path.lstrip("/"))
    assert status < 500 or status == 501


def test_credentials_never_reach_the_log(tmp_path: Any) -> None:
    running = start_api(tmp_path / "home", log_level="DEBUG")
    try:
        s3: Any = running.client("s3")
        s3.create_bucket(Bucket="secret-check")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "secret-check", "Key": "k"})
        raw(running, "GET", url.split(str(running.port), 1)[1])
    finally:
        stderr = stop_api(running)
    assert "AKIDLOCALTEST" not in stderr and "local-secret-not-checked" not in stderr
    assert "X-Amz-Signature" not in stderr


def test_a_port_in_use_is_one_line_and_exit_code_2(tmp_path: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "showcase", "--home", str(tmp_path), "api", "--port", str(port)],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
