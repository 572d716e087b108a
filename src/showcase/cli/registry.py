"""``showcase-registry``: look at and decide on the model packages in the local model registry.

    showcase-registry groups
    showcase-registry list [--group G] [--status S] [--max N]
    showcase-registry describe PACKAGE [--json]
    showcase-registry approve PACKAGE [--description TEXT] [--force]
    showcase-registry reject PACKAGE [--description TEXT]

PACKAGE is a model package ARN or ``<group>/<version>``. ``--home`` (or SHOWCASE_HOME) selects the state
directory whose ``registry.sqlite`` is used. Status changes follow SageMaker, which allows any change,
with one guard: approving a package that was Rejected needs ``--force``. Setting the status a package
already has changes nothing and succeeds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from showcase import settings as settings_module
from showcase.cli.common import ArgumentParser, add_home, add_log_level, configure_logging, run_cli
from showcase.cli.local_registry import DEFAULT_BUSY_TIMEOUT_S, open_registry
from showcase.cli.registry_view import describe_lines, group_rows, package_rows, table
from showcase.paging import paginate
from showcase.registry import Registry
from showcase.registry.approval import set_approval
from showcase.registry.locks import lock_reported
from showcase.statuses import ApprovalStatus

logger = logging.getLogger(__name__)
PAGE = 100


def status_flag(text: str) -> str:
    """An approval status, in any letter case."""
    for status in ApprovalStatus:
        if text.lower() == status.lower():
            return status
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(ApprovalStatus)}, got {text!r}")


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="showcase-registry", description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument(
        "--busy-timeout",
        type=positive_seconds,
        default=DEFAULT_BUSY_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for another writer's lock (default: {DEFAULT_BUSY_TIMEOUT_S:g})",
    )
    add_log_level(parser, default="WARNING")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("groups", help="list the model package groups")
    listing = commands.add_parser("list", help="list model packages, newest first")
    listing.add_argument("--group", help="only this model package group")
    listing.add_argument("--status", type=status_flag, help=f"only this status ({', '.join(ApprovalStatus)})")
    listing.add_argument("--max", type=positive_int, default=50, help="at most this many (default: 50)")
    describe = commands.add_parser("describe", help="every field of one package, its metrics and lineage")
    describe.add_argument("package", metavar="PACKAGE", help="model package ARN or <group>/<version>")
    describe.add_argument("--json", action="store_true", help="print one JSON document instead")
    for name, verb in (("approve", "Approved"), ("reject", "Rejected")):
        command = commands.add_parser(name, help=f"set a package's status to {verb}")
        command.add_argument("package", metavar="PACKAGE", help="model package ARN or <group>/<version>")
        command.add_argument("--description", help="why (kept as the package's ApprovalDescription)")
        if name == "approve":
            command.add_argument("--force", action="store_true", help="approve even a Rejected package")
    add_home(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    config = settings_module.load(args.home)
    registry = open_registry(config, busy_timeout_s=args.busy_timeout)
    with lock_reported(registry.path, args.busy_timeout):
        return COMMANDS[args.command](registry, args)


def _groups(registry: Registry, args: argparse.Namespace) -> int:
    groups = _all(registry.list_model_package_groups, "ModelPackageGroupSummaryList", {}, limit=None)
    print(table(["GROUP", "CREATED", "PACKAGES", "APPROVED"], group_rows(registry, groups)) or "no groups")
    return 0


def _list(registry: Registry, args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
    if args.group is not None:
        registry.describe_model_package_group(ModelPackageGroupName=args.group)  # unknown group: an error
        request["ModelPackageGroupName"] = args.group
    if args.status is not None:
        request["ModelApprovalStatus"] = args.status
    summaries = _all(registry.list_model_packages, "ModelPackageSummaryList", request, limit=args.max)
    rows = package_rows(registry, summaries)
    print(table(["PACKAGE", "STATUS", "CREATED", "MSE", "ARN"], rows) or "no model packages")
    return 0


def _describe(registry: Registry, args: argparse.Namespace) -> int:
    described = registry.describe_model_package(ModelPackageName=args.package)
    extras = registry.describe_model_package_extras(ModelPackageName=args.package)
    if args.json:
        print(json.dumps({**described, **extras}, indent=2, default=str))
    else:
        print("\n".join(describe_lines(described, extras)))
    return 0


def _approve(registry: Registry, args: argparse.Namespace) -> int:
    return _set_status(registry, args.package, ApprovalStatus.APPROVED, args.description, force=args.force)


def _reject(registry: Registry, args: argparse.Namespace) -> int:
    return _set_status(registry, args.package, ApprovalStatus.REJECTED, args.description, force=False)


def _set_status(registry: Registry, package: str, status: str, description: str | None, *, force: bool) -> int:
    decision = set_approval(registry, package, status, description, force=force)
    if decision.changed:
        print(f"{decision.arn}: {decision.before} -> {decision.after}")
    else:
        print(f"{decision.arn} is already {status}; nothing changed")
    return 0


def _all(call: Any, key: str, request: dict[str, Any], *, limit: int | None) -> list[dict[str, Any]]:
    """Every summary of a paged List* call, up to ``limit``."""
    return list(paginate(call, key, limit=limit, page_size=PAGE, **request))


COMMANDS = {"groups": _groups, "list": _list, "describe": _describe, "approve": _approve, "reject": _reject}


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


if __name__ == "__main__":
    sys.exit(entry())
