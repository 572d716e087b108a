"""A PipelineSession that builds a definition with no network and no credentials.

The SDK's own ``PipelineSession`` asks STS for the account (to name the default bucket), uploads
processing code to S3 while the definition is being built. This session does neither: the default
bucket is given, and code uploads are recorded in ``pending_uploads`` (S3 URI -> bytes) for the
publisher to write where the pipeline will run — S3 on AWS, the local object store for the local
runtime — right before the definition is published. The rest of what keeps a build offline (a region,
no instance-metadata probe, no telemetry) is ``showcase.builder.offline.offline_build``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from sagemaker.core.workflow.pipeline_context import PipelineSession

logger = logging.getLogger(__name__)

# No retries and short timeouts: nothing in definition building should reach the network at all,
# and if something does, it must fail at once instead of hanging on a closed network.
_OFFLINE_CLIENT_CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)


class DefinitionSession(PipelineSession):
    """PipelineSession for building definitions offline; uploads are deferred to publishing."""

    def __init__(self, region: str, default_bucket: str) -> None:
        # This session only builds; publishing uses clients of its own. Placeholder credentials
        # keep botocore from searching for real ones (and probing the instance metadata endpoint).
        boto_session = boto3.Session(
            region_name=region, aws_access_key_id="definition-only", aws_secret_access_key="definition-only"
        )
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
