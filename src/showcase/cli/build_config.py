"""Write the endpoint config to deploy: the user's parameters plus the newest Approved model package.

    python deploy/build_config_file.py --model-execution-role ARN --model-package-group-name GROUP
    python deploy/build_config_file.py --local [--home DIR] --model-execution-role ARN --model-package-group-name GROUP
    python deploy/build_config_file.py ... --model-package-arn ARN   # this Approved package, not the newest

``--local`` reads the local model registry (``<home>/registry.sqlite``) instead of SageMaker's, through the
same look-up and config building. Nothing is written when anything fails: the output appears only once it
is complete.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from showcase import settings as settings_module
from showcase.aws.registry import SageMakerLister, latest_approved_package, sagemaker_client
from showcase.cli.common import ArgumentParser, add_log_level, configure_logging, read_json_file, run_cli
from showcase.cli.local_registry import DEFAULT_BUSY_TIMEOUT_S, open_registry
from showcase.deployment.config import (
    DEFAULT_ENDPOINT_NAME,
    adjusted_config,
    check_monitoring,
    parse_endpoint_config,
)
from showcase.deployment.template import read_template
from showcase.errors import FileWriteError, UsageError
from showcase.files import write_json_atomically
from showcase.monitoring.baselines import PackageDescriber, package_baseline
from showcase.registry import latest
from showcase.registry.locks import lock_reported

logger = logging.getLogger(__name__)

# The template the config feeds, as the repository ships it beside deploy/build_config_file.py.
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "endpoint-cloudformation.yml"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="build_config_file.py",
        description="Add the newest Approved model package, role and endpoint name to an endpoint config.",
    )
    parser.add_argument(
        "--endpoint-name",
        default=DEFAULT_ENDPOINT_NAME,
        help=f"endpoint name (default: {DEFAULT_ENDPOINT_NAME})",
    )
    parser.add_argument("--model-execution-role", required=True, help="ARN of the role the model runs as")
    parser.add_argument("--model-package-group-name", required=True, help="model package group to deploy from")
    parser.add_argument(
        "--model-package-arn",
        default=None,
        help="deploy this package of the group (it must be Approved) instead of the newest Approved one: "
        "production deploys the package staging tested (empty: the newest Approved)",
    )
    parser.add_argument(
        "--import-endpoint-config",
        default="endpoint_config.json",
        help="config to start from (default: endpoint_config.json)",
    )
    parser.add_argument(
        "--export-endpoint-config",
        default="endpoint_config_adj.json",
        help="config to write (default: endpoint_config_adj.json)",
    )
    parser.add_argument(
        "--template",
        default=str(DEFAULT_TEMPLATE),
        help="template whose Parameters the config must fit (default: deploy/endpoint-cloudformation.yml)",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_DEFAULT_REGION)")
    parser.add_argument(
        "--local", action="store_true", help="deploy from the local model registry instead of SageMaker's"
    )
    parser.add_argument("--home", help="with --local: state directory (default: SHOWCASE_HOME, else ./.showcase)")
    add_log_level(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)

    source = args.import_endpoint_config
    # Check the user's file and flags against the template before asking AWS anything: their mistakes are
    # the cheapest to report, and `aws cloudformation deploy` would drop an unknown name without a word.
    config = parse_endpoint_config(read_json_file(source, "endpoint config"), source)
    template = read_template(args.template)
    origins = {
        **{name: source for name in config.parameters},
        "ModelExecutionRoleArn": "--model-execution-role",
        "EndpointName": "--endpoint-name",
        "ModelPackageName": args.model_package_arn
        or f"the newest Approved package of {args.model_package_group_name!r}",
    }
    decided = {"ModelExecutionRoleArn": args.model_execution_role, "EndpointName": args.endpoint_name}
    template.check({**config.parameters, **decided}, origins, complete=False)
    package, baseline = _latest_approved(args)
    adjusted = adjusted_config(
        config,
        model_package_arn=package["ModelPackageArn"],
        model_execution_role_arn=args.model_execution_role,
        endpoint_name=args.endpoint_name,
        baseline=baseline,
    )
    origins["BaselineStatisticsUri"] = origins["BaselineConstraintsUri"] = (
        f"the data-quality baseline of {package['ModelPackageArn']}"
    )
    template.check(adjusted.parameters, origins, complete=True)
    check_monitoring(adjusted, source)
    try:
        write_json_atomically(args.export_endpoint_config, adjusted.to_json())
    except FileWriteError as exc:  # the path is the user's --export-endpoint-config
        raise UsageError(str(exc)) from None
    print(f"wrote {args.export_endpoint_config}: it deploys {package['ModelPackageArn']}")
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


def _latest_approved(args: argparse.Namespace) -> tuple[Mapping[str, Any], tuple[str, str] | None]:
    """The newest Approved package and its data-quality baseline, from SageMaker or (``--local``) the local
    registry."""
    if not args.local:
        if args.home is not None:
            raise UsageError("--home applies to the local registry: add --local, or leave --home out")
        sagemaker = sagemaker_client(args.region)
        if args.model_package_arn:
            package = _pinned(SageMakerLister(sagemaker), args.model_package_group_name, args.model_package_arn)
        else:
            package = latest_approved_package(sagemaker, args.model_package_group_name)
        return package, package_baseline(SageMakerLister(sagemaker), package["ModelPackageArn"])
    if args.region is not None:
        raise UsageError(
            "--region applies to SageMaker; the local registry's ARNs use SHOWCASE_REGION: leave --region out"
        )
    registry = open_registry(settings_module.load(args.home))
    with lock_reported(registry.path, DEFAULT_BUSY_TIMEOUT_S):
        if args.model_package_arn:
            package = _pinned(registry, args.model_package_group_name, args.model_package_arn)
        else:
            package = latest.latest_approved_package(registry, args.model_package_group_name)
        return package, package_baseline(registry, package["ModelPackageArn"])


def _pinned(registry: PackageDescriber, group_name: str, arn: str) -> Mapping[str, Any]:
    """The package ``--model-package-arn`` names, once it is known to be an Approved package of the group."""
    package: Mapping[str, Any] = registry.describe_model_package(ModelPackageName=arn)
    group, status = str(package.get("ModelPackageGroupName", "")), package.get("ModelApprovalStatus")
    if group.lower() != group_name.lower():
        raise UsageError(f"--model-package-arn {arn} is a package of group {group!r}, not of {group_name!r}")
    if status != "Approved":
        raise UsageError(f"--model-package-arn {arn} is {status}, not Approved: approve it before deploying it")
    return package
