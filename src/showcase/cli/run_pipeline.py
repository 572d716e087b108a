"""run_pipeline: build a pipeline definition, publish it, start it, wait, and report each step; and ``showcase run``.

On SageMaker (the default) it uploads the pipeline's code, upserts the pipeline with the role,
description and tags, starts an execution and polls it, printing the definition first (as the seed always
did). With ``--local`` the same definition runs on this machine through the local runtime: no AWS account,
no Docker; the first line then sums the definition up (its steps, a digest, where the execution keeps it),
and ``--print-definition`` (or ``--log-level DEBUG``) prints it whole.

``showcase run`` is ``run_pipeline.py --local`` under the one command's conventions (``--json`` included).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from showcase.builder.cache import BuildCache
from showcase.builder.modules import Built, build_for_publishing, build_locally
from showcase.cli.common import (
    ArgumentParser,
    Context,
    add_log_level,
    add_pickles_flag,
    apply_pickles_flag,
    configure_logging,
    key_value_flag,
    kwargs_flag,
    run_cli,
    tags_flag,
)
from showcase.cli.lambdas import add_lambda_flags, mapped_functions
from showcase.cli.local import add_parameter_flag
from showcase.cli.output import Output
from showcase.cli.report import StepChanges, print_execution
from showcase.errors import UsageError
from showcase.parameters import check_overrides
from showcase.reporting import ExecutionReport
from showcase.statuses import ExecutionStatus, StepStatus

DEFAULT_MODULE = "showcase.pipeline"

logger = logging.getLogger(__name__)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="run_pipeline.py",
        description="Build a SageMaker pipeline definition from a Python module, publish (upsert) it, "
        "start an execution, wait for it and report each step. With --local, run it on this machine.",
    )
    parser.add_argument(
        "-n", "--module-name", required=True, type=module_name_flag,
        help="module exposing get_pipeline(**kwargs), e.g. showcase.pipeline",
    )  # fmt: skip
    parser.add_argument(
        "-r", "--role-arn", help="IAM role ARN SageMaker uses to run the pipeline (required unless --local)"
    )
    parser.add_argument("-d", "--description", help="pipeline description")
    parser.add_argument(
        "-t", "--tags", type=tags_flag, default=[], help='JSON list of tags: [{"Key": "k", "Value": "v"}]'
    )
    _add_kwargs(parser, '{"region": "eu-west-1"}')
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
    parser.add_argument(
        "--quiet-definition", action="store_true", help="do not print the definition JSON (on SageMaker; a --local "
        "run prints it only with --print-definition)",
    )  # fmt: skip
    _add_local_build_flags(parser)
    add_log_level(parser)
    return parser


def _add_kwargs(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument(
        "-k",
        "--kwargs",
        type=kwargs_flag,
        default={},
        metavar="JSON",
        help=f"JSON object of get_pipeline keyword arguments, checked against its signature, e.g. '{example}'",
    )


def _add_local_build_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="build the definition with the SDK even when the kept one is current (nothing it was "
        "built from has changed, or only code files it uploads, whose new content is patched in)",
    )
    parser.add_argument(
        "--print-definition", action="store_true", help="print the whole definition JSON (on stderr) before it runs"
    )
    add_pickles_flag(parser)


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase run``: build a pipeline module and run it on this machine."""
    run = commands.add_parser(
        "run",
        help="build a pipeline module with the SageMaker SDK and run it on this machine",
        description="Build a pipeline module's definition (get_pipeline(**kwargs), with no AWS at all) and run it "
        "on this machine: the first line sums the definition up, a live table follows the steps, and the step "
        "table and the models it registered are printed at the end.",
    )
    run.add_argument(
        "-n", "--module-name", default=DEFAULT_MODULE, type=module_name_flag, metavar="MODULE",
        help=f"dotted name of a module exposing get_pipeline(**kwargs) (default: {DEFAULT_MODULE})",
    )  # fmt: skip
    _add_kwargs(run, '{"tune": true}')
    add_parameter_flag(run)
    _add_local_build_flags(run)
    add_lambda_flags(run)
    run.set_defaults(handler=_run_command)


def module_name_flag(text: str) -> str:
    """A module's dotted name; a file path (``src/showcase/pipeline.py``) is refused, naming the dotted name."""
    if text.endswith(".py") or "/" in text or "\\" in text:
        parts = [part for part in re.split(r"[/\\]+", text.removesuffix(".py")) if part not in ("", ".")]
        while parts and parts[0] in ("src", "lib"):
            parts = parts[1:]
        dotted = ".".join(parts)
        raise argparse.ArgumentTypeError(
            f"expected a module's dotted name, got the path {text!r}"
            + (f"; did you mean {dotted!r}?" if dotted else "")
        )
    if not all(part.isidentifier() for part in text.split(".")):
        raise argparse.ArgumentTypeError(f"expected a module's dotted name such as {DEFAULT_MODULE}, got {text!r}")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.local:
        return _local(args, Output())
    if not args.role_arn:
        raise UsageError("-r/--role-arn is required to run on SageMaker (or pass --local to run on this machine)")
    built = build_for_publishing(args.module_name, dict(args.kwargs))
    name, definition, uploads = built.pipeline_name, built.definition, built.uploads
    parameters = check_overrides(definition, args.parameter)
    print(_how_built(built), file=sys.stderr)  # a local build says it in _build_local
    if not args.quiet_definition:
        print(json.dumps(definition, indent=2))
    sys.stdout.flush()
    report = _run_on_sagemaker(name, definition, uploads, parameters, args)
    if report is None:
        return 0
    print_execution(report)
    return 0 if report.status == ExecutionStatus.SUCCEEDED else 1


def _run_command(ctx: Context) -> int:
    return _local(ctx.args, ctx.out)


def _local(args: Any, out: Output) -> int:
    """Build (or reuse) the definition, run it here, show the outcome: ``showcase run`` and ``--local``."""
    from showcase import settings
    from showcase.cli.local import local_paths, run, show_outcome

    apply_pickles_flag(args)
    config = settings.load(args.home)
    built = _build_local(args)
    definition = built.definition
    parameters = local_paths(check_overrides(definition, args.parameter), definition)
    if args.print_definition or args.log_level == "DEBUG":
        print(json.dumps(definition, indent=2), file=sys.stderr, flush=True)
    mapped = mapped_functions(getattr(args, "lambdas", []), getattr(args, "lambda_file", None), config)
    record, stop = run(definition, built.pipeline_name, parameters, {**built.uploads, **mapped}, config)
    return show_outcome(out, record, config, _registrations(record, config), stop=stop)


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


def _registrations(record: Any, config: Any) -> list[dict[str, Any]]:
    """The model packages a local execution registered, described with their metrics."""
    from showcase.registry import Registry

    arns = [
        step.properties["ModelPackageArn"]
        for step in record.steps
        if step.status == StepStatus.SUCCEEDED and "ModelPackageArn" in (step.properties or {})
    ]
    if not arns:
        return []
    registry = Registry.from_settings(config)
    return [
        {
            **registry.describe_model_package(ModelPackageName=arn),
            **registry.describe_model_package_extras(ModelPackageName=arn),
        }
        for arn in arns
    ]


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


if __name__ == "__main__":
    sys.exit(entry())
