"""Fail unless the endpoint serves the endpoint config the stack just made, and is InService.

    python deploy/check_endpoint.py --stack-name STACK --endpoint-name NAME

Run it after ``aws cloudformation deploy`` and ``aws sagemaker wait endpoint-in-service``: an update that
CloudFormation rolled back leaves the old config serving, and this check turns that into a failed job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from showcase.aws.cloudformation import cloudformation_client, describe_endpoint, describe_stack
from showcase.aws.registry import sagemaker_client
from showcase.cli.common import ArgumentParser, add_log_level, configure_logging, run_cli
from showcase.deployment.check import stack_outputs, verify_deployment

logger = logging.getLogger(__name__)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="check_endpoint.py",
        description="Check that a deployed endpoint serves the endpoint config its stack made.",
    )
    parser.add_argument("--stack-name", required=True, help="CloudFormation stack of the endpoint")
    parser.add_argument(
        "--endpoint-name",
        default=None,
        help="endpoint the stack must manage (default: whatever its EndpointName output names)",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_DEFAULT_REGION)")
    add_log_level(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)

    stack = describe_stack(cloudformation_client(args.region), args.stack_name)
    endpoint_name = args.endpoint_name or stack_outputs(stack).get("EndpointName", "")
    endpoint = describe_endpoint(sagemaker_client(args.region), endpoint_name) if endpoint_name else {}
    config_name = verify_deployment(stack, endpoint, expected_endpoint_name=args.endpoint_name)
    print(f"endpoint {endpoint['EndpointName']} is InService with endpoint config {config_name}")
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)
