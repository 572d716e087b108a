"""The operations the local API serves: ``{(service, operation): handler}``, one table built from each module's.

An operation not in the table is answered with the service's own unknown-operation error naming it
(``errors.unknown_operation``). ``STREAMED`` names the operations whose request body the handler reads as it
arrives (``Call.stream``) instead of the app reading it whole first.
"""

from __future__ import annotations

from collections.abc import Mapping

from showcase.api import (
    callbacks,
    cloudformation,
    cloudwatch,
    endpoints,
    executions,
    identity,
    jobs,
    lambda_functions,
    monitoring_schedules,
    pipelines,
    registry,
    runtime,
    s3_buckets,
    s3_multipart,
    s3_objects,
    sqs,
    tags,
)
from showcase.api.state import Handler

STREAMED = frozenset({"PutObject", "UploadPart"})


def _table(*parts: tuple[str, Mapping[str, Handler]]) -> dict[tuple[str, str], Handler]:
    table: dict[tuple[str, str], Handler] = {}
    for service, handlers in parts:
        for operation, handler in handlers.items():
            if (service, operation) in table:
                raise ValueError(f"{service} {operation} has two handlers")
            table[service, operation] = handler
    return table


OPERATIONS = _table(
    ("s3", s3_buckets.OPERATIONS),
    ("s3", s3_objects.OPERATIONS),
    ("s3", s3_multipart.OPERATIONS),
    ("sts", identity.STS_OPERATIONS),
    ("iam", identity.IAM_OPERATIONS),
    ("sagemaker", pipelines.OPERATIONS),
    ("sagemaker", executions.OPERATIONS),
    ("sagemaker", jobs.OPERATIONS),
    ("sagemaker", registry.OPERATIONS),
    ("sagemaker", endpoints.OPERATIONS),
    ("sagemaker", tags.OPERATIONS),
    ("sagemaker", monitoring_schedules.OPERATIONS),
    ("sagemaker", callbacks.OPERATIONS),
    ("sagemaker-runtime", runtime.OPERATIONS),
    ("cloudformation", cloudformation.OPERATIONS),
    ("cloudwatch", cloudwatch.OPERATIONS),
    ("lambda", lambda_functions.OPERATIONS),
    ("sqs", sqs.OPERATIONS),
)
