"""The AWS API on loopback: S3, SageMaker, SageMaker Runtime, STS, IAM, CloudFormation, CloudWatch alarms,
Lambda and SQS over the local home.

``showcase-local api`` serves this package's ASGI app on ``127.0.0.1:4566``; with ``AWS_ENDPOINT_URL`` pointing
there, boto3, the AWS CLI and the SageMaker SDK work unchanged against the same home (object store, registry,
executions, endpoints) every other command uses.

How a request flows, one module per concern::

    app         ASGI: the Host check, the body (streamed for PutObject/UploadPart), the error boundary,
                the response (streamed from a file for GetObject)
    wire        the protocols, from botocore's own service models through moto's protocol layer: which
                service (SigV4 credential scope, X-Amz-Target, the form's Action, the path), which operation
                (moto's routers), its parameters (moto's parsers), the answer (moto's serializers)
    errors      ApiError: AWS's error code, message and HTTP status; ShowcaseError -> ApiError at one place
    hosts       which Host headers the service answers (loopback names, ``<bucket>.localhost``)
    operations  the table {(service, operation): handler}; anything not in it is the service's own
                "unknown operation" error naming the operation
    state       what every handler gets (``Call``) and returns (``Reply``); the home and the processes started
    listing     SageMaker's List* conventions: time filters, sort, MaxResults and NextToken

The handlers return the shapes the runtime already produces; they are the only hand-written part:

    s3_buckets, s3_objects, s3_multipart    S3 over ``showcase.store.ObjectStore`` (objects are its files)
    identity                                STS GetCallerIdentity, IAM GetRole and SimulatePrincipalPolicy
    pipelines, tags                         Create/Update/Describe/List/DeletePipeline (``<home>/pipelines/``); tags
    executions, runner, steps               StartPipelineExecution runs ``showcase.local`` in a runner process of
                                            its own; ``steps`` maps the local statuses to SageMaker's, in one place
    jobs                                    Describe{Processing,Training,HyperParameterTuning,Transform}Job
    registry                                model package groups, packages and models (``showcase.registry``)
    endpoints, endpoint_processes, runtime  endpoint configs and endpoints (``showcase-endpoint`` processes),
                                            InvokeEndpoint forwarded to the endpoint's own server
    monitoring_schedules                    Model Monitor job definitions and schedules, as records
    cloudwatch                              metric alarms (``showcase.deployment.alarms``' records)
    cloudformation                          change sets and stack operations over the handlers above

Signatures are not verified (any credentials work) and credentials are never logged or stored. Nothing below
``showcase.cli`` imports this package.
"""

from __future__ import annotations

from showcase.api.app import create_app
from showcase.api.state import Identity

__all__ = ["Identity", "create_app"]
