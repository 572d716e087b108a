"""``showcase registry``: look at and decide on the model packages in the local model registry.

    showcase registry groups
    showcase registry list [--group G] [--status S] [--max N]
    showcase registry describe PACKAGE
    showcase registry approve PACKAGE [--description TEXT] [--force]
    showcase registry reject PACKAGE [--description TEXT]

PACKAGE is a model package ARN or ``<group>/<version>``. ``--home`` (or SHOWCASE_HOME) selects the state
directory whose ``registry.sqlite`` is used; a home without one lists nothing. Status changes follow SageMaker,
which allows any change, with one guard: approving a package that was Rejected needs ``--force``. Setting the
status a package already has changes nothing and succeeds. ``showcase-registry`` is ``showcase registry``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from showcase.cli.common import Context, subcommand_parsers
from showcase.cli.local_registry import DEFAULT_BUSY_TIMEOUT_S, open_registry
from showcase.cli.registry_view import describe_lines, group_rows, package_rows
from showcase.errors import NoSuchModelPackageGroup, RegistryError
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


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase registry ...``."""
    parser = commands.add_parser(
        "registry", help="the local model registry: list, describe, approve and reject model packages",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )  # fmt: skip
    add_busy_timeout(parser, DEFAULT_BUSY_TIMEOUT_S)
    registry = parser.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")
    registry.add_parser("groups", help="list the model package groups").set_defaults(handler=_groups)
    listing = registry.add_parser("list", help="list model packages, newest first")
    listing.add_argument("--group", help="only this model package group")
    listing.add_argument("--status", type=status_flag, help=f"only this status ({', '.join(ApprovalStatus)})")
    listing.add_argument("--max", type=positive_int, default=50, help="at most this many (default: 50)")
    listing.set_defaults(handler=_list)
    describe = registry.add_parser("describe", help="every field of one package, its metrics and lineage")
    describe.add_argument("package", metavar="PACKAGE", help="model package ARN or <group>/<version>")
    describe.set_defaults(handler=_describe)
    for name, verb, handler in (("approve", "Approved", _approve), ("reject", "Rejected", _reject)):
        command = registry.add_parser(name, help=f"set a package's status to {verb}")
        command.add_argument("package", metavar="PACKAGE", help="model package ARN or <group>/<version>")
        command.add_argument("--description", help="why (kept as the package's ApprovalDescription)")
        if name == "approve":
            command.add_argument("--force", action="store_true", help="approve even a Rejected package")
        command.set_defaults(handler=handler)
    for command in subcommand_parsers(parser):
        add_busy_timeout(command, argparse.SUPPRESS)


def add_busy_timeout(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--busy-timeout",
        type=positive_seconds,
        default=default,
        metavar="SECONDS",
        help=f"how long to wait for another writer's lock (default: {DEFAULT_BUSY_TIMEOUT_S:g})",
    )


def _opened(ctx: Context, *, required: str | None = None) -> Registry | None:
    """The home's registry; None when the home has none (lists are then empty). ``required`` names the package a
    command needs: without a registry, it does not exist."""
    settings = ctx.settings
    if not settings.registry_path.is_file():
        if required is None:
            return None
        raise RegistryError(
            f"model package {required} does not exist: there is no model registry at {settings.registry_path} "
            "(run a pipeline with --local first, or point --home at the directory that holds registry.sqlite)"
        )
    return open_registry(settings, busy_timeout_s=ctx.args.busy_timeout)


def _groups(ctx: Context) -> int:
    registry = _opened(ctx)
    groups = (
        [] if registry is None else _all(ctx, registry, "list_model_package_groups", "ModelPackageGroupSummaryList")
    )
    ctx.out.document({"ModelPackageGroupSummaryList": groups})
    rows = group_rows(registry, groups) if registry is not None else []
    where = ctx.settings.registry_path
    ctx.out.table(["group", "created", "packages", "approved"], rows, empty=f"no model package groups in {where}")
    return 0


def _list(ctx: Context) -> int:
    args = ctx.args
    registry = _opened(ctx)
    request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
    if args.group is not None:
        if registry is None:
            raise NoSuchModelPackageGroup(args.group, f"there is no model registry at {ctx.settings.registry_path}")
        registry.describe_model_package_group(ModelPackageGroupName=args.group)  # unknown group: an error
        request["ModelPackageGroupName"] = args.group
    if args.status is not None:
        request["ModelApprovalStatus"] = args.status
    summaries = (
        [] if registry is None
        else _all(ctx, registry, "list_model_packages", "ModelPackageSummaryList", request, limit=args.max)
    )  # fmt: skip
    ctx.out.document({"ModelPackageSummaryList": summaries})
    rows = package_rows(registry, summaries) if registry is not None else []
    ctx.out.table(["package", "status", "created", "mse", "arn"], rows, empty="no model packages")
    return 0


def _describe(ctx: Context) -> int:
    registry = _opened(ctx, required=ctx.args.package)
    assert registry is not None
    with lock_reported(registry.path, ctx.args.busy_timeout):
        described = registry.describe_model_package(ModelPackageName=ctx.args.package)
        extras = registry.describe_model_package_extras(ModelPackageName=ctx.args.package)
    ctx.out.document({**described, **extras})
    for line in [] if ctx.out.json else describe_lines(described, extras):
        ctx.out.line(line)
    return 0


def _approve(ctx: Context) -> int:
    return _set_status(ctx, ApprovalStatus.APPROVED, force=ctx.args.force)


def _reject(ctx: Context) -> int:
    return _set_status(ctx, ApprovalStatus.REJECTED, force=False)


def _set_status(ctx: Context, status: str, *, force: bool) -> int:
    registry = _opened(ctx, required=ctx.args.package)
    assert registry is not None
    with lock_reported(registry.path, ctx.args.busy_timeout):
        decision = set_approval(registry, ctx.args.package, status, ctx.args.description, force=force)
    ctx.out.document(
        {"ModelPackageArn": decision.arn, "ModelApprovalStatus": decision.after, "Changed": decision.changed}
    )
    if decision.changed:
        ctx.out.line(f"{decision.arn}: {decision.before} -> {decision.after}")
    else:
        ctx.out.line(f"{decision.arn} is already {status}; nothing changed")
    return 0


def _all(
    ctx: Context, registry: Registry, call: str, key: str, request: dict[str, Any] | None = None, *,
    limit: int | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every summary of a paged List* call, up to ``limit``."""
    with lock_reported(registry.path, ctx.args.busy_timeout):
        return list(paginate(getattr(registry, call), key, limit=limit, page_size=PAGE, **(request or {})))


def entry(argv: Sequence[str] | None = None) -> int:
    """``showcase-registry``: another name of ``showcase registry``."""
    from showcase.cli.main import alias

    return alias("registry")(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from showcase.cli import main as showcase

    return showcase.main(["registry", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(entry())
