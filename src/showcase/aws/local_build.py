"""Importing and building any pipeline module on this machine: no credentials, no region, no network.

A pipeline module written for SageMaker (AWS's MLOps project template, say) makes its own
``boto3.Session``, ``Session`` and ``PipelineSession``; the SDK builds boto3 clients when it is
imported, uploads code while steps are built, checks the default bucket, and sends telemetry.
``local_build`` prepares the process for all of that *before* the module is imported, and undoes it
afterwards:

- the environment: the region, placeholder credentials (the user's own are hidden, as are their
  profile and config files), no instance-metadata probe, ``SAGEMAKER_VALIDATE_ROLE=false``;
- the SDK's telemetry is switched off (it would reach the network outside botocore);
- every botocore client created meanwhile — the SDK's and the module's own — answers locally, through
  botocore's ``before-parameter-build`` and ``before-call`` events: S3 object writes (``PutObject``, the
  multipart calls ``upload_file`` makes) are kept in ``LocalBuild.uploads`` for the local object store;
  bucket checks succeed (every bucket exists locally); ``sts:GetCallerIdentity`` names the local account.
  Every other call fails as AWS would fail it, with a ``ClientError`` (code ``LocalBuildUnsupported``)
  naming the call; the SDK handles it where it handles AWS's refusals, and when it escapes the build,
  ``local_build`` turns it into one line naming the calls.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from showcase.aws.environment import scoped_environment
from showcase.errors import UsageError

REFUSED_CODE = "LocalBuildUnsupported"

# Set for the build, restored afterwards. Credentials are placeholders: a local build must never sign
# with the user's real ones, nor look for them (profile, SSO, instance metadata).
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local-build",
    "AWS_SECRET_ACCESS_KEY": "local-build",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_HIDDEN = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")


@dataclass
class LocalBuild:
    """What a build did: the objects it wrote (S3 URI -> bytes) and the AWS calls it was refused."""

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
            return 200, handler(self, params)


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
    return {"Account": build.account, "Arn": f"arn:aws:iam::{build.account}:root", "UserId": build.account}


_ANSWERS = {
    ("s3", "PutObject"): _put_object,
    ("s3", "CreateMultipartUpload"): _create_multipart,
    ("s3", "UploadPart"): _upload_part,
    ("s3", "CompleteMultipartUpload"): _complete_multipart,
    ("s3", "AbortMultipartUpload"): _abort_multipart,
    ("s3", "HeadBucket"): lambda build, params: {},
    ("s3", "CreateBucket"): lambda build, params: {"Location": f"/{params['Bucket']}"},
    ("s3", "ListBuckets"): _list_buckets,
    ("sts", "GetCallerIdentity"): _caller_identity,
}
"""The calls a local build answers; anything else is refused."""


class _Interceptor:
    """botocore event handlers registered on every client created while a build is active.

    The handlers stay on the clients (an SDK module keeps the clients it made at import time) and do
    nothing once no build is active.
    """

    active: LocalBuild | None = None
    _CONTEXT_KEY = "showcase_local_build"

    def parameters(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.active is not None:
            context[self._CONTEXT_KEY] = dict(params)

    def call(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        build = self.active
        if build is None:
            return None
        service = model.service_model.service_id.hyphenize()
        status, parsed = build.answer(service, model.name, context.get(self._CONTEXT_KEY, {}))
        parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse("https://local-build.invalid", status, {}, None), parsed


_INTERCEPTOR = _Interceptor()
_ORIGINAL_CREATE_CLIENT = botocore.session.Session.create_client


def _create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
    client = _ORIGINAL_CREATE_CLIENT(self, *args, **kwargs)
    if _INTERCEPTOR.active is not None:
        client.meta.events.register("before-parameter-build", _INTERCEPTOR.parameters, "showcase-local-build-params")
        client.meta.events.register("before-call", _INTERCEPTOR.call, "showcase-local-build-call")
    return client


def _refused_in(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError) and seen.response.get("Error", {}).get("Code") == REFUSED_CODE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def _telemetry_off() -> Iterator[None]:
    from sagemaker.core.telemetry import telemetry_logging

    def no_telemetry(*_args: Any, **_kwargs: Any) -> None:
        return None

    original = telemetry_logging._send_telemetry_request
    telemetry_logging._send_telemetry_request = no_telemetry
    try:
        yield
    finally:
        telemetry_logging._send_telemetry_request = original


def _environment(region: str) -> dict[str, str | None]:
    """The build's environment changes: placeholders set, the user's own AWS settings hidden."""
    return {**_ENVIRONMENT, "AWS_DEFAULT_REGION": region, "AWS_REGION": region, **dict.fromkeys(_HIDDEN)}


@contextmanager
def local_build(region: str, account: str) -> Iterator[LocalBuild]:
    """Import and build a pipeline module inside this block; it neither fails for want of AWS nor reaches it.

    Not re-entrant, and one build at a time per process. A ``UsageError`` naming the refused calls
    replaces any exception that a refused call caused.
    """
    if _INTERCEPTOR.active is not None:
        raise RuntimeError("local_build is already active in this process")
    build = LocalBuild(region=region, account=account)
    with scoped_environment(_environment(region)):
        botocore.session.Session.create_client = _create_client
        _INTERCEPTOR.active = build
        try:
            with _telemetry_off(), warnings.catch_warnings():
                # Building is the point; the SDK warns that no job starts within a PipelineSession.
                warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)
                yield build
        except Exception as exc:
            if _refused_in(exc):
                raise UsageError(
                    f"building the pipeline made AWS calls a local build cannot answer ({', '.join(build.refused)}); "
                    "only S3 uploads, bucket checks and sts:GetCallerIdentity are answered locally: pass what the "
                    "module looks up (a role ARN, a default bucket) with -k/--kwargs"
                ) from None
            raise
        finally:
            _INTERCEPTOR.active = None
            botocore.session.Session.create_client = _ORIGINAL_CREATE_CLIENT
