"""``showcase monitor``: data and model quality of a local endpoint's captured traffic, in Model Monitor's formats.

    showcase monitor run --endpoint-name NAME [--since TIME] [--until TIME] [--every INTERVAL]
                         [--ground-truth URI [--constraints URI] [--variant NAME ...]]
    showcase monitor list --endpoint-name NAME [--model-quality]

``run`` checks the requests the endpoint captured in a window against the data-quality baseline of the model
package it serves, and keeps statistics.json, constraint_violations.json, report.html and run.json in the
object store. The window starts at ``--since`` (ISO 8601 such as 2026-11-29T10:00:00Z, or an age such as 2h),
else where the previous run's ended, else at the first capture; it ends now (or ``--until``). ``--every 1h``
repeats the run on that interval until interrupted (with ``--json``, one document per run). Exit status of a
single run: 0 when clean or when nothing was captured, 3 with violations. ``--endpoint`` is an older spelling of
``--endpoint-name``; ``showcase-monitor`` is ``showcase monitor``.

With ``--ground-truth URI`` the run is a model-quality one (``showcase.monitoring.quality_runs``): the captured
predictions of the window joined with the labels uploaded under URI/yyyy/mm/dd/hh/ (Model Monitor's merge format),
measured (mse, rmse, mae, r2) and checked against the package's model-quality constraints (or ``--constraints``).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from showcase import clock
from showcase.cli.common import EXIT_VIOLATIONS, Context
from showcase.cli.output import Status
from showcase.errors import UsageError
from showcase.statuses import MonitoringStatus
from showcase.store import ObjectStore

OUTPUT_HELP = "where runs are kept (default: s3://showcase-local/monitoring, where the dashboard reads them)"

logger = logging.getLogger(__name__)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LONGEST = 100 * 366 * 86400.0
"""The longest duration or age taken: a century (a longer age reaches past what a datetime holds)."""


def duration_flag(text: str) -> float:
    """``90s``, ``15m``, ``1h``, ``2d`` -> seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration such as 30m, 1h or 1d, got {text!r}")
    seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    if seconds > _LONGEST:
        raise argparse.ArgumentTypeError(f"{text!r} is longer than a duration can be (about 100 years at most)")
    return seconds


