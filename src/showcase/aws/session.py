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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from sagemaker.core.workflow.pipeline_context import PipelineSession

from showcase.aws.environment import scoped_environment

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


@contextmanager
def offline_build(region: str) -> Iterator[None]:
    """Build a definition inside this block: the SDK neither fails nor reaches the network.

    Everything the block changes is put back when it ends, so that publishing afterwards in the same
    process finds credentials, region and telemetry as the user configured them:

    - Importing ``sagemaker.mlops`` builds boto3 clients, which need a region (``AWS_DEFAULT_REGION``,
      unless one is set); the SDK validates the role with IAM unless ``SAGEMAKER_VALIDATE_ROLE`` is false.
    - Building steps makes more clients (the SDK's local-mode client, for one), and each looks for
      credentials, probing the EC2 instance metadata endpoint when none are configured
      (``AWS_EC2_METADATA_DISABLED``).
    - The SDK sends a telemetry request per decorated call, with a session of its own when the call has
      none, so its sender is replaced for the block.
    - Building a definition is the point; the SDK's warning that no job starts within a PipelineSession
      is silenced for the block.
    """
    defaults = {"AWS_DEFAULT_REGION": region, "SAGEMAKER_VALIDATE_ROLE": "false"}
    changes = {name: value for name, value in defaults.items() if name not in os.environ}
    changes["AWS_EC2_METADATA_DISABLED"] = "true"
    with scoped_environment(changes):
        from sagemaker.core.telemetry import telemetry_logging

        sender = telemetry_logging._send_telemetry_request
        telemetry_logging._send_telemetry_request = _no_telemetry
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)
                yield
        finally:
            telemetry_logging._send_telemetry_request = sender


def _no_telemetry(*_args: Any, **_kwargs: Any) -> None:
    return None
