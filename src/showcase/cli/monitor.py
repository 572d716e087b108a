"""``showcase-monitor``: data-quality monitoring of a local endpoint's captured traffic, in Model Monitor's formats.

    showcase-monitor run --endpoint NAME [--since TIME] [--until TIME] [--every INTERVAL]
                         [--ground-truth URI [--constraints URI] [--variant NAME ...]]
    showcase-monitor list --endpoint NAME [--model-quality]

``run`` checks the requests the endpoint captured in a window against the data-quality baseline of the model
package it serves, and keeps statistics.json, constraint_violations.json, report.html and run.json in the
object store. The window starts at ``--since`` (ISO 8601 such as 2026-11-29T10:00:00Z, or an age such as 2h),
else where the previous run's ended, else at the first capture; it ends now (or ``--until``). ``--every 1h``
repeats the run on that interval until interrupted. Exit status of a single run: 0 when clean or when nothing
was captured, 3 with violations.

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
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from showcase import settings as settings_module
from showcase.cli.common import ArgumentParser, add_log_level, configure_logging, run_cli
from showcase.cli.local_registry import open_registry
from showcase.errors import UsageError
from showcase.monitoring.runs import DEFAULT_OUTPUT_URI, list_runs, run_monitoring
from showcase.statuses import MonitoringStatus
from showcase.store import ObjectStore

logger = logging.getLogger(__name__)
EXIT_VIOLATIONS = 3
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
        return datetime.now(timezone.utc) - timedelta(seconds=duration_flag(text))
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-11-29T10:00:00Z, or an age such as 2h, got {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="showcase-monitor", description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--home", help="state directory (default: SHOWCASE_HOME, else ./.showcase)")
    add_log_level(parser, default="WARNING")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    run = commands.add_parser(
        "run",
        help="check the captured traffic against the baseline; keep the results",
        description=(
            "Check the requests the endpoint captured in a window against the data-quality baseline of the model "
            "package it serves; keep statistics.json, constraint_violations.json, report.html and run.json. The "
            "window starts at --since, else where the previous run ended, else at the first capture, and ends "
            "now (or --until). Exit status: 0 when clean or when nothing was captured, 3 with violations."
        ),
    )
    run.add_argument("--endpoint", required=True, help="the local endpoint's name")
    run.add_argument("--since", type=time_flag, help="start of the window: ISO 8601 time, or an age such as 2h")
    run.add_argument("--until", type=time_flag, help="end of the window (default: now)")
    run.add_argument("--every", type=duration_flag, help="repeat on this interval (30m, 1h, 1d) until interrupted")
    run.add_argument("--output-uri", default=DEFAULT_OUTPUT_URI, help=f"where runs are kept ({DEFAULT_OUTPUT_URI})")
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
    listing = commands.add_parser("list", help="the endpoint's kept runs, newest first")
    listing.add_argument("--endpoint", required=True, help="the local endpoint's name")
    listing.add_argument("--output-uri", default=DEFAULT_OUTPUT_URI, help=f"where runs are kept ({DEFAULT_OUTPUT_URI})")
    listing.add_argument("--model-quality", action="store_true", help="list the model-quality runs")
    return parser


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


def _run(args: argparse.Namespace) -> int:
    if args.every is not None and args.until is not None:
        raise UsageError("--until fixes the window's end, --every moves it: give one of them")
    if (args.constraints or args.variant) and not args.ground_truth:
        raise UsageError("--constraints and --variant are for a model-quality run: give --ground-truth too")
    config = settings_module.load(args.home)
    store = ObjectStore(config.store_root)
    registry = open_registry(config)
    while True:
        started = time.monotonic()
        if args.ground_truth:
            from showcase.monitoring.quality_runs import run_model_quality

            run = run_model_quality(
                config, store, registry, args.endpoint, ground_truth_uri=args.ground_truth, since=args.since,
                until=args.until, output_uri=args.output_uri, constraints_uri=args.constraints,
                variants=args.variant or None,
            )  # fmt: skip
            print("\n".join(describe_quality_run(run)), flush=True)
        else:
            run = run_monitoring(
                config, store, registry, args.endpoint, since=args.since, until=args.until, output_uri=args.output_uri
            )
            print("\n".join(describe_run(run, store)), flush=True)
        if args.every is None:
            return EXIT_VIOLATIONS if run["violations"] else 0
        args.since = None  # later windows start where the previous run ended
        time.sleep(max(args.every - (time.monotonic() - started), 0.0))


def _list(args: argparse.Namespace) -> int:
    config = settings_module.load(args.home)
    if args.model_quality:
        from showcase.monitoring.quality_runs import list_model_quality_runs

        runs = list_model_quality_runs(ObjectStore(config.store_root), args.endpoint, args.output_uri)
    else:
        runs = list_runs(ObjectStore(config.store_root), args.endpoint, args.output_uri)
    if not runs:
        print(f"no monitoring runs for endpoint {args.endpoint}")
        return 0
    for run in runs:
        found = len(run.get("violations") or [])
        if args.model_quality:
            mse = run.get("cloudwatch_metrics", {}).get("mse")
            shown = f"mse {mse:.4g}" if mse is not None else "no mse"
            pairs = run.get("pairs", 0)
            print(f"{run['run_id']}  {run['status']:<23}  {pairs:>9} pairs  {shown}  {found} violation(s)")
        else:
            print(f"{run['run_id']}  {run['status']:<23}  {run.get('rows', 0):>9} rows  {found} violation(s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    return _run(args) if args.command == "run" else _list(args)


def entry() -> int:
    return run_cli(main)


if __name__ == "__main__":
    sys.exit(entry())