def time_flag(text: str) -> datetime:
    """An ISO 8601 time (UTC when it has no offset) or an age (``2h`` means two hours ago)."""
    if _DURATION.match(text.strip().lower()):
        return clock.now() - timedelta(seconds=duration_flag(text))
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-11-29T10:00:00Z, or an age such as 2h, got {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase monitor ...``."""
    parser = commands.add_parser(
        "monitor", help="data and model quality of an endpoint's captured traffic (Model Monitor's formats)",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )  # fmt: skip
    monitor = parser.add_subparsers(dest="monitor_command", required=True, metavar="COMMAND")
    run = monitor.add_parser(
        "run",
        help="check the captured traffic against the baseline; keep the results",
        description=(
            "Check the requests the endpoint captured in a window against the data-quality baseline of the model "
            "package it serves; keep statistics.json, constraint_violations.json, report.html and run.json. The "
            "window starts at --since, else where the previous run ended, else at the first capture, and ends "
            "now (or --until). Exit status: 0 when clean or when nothing was captured, 3 with violations."
        ),
    )
    add_endpoint_name(run)
    run.add_argument("--since", type=time_flag, help="start of the window: ISO 8601 time, or an age such as 2h")
    run.add_argument("--until", type=time_flag, help="end of the window (default: now)")
    run.add_argument("--every", type=duration_flag, help="repeat on this interval (30m, 1h, 1d) until interrupted")
    run.add_argument("--output-uri", help=OUTPUT_HELP)
    run.add_argument(
        "--ground-truth",
        metavar="URI",
        help="model quality: join the captures with the ground truth uploaded under URI/yyyy/mm/dd/hh/",
    )
    run.add_argument("--constraints", metavar="URI", help="model quality: the constraints.json to check against")
    run.add_argument(
        "--variant",
        action="append",
        default=[],
        help="model quality: a variant whose captures count (repeatable; default: every production variant)",
    )
    run.set_defaults(handler=_run)
    listing = monitor.add_parser("list", help="the endpoint's kept runs, newest first")
    add_endpoint_name(listing)
    listing.add_argument("--output-uri", help=OUTPUT_HELP)
    listing.add_argument("--model-quality", action="store_true", help="list the model-quality runs")
    listing.set_defaults(handler=_list)


def add_endpoint_name(parser: argparse.ArgumentParser) -> None:
    """``--endpoint-name`` (required), also accepted as ``--endpoint``, its older spelling here."""
    parser.add_argument("--endpoint-name", "--endpoint", dest="endpoint_name", required=True, metavar="NAME",
                        help="the local endpoint's name")  # fmt: skip


def describe_run(run: dict[str, Any], store: ObjectStore) -> list[str]:
    """What one run found, for a terminal."""
    window = f"from {run['since'] or 'the first capture'} to {run['until']}"
    if run["status"] == MonitoringStatus.FAILED:
        return [f"endpoint {run['endpoint_name']}: no captured requests {window} under {run['captures']}"]
    lines = [
        f"endpoint {run['endpoint_name']} ({run['model_package_arn']}): {run['records']} captured requests, "
        f"{run['rows']} rows, {window}"
    ]
    if run["malformed_lines"]:
        reasons = "; ".join(f"{count} {reason}" for reason, count in run["malformed_reasons"].items())
        lines.append(f"{run['malformed_lines']} malformed capture lines skipped ({reasons}); first at")
        lines += [f"  {example}" for example in run["malformed_examples"]]
    violations = run["violations"]
    if not violations:
        lines.append("no violations")
    else:
        lines.append(f"{len(violations)} violation{'s' if len(violations) != 1 else ''}:")
        width = max(len(v["feature_name"]) for v in violations)
        lines += [
            f"  {v['feature_name']:<{width}}  {v['constraint_check_type']:<22}  {v['description']}" for v in violations
        ]
    lines.append(f"report: {run['report']} ({store.path_of(run['report'])})")
    return lines


def _run(ctx: Context) -> int:
    from showcase.cli.local_registry import open_registry
    from showcase.errors import MonitoringError
    from showcase.monitoring.runs import DEFAULT_OUTPUT_URI, run_monitoring
    from showcase.serving.deployment import EndpointPaths, read_deployment

    args = ctx.args
    if args.every is not None and args.until is not None:
        raise UsageError("--until fixes the window's end, --every moves it: give one of them")
    if (args.constraints or args.variant) and not args.ground_truth:
        raise UsageError("--constraints and --variant are for a model-quality run: give --ground-truth too")
    config = ctx.settings
    store = ObjectStore(config.store_root)
    if read_deployment(EndpointPaths(config.home, args.endpoint_name)) is None:  # before the registry is needed
        raise MonitoringError(
            f"no endpoint named {args.endpoint_name!r} has been deployed under {config.home}; "
            "start one with: showcase endpoint serve --config deploy/endpoint_config_adj.json"
        )
    registry = open_registry(config)
    while True:
        started = time.monotonic()
        if args.ground_truth:
            run = _quality_run(ctx, store, registry)
        else:
            run = run_monitoring(
                config,
                store,
                registry,
                args.endpoint_name,
                since=args.since,
                until=args.until,
                output_uri=args.output_uri or DEFAULT_OUTPUT_URI,
            )
            ctx.out.document(run_document(run))
            for line in describe_run(run, store):
                ctx.out.line(line)
        sys.stdout.flush()
        if args.every is None:
            return EXIT_VIOLATIONS if run["violations"] else 0
        args.since = None  # later windows start where the previous run ended
        time.sleep(max(args.every - (time.monotonic() - started), 0.0))


def _quality_run(ctx: Context, store: ObjectStore, registry: Any) -> dict[str, Any]:
    """One model-quality run, said on the terminal (or as one document)."""
    from showcase.monitoring.quality_runs import run_model_quality
    from showcase.monitoring.runs import DEFAULT_OUTPUT_URI

    args = ctx.args
    run = run_model_quality(
        ctx.settings, store, registry, args.endpoint_name, ground_truth_uri=args.ground_truth, since=args.since,
        until=args.until, output_uri=args.output_uri or DEFAULT_OUTPUT_URI, constraints_uri=args.constraints,
        variants=args.variant or None,
    )  # fmt: skip
    ctx.out.document(quality_document(run))
    for line in describe_quality_run(run):
        ctx.out.line(line)
    return run


def describe_quality_run(run: dict[str, Any]) -> list[str]:
    """What one model-quality run found, for a terminal."""
    window = f"from {run['since'] or 'the first capture'} to {run['until']}"
    unpaired = "; ".join(f"{count} {reason}" for reason, count in run["unpaired"].items())
    lines = [
        f"endpoint {run['endpoint_name']} ({', '.join(run['variants'])}): {run['records']} captured inferences, "
        f"{run['labels']} labels, {run['matched']} joined {window}" + (f" ({unpaired})" if unpaired else "")
    ]
    if run["status"] == MonitoringStatus.FAILED:
        return [*lines, f"no model quality: {run['failure_reason']} (ground truth under {run['ground_truth']})"]
    metrics = run["regression_metrics"]
    lines.append("  ".join(f"{name} {metrics[name]['value']:.4g}" for name in ("mse", "rmse", "mae", "r2")))
    lines.append(f"constraints: {run['constraints']}")
    violations = run["violations"]
    lines += [f"  {v['metric_name']:<5}  {v['description']}" for v in violations] or ["no violations"]
    return lines


def quality_document(run: dict[str, Any]) -> dict[str, Any]:
    """A model-quality run as a MonitoringExecutionSummary names it, with the run's own fields."""
    own = {
        "CapturedInferences": run.get("records"),
        "GroundTruthLabels": run.get("labels"),
        "Joined": run.get("matched"),
        "RegressionMetrics": run.get("regression_metrics"),
    }
    return _summary(run, "ModelQuality", own, {})


def _list(ctx: Context) -> int:
    from showcase.monitoring.runs import DEFAULT_OUTPUT_URI, list_runs

    where = ctx.args.output_uri or DEFAULT_OUTPUT_URI
    if ctx.args.model_quality:
        return _list_quality(ctx, where)
    runs = list_runs(ObjectStore(ctx.settings.store_root), ctx.args.endpoint_name, where)
    ctx.out.document({"MonitoringExecutionSummaries": [run_document(run) for run in runs]})
    rows = [
        [
            run["run_id"],
            Status(str(run.get("status", ""))),
            _moment(run.get("since")) or "first capture",
            _moment(run.get("until")),
            run.get("rows", 0),
            len(run.get("violations") or []),
        ]
        for run in runs
    ]
    ctx.out.table(
        ["run", "status", "from", "to", "rows", "violations"],
        rows,
        empty=f"no monitoring runs for endpoint {ctx.args.endpoint_name}",
    )
    return 0


def _list_quality(ctx: Context, where: str) -> int:
    from showcase.monitoring.quality_runs import list_model_quality_runs

    runs = list_model_quality_runs(ObjectStore(ctx.settings.store_root), ctx.args.endpoint_name, where)
    ctx.out.document({"MonitoringExecutionSummaries": [quality_document(run) for run in runs]})
    rows = [
        [
            run["run_id"],
            Status(str(run.get("status", ""))),
            _moment(run.get("until")),
            run.get("pairs", 0),
            *[f"{run.get('cloudwatch_metrics', {})[name]:.4g}" if name in run.get("cloudwatch_metrics", {}) else "-"
              for name in ("mse", "r2")],
            len(run.get("violations") or []),
        ]
        for run in runs
    ]  # fmt: skip
    ctx.out.table(
        ["run", "status", "to", "pairs", "mse", "r2", "violations"],
        rows,
        empty=f"no model-quality runs for endpoint {ctx.args.endpoint_name}",
    )
    return 0


def _moment(text: Any) -> datetime | None:
    """A time run.json holds (``2026-01-02T03:04:05.678Z``) as a datetime; None when absent."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def run_document(run: dict[str, Any]) -> dict[str, Any]:
    """A run as a MonitoringExecutionSummary names what it has (EndpointName, MonitoringExecutionStatus, CreationTime,
    LastModifiedTime, FailureReason, MonitoringType), with the local run's own fields in the same PascalCase and its
    violations as constraint_violations.json holds them."""
    own = {
        "CapturedRequests": run.get("records"),
        "Rows": run.get("rows"),
        "MalformedLines": run.get("malformed_lines"),
    }
    return _summary(run, "DataQuality", own, {"ReportUri": run.get("report")})


def _summary(run: dict[str, Any], monitoring_type: str, own: dict[str, Any], uris: dict[str, Any]) -> dict[str, Any]:
    """The fields every kind of run has, in MonitoringExecutionSummary's names, around the kind's ``own`` fields
    and output ``uris``; its violations as constraint_violations.json holds them."""
    document: dict[str, Any] = {
        "RunId": run.get("run_id"),
        "EndpointName": run.get("endpoint_name"),
        "MonitoringType": monitoring_type,
        "MonitoringExecutionStatus": run.get("status"),
        "CreationTime": _moment(run.get("started")),
        "LastModifiedTime": _moment(run.get("ended")),
        "ModelPackageArn": run.get("model_package_arn"),
        "WindowStart": _moment(run.get("since")),
        "WindowEnd": _moment(run.get("until")),
        **own,
        "StatisticsUri": run.get("statistics"),
        "ConstraintViolationsUri": run.get("constraint_violations"),
        **uris,
        "ConstraintViolations": {"violations": run.get("violations") or []},
    }
    if run.get("failure_reason"):
        document["FailureReason"] = run["failure_reason"]
    return document
