"""The staging test: send the registered test split through an endpoint and hold its answers to the package's metrics.

    python deploy/test_endpoint.py --endpoint-name crayon-showcase-endpoint-staging

For each production variant of the endpoint: the model package its model serves, that package's test split
(``CustomerMetadataProperties.TestData``) and registered MSE (``ModelMetrics.ModelQuality.Statistics``, the
evaluation report); the split is sent in batches through InvokeEndpoint (to that variant when there are several),
and the job fails unless the MSE measured agrees with the registered one within ``--mse-tolerance`` and the p99
of the requests' round trips is under ``--p99-latency-ms`` (``showcase.deployment.staging`` says why the
defaults are what they are). Locally, AWS_ENDPOINT_URL points all of it at ``showcase-local api``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from showcase.aws.boundary import client
from showcase.aws.registry import sagemaker_client
from showcase.aws.runtime import runtime_client
from showcase.aws.staging import invoke_batches, package_evidence, read_objects, served_variants
from showcase.cli.common import ArgumentParser, add_log_level, configure_logging, run_cli
from showcase.deployment import staging
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME
from showcase.errors import DeploymentCheckFailed, UsageError

logger = logging.getLogger(__name__)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="test_endpoint.py",
        description="Send the registered test split through an endpoint; fail unless its MSE and latency hold.",
    )
    parser.add_argument(
        "--endpoint-name", default=DEFAULT_ENDPOINT_NAME, help=f"endpoint to test (default: {DEFAULT_ENDPOINT_NAME})"
    )
    parser.add_argument(
        "--mse-tolerance",
        type=_positive,
        default=staging.DEFAULT_MSE_TOLERANCE,
        help=f"largest relative difference from the registered MSE (default: {staging.DEFAULT_MSE_TOLERANCE})",
    )
    parser.add_argument(
        "--p99-latency-ms",
        type=_positive,
        default=staging.DEFAULT_P99_LATENCY_MS,
        help=f"bound on the p99 of the requests' round trips (default: {staging.DEFAULT_P99_LATENCY_MS:g} ms)",
    )
    parser.add_argument(
        "--batch-rows",
        type=int,
        default=staging.DEFAULT_BATCH_ROWS,
        help=f"rows per request (default: {staging.DEFAULT_BATCH_ROWS})",
    )
    parser.add_argument("--model-package-arn", help="fail unless the endpoint serves this package")
    parser.add_argument("--test-data", help="S3 URI of the test split (default: the package's TestData)")
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_DEFAULT_REGION)")
    add_log_level(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.batch_rows < 1:
        raise UsageError(f"--batch-rows must be at least 1, got {args.batch_rows}")
    sagemaker, s3 = sagemaker_client(args.region), client("s3", region=args.region)
    runtime = runtime_client(region=args.region)
    variants = served_variants(sagemaker, args.endpoint_name)
    if args.model_package_arn and args.model_package_arn not in {v.package_arn for v in variants}:
        served = ", ".join(f"{v.name}: {v.package_arn}" for v in variants)
        raise DeploymentCheckFailed(
            f"endpoint {args.endpoint_name!r} serves {served}, not {args.model_package_arn}",
            endpoint_name=args.endpoint_name,
        )
    problems = []
    for variant in variants:
        uri, registered, report = package_evidence(sagemaker, s3, variant.package_arn, args.test_data)
        split = staging.parse_test_split(read_objects(s3, uri), uri)
        logger.debug("sending %d rows of %s to %s (variant %s)", len(split.rows), uri, args.endpoint_name, variant.name)
        target = variant.name if len(variants) > 1 else None
        predictions, latencies = invoke_batches(
            runtime, args.endpoint_name, staging.batches(split.rows, args.batch_rows), target
        )
        verdict = staging.judge(
            split,
            predictions,
            latencies,
            registered=registered,
            tolerance=args.mse_tolerance,
            p99_bound_ms=args.p99_latency_ms,
        )
        outcome = "failed" if verdict.problems else "passed"
        print(f"endpoint {args.endpoint_name} variant {variant.name} ({variant.package_arn}): {verdict.summary()}")
        print(f"staging test of variant {variant.name}: {outcome}")
        problems += [f"variant {variant.name}: {problem} (registered in {report})" for problem in verdict.problems]
    if problems:
        raise DeploymentCheckFailed(
            f"staging test of endpoint {args.endpoint_name!r} failed: {'; '.join(problems)}",
            endpoint_name=args.endpoint_name,
        )
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)
