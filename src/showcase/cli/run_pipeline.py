"""run_pipeline: build a pipeline definition, publish it, start it, wait, and report each step.

On SageMaker (the default) it uploads the pipeline's code, upserts the pipeline with the role,
description and tags, starts an execution and polls it. With ``--local`` the same definition runs
on this machine through the local runtime: no AWS account, no Docker.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from showcase.builder.cache import BuildCache
from showcase.builder.modules import Built, build_for_publishing, build_locally
from showcase.cli.common import (
    ArgumentParser,
    add_log_level,
    configure_logging,
    key_value_flag,
    kwargs_flag,
    run_cli,
    tags_flag,
)
from showcase.cli.report import StepChanges, print_execution, print_registrations
from showcase.errors import UsageError
from showcase.parameters import check_overrides
from showcase.reporting import ExecutionReport
from showcase.statuses import ExecutionStatus, StepStatus

logger = logging.getLogger(__name__)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="run_pipeline.py",
        description="Build a SageMaker pipeline definition from a Python module, publish (upsert) it, "
        "start an execution, wait for it and report each step. With --local, run it on this machine.",
    )
    parser.add_argument(
        "-n", "--module-name", required=True, help="module exposing get_pipeline(**kwargs), e.g. showcase.pipeline"
    )
    parser.add_argument(
        "-r", "--role-arn", help="IAM role ARN SageMaker uses to run the pipeline (required unless --local)"
    )
    parser.add_argument("-d", "--description", help="pipeline description")
    parser.add_argument(
        "-t", "--tags", type=tags_flag, default=[], help='JSON list of tags: [{"Key": "k", "Value": "v"}]'
    )
    parser.add_argument(
        "-k",
        "--kwargs",
        type=kwargs_flag,
        default={},
        help='JSON object of get_pipeline keyword arguments, e.g. {"region": "eu-west-1"}',
    )
    parser.add_argument(
        "-p",
        "--parameter",
        type=key_value_flag,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter for this execution (repeatable), e.g. MseThreshold=5.5",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=7200.0,
        help="seconds to wait for a SageMaker execution (default: 7200); a --local run goes on to its end",
    )
    parser.add_argument(
        "--poll", type=float, default=30.0, help="seconds between status checks on SageMaker (default: 30)"
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="start the execution and return without waiting (SageMaker only)"
    )
    parser.add_argument(
        "--local", action="store_true", help="run on this machine with the local runtime instead of SageMaker"
    )
    parser.add_argument("--home", help="local runtime state directory (default: $SHOWCASE_HOME or ./.showcase)")
    parser.add_argument("--quiet-definition", action="store_true", help="do not print the definition JSON")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="with --local: build the definition with the SDK even when the kept one is current (nothing it was "
        "built from has changed, or only code files it uploads, whose new content is patched in)",
    )
    add_log_level(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.local:
        built = _build_local(args)
    elif not args.role_arn:
        raise UsageError("-r/--role-arn is required to run on SageMaker (or pass --local to run on this machine)")
    else:
        built = build_for_publishing(args.module_name, dict(args.kwargs))
    name, definition, uploads = built.pipeline_name, built.definition, built.uploads
    parameters = check_overrides(definition, args.parameter)
    if not args.local:  # a local build says it in _build_local
        print(_how_built(built), file=sys.stderr)
    if not args.quiet_definition:
        print(json.dumps(definition, indent=2))
    sys.stdout.flush()

    registrations: list[dict[str, Any]] = []
    if args.local:
        from showcase.cli.local import stop_on_signals, stopped_line

        with stop_on_signals() as stop:
            report, registrations = _run_local(name, definition, uploads, parameters, args, stop)
        print_execution(report)
        print_registrations(registrations)
        if report.status == ExecutionStatus.STOPPED:
            print(f"error: {stopped_line(report.execution_id, stop)}", file=sys.stderr)
            return stop.exit_code
        if report.status != ExecutionStatus.SUCCEEDED:
            print(
                f"`showcase-local describe {report.execution_id}` shows its steps; after fixing the cause, "
                f"`showcase-local retry {report.execution_id}` runs the steps that did not succeed",
                file=sys.stderr,
            )
        return 0 if report.status == ExecutionStatus.SUCCEEDED else 1
    started = _run_on_sagemaker(name, definition, uploads, parameters, args)
    if started is None:
        return 0
    print_execution(started)
    print_registrations(registrations)
    return 0 if started.status == ExecutionStatus.SUCCEEDED else 1


def _build_local(args: Any) -> Built:
    """The definition for a local run: the one built last time while nothing it read has changed
    (``showcase.builder.cache``), else a build with no AWS (``showcase.builder.modules.build_locally``)."""
    from showcase import settings
    from showcase.local.digests import FileDigests

    config = settings.load(args.home)
    region = args.kwargs.get("region") or os.environ.get("AWS_DEFAULT_REGION") or config.region

    def build_now() -> Built:
        kwargs = dict(args.kwargs)
        return build_locally(args.module_name, kwargs, region=region, account=config.account, home=str(config.home))

    cache = BuildCache(config.home / "definitions", FileDigests(config.home / "digests.json"))
    request = {"module": args.module_name, "kwargs": args.kwargs, "region": region, "account": config.account}
    built = cache.build(request, build_now, rebuild=args.rebuild)
    print(_how_built(built), file=sys.stderr)
    return built


def _how_built(built: Built) -> str:
    """One line: the definition reused (with what patched in) or built, with which SDK, where, and why again."""
    sdk = f"SageMaker Python SDK {built.sdk}"
    head = f"definition of {built.pipeline_name}:"
    if built.patched:
        return (
            f"{head} reused with the new {', '.join(built.patched)} in its uploads and the S3 URIs named after its "
            f"hash ({sdk}); nothing else it was built from has changed (--rebuild builds it)"
        )
    if built.cached:
        return f"{head} reused ({sdk}), nothing it was built from has changed (--rebuild builds it)"
    where = f" in the SDK v2 environment, as {built.sdk_v2_because}" if built.sdk_v2_because else ""
    again = f"; built again, {built.rebuilt_because}" if built.rebuilt_because else ""
    return f"{head} built with the {sdk}{where}{again}"


def _run_on_sagemaker(
    name: str, definition: dict[str, Any], uploads: dict[str, bytes], parameters: dict[str, str], args: Any
) -> ExecutionReport | None:
    from showcase.aws import pipelines
    from showcase.aws.boundary import client

    region = args.kwargs.get("region") or os.environ.get("AWS_DEFAULT_REGION")
    sagemaker = client("sagemaker", region=region)
    pipelines.upload_code(client("s3", region=region), uploads)
    arn = pipelines.upsert_pipeline(
        sagemaker,
        name=name,
        definition=json.dumps(definition),
        role_arn=args.role_arn,
        description=args.description,
        tags=args.tags,
    )
    print(f"pipeline {arn} published", file=sys.stderr)
    execution_arn = pipelines.start_execution(sagemaker, name=name, parameters=parameters)
    print(f"execution {execution_arn} started", file=sys.stderr)
    if args.no_wait:
        return None
    described = pipelines.wait_for_execution(
        sagemaker, execution_arn, timeout=args.timeout, poll=args.poll, on_steps=StepChanges()
    )
    steps = pipelines.list_steps(sagemaker, execution_arn) or []
    return ExecutionReport(
        execution_id=execution_arn,
        status=described["PipelineExecutionStatus"],
        failure_reason=described.get("FailureReason", ""),
        steps=tuple(steps),
    )


def _run_local(
    name: str,
    definition: dict[str, Any],
    uploads: dict[str, bytes],
    parameters: dict[str, str],
    args: Any,
    stop: Any = None,
) -> tuple[ExecutionReport, list[dict[str, Any]]]:
    """Run on the local runtime (``stop``: a StopRequest, made by Ctrl-C); also return the model packages the
    execution registered."""
    from showcase import settings
    from showcase.cli.local import run_with_progress
    from showcase.registry import Registry

    config = settings.load(args.home)
    record = run_with_progress(
        definition, pipeline_name=name, parameters=parameters, uploads=uploads, settings=config, stop=stop
    )
    arns = [
        step.properties["ModelPackageArn"]
        for step in record.steps
        if step.status == StepStatus.SUCCEEDED and "ModelPackageArn" in (step.properties or {})
    ]
    registry = Registry.from_settings(config)
    registrations = [
        {
            **registry.describe_model_package(ModelPackageName=arn),
            **registry.describe_model_package_extras(ModelPackageName=arn),
        }
        for arn in arns
    ]
    return record.report(), registrations


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


if __name__ == "__main__":
    sys.exit(entry())
