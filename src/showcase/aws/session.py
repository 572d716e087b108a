"""A PipelineSession that builds a definition with no network and no credentials.

The SDK's own ``PipelineSession`` asks STS for the account (to name the default bucket), uploads
processing code to S3 while the definition is being built, and sends telemetry. This session does
none of that: the default bucket is given, and code uploads are recorded in ``pending_uploads``
(S3 URI -> bytes) for the publisher to write where the pipeline will run — S3 on AWS, the local
object store for the local runtime — right before the definition is published.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from sagemaker.core.workflow.pipeline_context import PipelineSession

logger = logging.getLogger(__name__)

# No retries and short timeouts: nothing in definition building should reach the network at all,
# and if something does, it must fail at once instead of hanging on a closed network.
_OFFLINE_CLIENT_CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)


def _disable_sdk_telemetry() -> None:
    """The SDK sends a telemetry GET per decorated call; the definition build must stay offline."""
    from sagemaker.core.telemetry import telemetry_logging

    def no_telemetry(*_args: Any, **_kwargs: Any) -> None:
        return None

    telemetry_logging._send_telemetry_request = no_telemetry


class DefinitionSession(PipelineSession):
    """PipelineSession for building definitions offline; uploads are deferred to publishing."""

    def __init__(self, region: str, default_bucket: str) -> None:
        _disable_sdk_telemetry()
        # Building a definition is the point of this session; the SDK warns that no job starts.
        warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)
        boto_session = boto3.Session(region_name=region)
        super().__init__(
            boto_session=boto_session,
            sagemaker_client=boto_session.client("sagemaker", config=_OFFLINE_CLIENT_CONFIG),
            default_bucket=default_bucket,
            sagemaker_config={},
        )
        self._bucket = default_bucket
        self.pending_uploads: dict[str, bytes] = {}

    def default_bucket(self) -> str:
        return self._bucket

    def upload_data(
        self,
        path: str,
        bucket: str | None = None,
        key_prefix: str = "data",
        callback: Any = None,
        extra_args: Any = None,
    ) -> str:
        bucket = bucket or self._bucket
        source = Path(path)
        if source.is_dir():
            for file in sorted(p for p in source.rglob("*") if p.is_file()):
                key = f"{key_prefix}/{file.relative_to(source).as_posix()}"
                self.pending_uploads[f"s3://{bucket}/{key}"] = file.read_bytes()
            return f"s3://{bucket}/{key_prefix}"
        uri = f"s3://{bucket}/{key_prefix}/{source.name}"
        self.pending_uploads[uri] = source.read_bytes()
        return uri

    def upload_string_as_file_body(self, body: str | bytes, bucket: str, key: str, kms_key: str | None = None) -> str:
        uri = f"s3://{bucket}/{key}"
        self.pending_uploads[uri] = body.encode("utf-8") if isinstance(body, str) else body
        return uri


def offline_environment() -> dict[str, str]:
    """Environment values that keep botocore from probing for credentials while building.

    Only fills what is missing: real credentials in the environment are left as they are.
    """
    values = {}
    if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        values = {"AWS_ACCESS_KEY_ID": "offline", "AWS_SECRET_ACCESS_KEY": "offline"}
    values.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    values.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    return values
