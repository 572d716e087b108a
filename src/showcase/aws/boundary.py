"""Where botocore's exceptions become this project's: one context manager for every AWS call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from showcase.errors import AwsError, UsageError


@contextmanager
def aws_call(operation: str) -> Iterator[None]:
    """Translate botocore errors raised inside the block into AwsError (or UsageError for set-up mistakes).

    ``operation`` says what was being done, e.g. ``"ListModelPackages for group 'g'"``.
    """
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(f"{operation} failed: {error.get('Code', 'error')}: {error.get('Message', str(exc))}") from exc
    except NoRegionError as exc:
        raise UsageError(f"{operation}: no AWS region; pass --region or set AWS_DEFAULT_REGION") from exc
    except NoCredentialsError as exc:
        raise UsageError(
            f"{operation}: no AWS credentials; configure a profile or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from exc
    except BotoCoreError as exc:
        raise AwsError(f"{operation} failed: {exc}") from exc


def client(service: str, *, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 client; ``region`` and ``endpoint_url`` of None leave boto3's lookup (env, config) alone."""
    with aws_call(f"creating a {service} client"):
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)
