"""The AWS calls a local build answers itself, and what they leave behind.

Every botocore client created during a local build (``offline.offline_build`` with ``answer_locally``) sends
its calls here instead of to AWS. S3 object writes (``PutObject``, the multipart calls ``upload_file``
makes) are kept in ``LocalBuild.uploads`` for the local object store; bucket checks succeed (every bucket
exists locally). The caller is the local runtime's execution role, assumed as in SageMaker Studio:
``sts:GetCallerIdentity`` answers ``arn:aws:sts::<account>:assumed-role/<role>/SageMaker`` and ``iam:GetRole``
answers a SageMaker execution role for any name (as the local API does, ``showcase.api.identity``), so
``get_execution_role()`` of either SDK returns ``showcase.settings.execution_role_arn``, the role a local run
passes to ``get_pipeline``. Lambda's ``CreateFunction`` and ``UpdateFunctionCode`` (the SDK's ``Lambda`` helper
calls them while a ``LambdaStep`` builds its definition) keep the function's configuration and code among the
uploads, where the local runtime's Lambda step finds them (``showcase.functions``): the code sent as
``Code.ZipFile``, or the object of ``Code.S3Bucket``/``S3Key`` the build uploaded (``zipped_code_dir``). Every
other call is refused as AWS refuses one, with an error response (code
``LocalBuildUnsupported``) naming the call, which botocore raises as a ``ClientError``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from showcase import functions
from showcase.errors import ShowcaseError
from showcase.settings import EXECUTION_ROLE_NAME, ROLE_SESSION_NAME, assumed_role_arn

REFUSED_CODE = "LocalBuildUnsupported"


@dataclass
class LocalBuild:
    """What a local build did: the objects it wrote (S3 URI -> bytes) and the AWS calls it was refused."""

    region: str
    account: str
    uploads: dict[str, bytes] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    _parts: dict[str, dict[int, bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, service: str, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The HTTP status and parsed response for one API call made during the build."""
        handler = _ANSWERS.get((service, operation))
        if handler is None:
            call = f"{service}:{operation}"
            with self._lock:
                if call not in self.refused:
                    self.refused.append(call)
            message = f"{call} is an AWS call a local build cannot make"
            return 400, {"Error": {"Code": REFUSED_CODE, "Message": message}}
        with self._lock:
            try:
                return 200, handler(self, params)
            except ShowcaseError as exc:
                return 400, {"Error": {"Code": "InvalidParameterValueException", "Message": str(exc)}}


def _body(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes(value.read())


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def _put_object(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    data = _body(params.get("Body"))
    build.uploads[f"s3://{params['Bucket']}/{params['Key']}"] = data
    return {"ETag": _etag(data)}


def _create_multipart(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    upload_id = uuid.uuid4().hex
    build._parts[upload_id] = {}
    return {"Bucket": params["Bucket"], "Key": params["Key"], "UploadId": upload_id}


def _upload_part(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    data = _body(params.get("Body"))
    build._parts[params["UploadId"]][int(params["PartNumber"])] = data
    return {"ETag": _etag(data)}


def _complete_multipart(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    parts = build._parts.pop(params["UploadId"])
    data = b"".join(parts[number] for number in sorted(parts))
    uri = f"s3://{params['Bucket']}/{params['Key']}"
    build.uploads[uri] = data
    return {"Bucket": params["Bucket"], "Key": params["Key"], "ETag": _etag(data), "Location": uri}


def _abort_multipart(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    build._parts.pop(params["UploadId"], None)
    return {}


def _list_buckets(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    return {"Buckets": [], "Owner": {"ID": build.account}}


def _caller_identity(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    arn = assumed_role_arn(build.account)
    return {"Account": build.account, "Arn": arn, "UserId": f"{_role_id(EXECUTION_ROLE_NAME)}:{ROLE_SESSION_NAME}"}


def _role_id(name: str) -> str:
    """A stable IAM-style unique role id (``AROA`` and 17 characters) for a role name."""
    return "AROA" + hashlib.sha256(name.encode()).hexdigest()[:17].upper()


def _get_role(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    """A SageMaker execution role by that name (the path SageMaker's console gives the roles it makes)."""
    name = str(params["RoleName"])
    path = "/service-role/" if name.startswith("AmazonSageMaker-ExecutionRole") else "/"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return {
        "Role": {
            "Path": path,
            "RoleName": name,
            "RoleId": _role_id(name),
            "Arn": f"arn:aws:iam::{build.account}:role{path}{name}",
            "CreateDate": datetime(2024, 1, 1, tzinfo=timezone.utc),
            "AssumeRolePolicyDocument": quote(json.dumps(trust)),
            "MaxSessionDuration": 3600,
        }
    }


def _create_function(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    ref = functions.reference(params["FunctionName"], build.region, build.account)
    config = functions.configuration(ref, _function_code(build, params.get("Code") or {}), params)
    build.uploads.update(functions.documents(config, _function_code(build, params.get("Code") or {})))
    return {key: value for key, value in config.items() if key != "CodeUri"}


def _update_function_code(build: LocalBuild, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateFunctionCode keeps the configuration the function was created with in this build."""
    ref = functions.reference(params["FunctionName"], build.region, build.account)
    created = build.uploads.get(ref.configuration_uri)
    if created is None:
        raise ShowcaseError(
            f"Lambda function {ref.name} was not created in this build: a local build keeps the code of functions "
            "the module creates (Lambda(function_name=..., script=... or zipped_code_dir=..., handler=...))"
        )
    return _create_function(build, {**json.loads(created), **params, "Code": params})


def _function_code(build: LocalBuild, code: dict[str, Any]) -> bytes:
    if code.get("ZipFile") is not None:
        return _body(code["ZipFile"])
    uri = f"s3://{code.get('S3Bucket')}/{code.get('S3Key')}"
    if uri not in build.uploads:
        raise ShowcaseError(
            f"the function's code {uri} is not an object this build uploaded: a local build keeps only code it "
            "uploads itself (give the Lambda helper script= or zipped_code_dir=)"
        )
    return build.uploads[uri]


_ANSWERS: dict[tuple[str, str], Callable[[LocalBuild, dict[str, Any]], dict[str, Any]]] = {
    ("s3", "PutObject"): _put_object,
    ("s3", "CreateMultipartUpload"): _create_multipart,
    ("s3", "UploadPart"): _upload_part,
    ("s3", "CompleteMultipartUpload"): _complete_multipart,
    ("s3", "AbortMultipartUpload"): _abort_multipart,
    ("s3", "HeadBucket"): lambda build, params: {},
    ("s3", "CreateBucket"): lambda build, params: {"Location": f"/{params['Bucket']}"},
    ("s3", "ListBuckets"): _list_buckets,
    ("sts", "GetCallerIdentity"): _caller_identity,
    ("iam", "GetRole"): _get_role,
    ("lambda", "CreateFunction"): _create_function,
    ("lambda", "UpdateFunctionCode"): _update_function_code,
}
"""The calls a local build answers; anything else is refused."""
