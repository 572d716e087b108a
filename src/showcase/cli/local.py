"""The local runtime's executions and object store: ``showcase start``, ``list``, ``describe``, ``logs``, ``retry``
and ``store``.

    showcase start --definition definition.json [--pipeline-name NAME] [-p Name=Value ...] [--upload LOCAL=s3://...]
    showcase list
    showcase describe EXECUTION_ID
    showcase logs EXECUTION_ID STEP          (a step's log, or a tuning trial's, by its training job name)
    showcase retry EXECUTION_ID
    showcase store put LOCAL s3://bucket/key (a file, or a directory under a prefix)
    showcase store ls s3://bucket/prefix

``showcase-local`` is another name of ``showcase``. While ``start`` or ``retry`` runs, Ctrl-C or SIGTERM stops the
execution as StopPipelineExecution does (``showcase.cli.signals``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from showcase.cli.common import (
    Context,
    execution_id_flag,
    key_value_flag,
    pipeline_name_flag,
    read_json_file,
    step_name_flag,
)
from showcase.cli.documents import execution_document, summary_document
from showcase.cli.lambdas import add_lambda_flags, mapped_functions
from showcase.cli.output import Output, Status
from showcase.cli.signals import SignalStop
from showcase.errors import NoSuchResource, ShowcaseError, UsageError
from showcase.local import ExecutionRecord, StepRecord
from showcase.reporting import how_long, suggest
from showcase.settings import Settings
from showcase.statuses import ExecutionStatus
from showcase.store import ObjectStore, StoreError

logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    """``start``, ``list``, ``describe``, ``logs``, ``retry`` and ``store`` under ``showcase``."""
    start = commands.add_parser("start", help="run a pipeline definition JSON file on this machine")
    start.add_argument("--definition", required=True, metavar="FILE", help="the definition JSON file")
    start.add_argument("--pipeline-name", type=pipeline_name_flag, help="pipeline name (default: the file's stem)")
    add_parameter_flag(start)
    start.add_argument(
        "--upload", action="append", type=upload_flag, default=[], metavar="LOCAL=s3://BUCKET/KEY",
        help="put a local file (or a directory, under the key as a prefix) into the object store before the run "
        "(repeatable); objects the definition reads and the store lacks are all named before anything runs",
    )  # fmt: skip
    add_lambda_flags(start)
    start.set_defaults(handler=_start)

    commands.add_parser("list", help="the executions under the home, newest first").set_defaults(handler=_list)
    describe = commands.add_parser("describe", help="an execution's parameters, steps, reasons and logs")
    describe.add_argument("execution_id", type=execution_id_flag, metavar="EXECUTION_ID")
    describe.set_defaults(handler=_describe)
    logs = commands.add_parser("logs", help="print a step's log (or a tuning trial's, by its training job name)")
    logs.add_argument("execution_id", type=execution_id_flag, metavar="EXECUTION_ID")
    logs.add_argument("step_name", type=step_name_flag, metavar="STEP")
    logs.set_defaults(handler=_logs)
    retry = commands.add_parser("retry", help="re-run a Failed or Stopped execution from its unfinished steps")
    retry.add_argument("execution_id", type=execution_id_flag, metavar="EXECUTION_ID")
    retry.set_defaults(handler=_retry)

    store = commands.add_parser("store", help="the local object store (the S3 stand-in)")
    store_commands = store.add_subparsers(dest="store_command", required=True, metavar="COMMAND")
    put = store_commands.add_parser("put", help="copy a local file, or a directory under a prefix, into the store")
    put.add_argument("local", metavar="LOCAL", help="a file or a directory")
    put.add_argument("uri", metavar="URI", help="s3://bucket/key (for a directory: the prefix its files go under)")
    put.set_defaults(handler=_store_put)
    ls = store_commands.add_parser("ls", help="list the objects under an s3:// prefix")
    ls.add_argument("uri", metavar="URI", help="s3://bucket/prefix")
    ls.set_defaults(handler=_store_ls)


def add_parameter_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p", "--parameter", action="append", type=key_value_flag, default=[], metavar="NAME=VALUE",
        help="override a pipeline parameter for this execution (repeatable), e.g. MseThreshold=5.5",
    )  # fmt: skip


# -- running -------------------------------------------------------------------------------------------------


def _start(ctx: Context) -> int:
    from showcase.parameters import check_overrides

    args, settings = ctx.args, ctx.settings  # a home that cannot be one is said first
    definition = read_json_file(args.definition, "definition file")
    if not isinstance(definition, dict):
        raise UsageError(f"definition file {args.definition!r} must hold a JSON object")
    name = args.pipeline_name or Path(args.definition).name.removesuffix(".json")
    parameters = local_paths(check_overrides(definition, args.parameter), definition)
    store = ObjectStore(settings.store_root)
    for local, uri in args.upload:
        put_local(store, local, uri, flag="--upload")
    mapped = mapped_functions(args.lambdas, args.lambda_file, settings)
    record, stop = run(definition, name, parameters, mapped, settings)
    return show_outcome(ctx.out, record, settings, stop=stop)


def _retry(ctx: Context) -> int:
    from showcase.cli.progress import progress
    from showcase.cli.signals import stop_on_signals
    from showcase.local import describe_execution, retry_execution
    from showcase.local.engine import RETRYABLE

    settings = ctx.settings
    found = describe_execution(ctx.args.execution_id, settings)  # unknown: NoSuchResource, before anything is shown
    running = (ExecutionStatus.EXECUTING, ExecutionStatus.STOPPING)  # the engine names the process that runs it
    if found.status not in (*RETRYABLE, *running):  # the command is right, the execution's state refuses it: exit 1
        raise ShowcaseError(
            f"execution {found.execution_id} is {found.status}; only a Failed or Stopped execution can be retried"
        )
    with stop_on_signals() as stop, progress(settings, None) as on_event:
        record = retry_execution(ctx.args.execution_id, settings=settings, on_event=on_event, stop=stop)
    return show_outcome(ctx.out, record, settings, stop=stop)


def run(
    definition: dict[str, Any],
    pipeline_name: str,
    parameters: dict[str, str],
    uploads: dict[str, bytes],
    settings: Settings,
) -> tuple[ExecutionRecord, SignalStop]:
    """Run a definition locally to its end, its progress on stderr (``showcase run``, ``start``, run_pipeline); Ctrl-C
    or SIGTERM meanwhile stops it (``showcase.cli.signals``). The record, and the stop request for ``show_outcome``."""
    from showcase.cli.progress import progress
    from showcase.cli.signals import stop_on_signals
    from showcase.local import run_definition

    with stop_on_signals() as stop, progress(settings, definition) as on_event:
        record = run_definition(
            definition,
            pipeline_name=pipeline_name,
            parameters=parameters,
            uploads=uploads,
            settings=settings,
            on_event=on_event,
            stop=stop,
        )
    return record, stop


def show_outcome(
    out: Output,
    record: ExecutionRecord,
    settings: Settings,
    registrations: Sequence[Any] = (),
    *,
    stop: SignalStop | None = None,
) -> int:
    """The finished execution on stdout (its step table and last line, or its JSON document); exit 0 only when
    it Succeeded. A failed execution's reason is said once, in the last line; a stopped one names how to go on on
    stderr and exits 128 + the signal's number."""
    from showcase.cli.report import print_execution
    from showcase.cli.signals import stopped_line

    if out.json:  # built only when asked for: it reads SageMaker's step shapes (showcase.api)
        out.document(execution_document(record, settings))
    print_execution(record.report(), out, local=True, registrations=registrations)
    if record.status == ExecutionStatus.STOPPED:
        print(f"error: {stopped_line(record.execution_id, stop)}", file=sys.stderr, flush=True)
        return stop.exit_code if stop is not None else 130
    return 0 if record.status == ExecutionStatus.SUCCEEDED else 1


def local_paths(parameters: dict[str, str], definition: dict[str, Any]) -> dict[str, str]:
    """String overrides that name a local path: a missing one is refused before anything runs, an existing relative
    one is made absolute (a job runs in a directory of its own, not here). URIs (``s3://``, ``https://``) pass."""
    kinds = {p.get("Name"): p.get("Type", "String") for p in definition.get("Parameters") or []}
    checked = dict(parameters)
    for name, value in parameters.items():
        if kinds.get(name) != "String" or not _looks_like_a_path(value):
            continue
        path = Path(value).expanduser()
        if not path.exists():
            raise UsageError(
                f"-p {name}={value}: no such file or directory; give an existing path, or an s3:// or https:// URI"
            )
        checked[name] = str(path.resolve())
    return checked


def _looks_like_a_path(value: str) -> bool:
    return "://" not in value and value.startswith(("/", "./", "../", "~"))


# -- reading -------------------------------------------------------------------------------------------------


def _list(ctx: Context) -> int:
    from showcase.local import list_executions

    records = list_executions(ctx.settings)
    ctx.out.document({"PipelineExecutionSummaries": [summary_document(record) for record in records]})
    rows = [
        [r.execution_id, r.pipeline_name, Status(r.status), r.start, how_long(r.duration), _steps(r)] for r in records
    ]
    headers = ["execution", "pipeline", "status", "started", "duration", "steps"]
    ctx.out.table(headers, rows, empty=f"no executions under {ctx.settings.executions_root}")
    return 0


def _steps(record: ExecutionRecord) -> str:
    """How many steps, and whether one tunes: tells a tuned run from a default one."""
    return f"{len(record.steps)}" + (" with Tuning" if any(step.type == "Tuning" for step in record.steps) else "")


def _describe(ctx: Context) -> int:
    from showcase.local import describe_execution, trial_logs

    out, settings = ctx.out, ctx.settings
    record = describe_execution(ctx.args.execution_id, settings)
    if out.json:
        out.document(execution_document(record, settings))
    out.fields(
        [
            ("execution", record.execution_id),
            ("arn", record.execution_arn),
            ("pipeline", record.pipeline_name),
            ("status", Status(record.status)),
            ("started", record.start),
            ("ended", record.end),
            ("duration", how_long(record.duration)),
            *([("failure reason", record.failure_reason)] if record.failure_reason else []),
        ]
    )
    out.line()
    out.table(["parameter", "value"], list(record.parameters.items()))
    out.line()
    out.table(
        ["step", "type", "status", "started", "ended", "duration"],
        [[s.name, s.type, Status(s.status), s.start, s.end, how_long(s.duration)] for s in record.steps],
    )
    for step in record.steps:
        if step.failure_reason:
            out.line(f"{step.name} failure reason: {step.failure_reason}")
        if step.log_path:
            out.line(f"{step.name} log: {step.log_path}")
    for step in record.steps:
        _trials(out, step, trial_logs(record.execution_id, step.name, settings))
    return 0


def _trials(out: Output, step: StepRecord, logs: list[Path]) -> None:
    """A Tuning step's training jobs: best first with their objective (when it completed), and their logs."""
    summaries = step.properties.get("TrainingJobSummaries") or []
    if summaries:
        rows = []
        for summary in summaries:
            objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
            value = f"{objective['MetricName']} {objective['Value']:.5g}" if objective else "-"
            tuned = ", ".join(f"{k}={_short(v)}" for k, v in summary.get("TunedHyperParameters", {}).items())
            rows.append([summary["TrainingJobName"], Status(summary["TrainingJobStatus"]), value, tuned])
        out.line()
        out.table(["training job", "status", "objective", "hyperparameters"], rows,
                  title=f"{step.name} trials, best first")  # fmt: skip
    if logs:
        out.line(f"{step.name} trial logs ({len(logs)}): {logs[0].parent}")


def _short(value: str) -> str:
    """A tuned value as a person reads it: floats to 4 significant digits."""
    try:
        return value if value.lstrip("-").isdigit() else f"{float(value):.4g}"
    except ValueError:
        return value


def _logs(ctx: Context) -> int:
    from showcase.local import describe_execution, trial_logs

    args, settings = ctx.args, ctx.settings
    record = describe_execution(args.execution_id, settings)
    names = [step.name for step in record.steps]
    trials = {log.stem: log for step in names for log in trial_logs(record.execution_id, step, settings)}
    if args.step_name in trials:
        text = trials[args.step_name].read_text(encoding="utf-8", errors="replace")
    elif args.step_name not in names:
        raise NoSuchResource(
            f"execution {record.execution_id} has no step or tuning trial {args.step_name!r} "
            f"(steps: {', '.join(names)}){suggest(args.step_name, [*names, *trials])}"
        )
    else:
        step = record.step(args.step_name)
        if not step.log_path:
            raise NoSuchResource(f"step {step.name!r} has no log: it is {step.status}")
        text = Path(step.log_path).read_text(encoding="utf-8", errors="replace")
    if ctx.out.json:
        lines = [{"message": line} for line in text.splitlines()]
        ctx.out.document({"logStreamName": f"{record.execution_id}/{args.step_name}", "events": lines})
    else:
        sys.stdout.write(text)
    return 0


# -- the object store ----------------------------------------------------------------------------------------


def upload_flag(text: str) -> tuple[str, str]:
    """``LOCAL=s3://bucket/key``: the local path may itself hold ``=``; the URI starts at the last ``=s3://``."""
    local, sep, uri = text.rpartition("=s3://")
    if not sep or not local:
        raise argparse.ArgumentTypeError(f"expected LOCAL=s3://bucket/key, got {text!r}")
    return local, "s3://" + uri


def put_local(store: ObjectStore, local: str, uri: str, *, flag: str) -> list[str]:
    """Put a file at ``uri``, or every file of a directory under ``uri`` as a prefix; the URIs written."""
    path = Path(local)
    try:
        if path.is_dir():
            written = store.upload_dir(path, uri)
        elif path.is_file():
            written = [store.put_file(uri, path)]
        else:
            raise UsageError(f"{flag} {local!r}: no such file or directory")
    except StoreError as exc:
        raise UsageError(f"{flag} {local}={uri}: {exc}") from None
    logger.info("put %d object(s) under %s", len(written), uri)
    return written


def _store_put(ctx: Context) -> int:
    store = ObjectStore(ctx.settings.store_root)
    uris = put_local(store, ctx.args.local, ctx.args.uri, flag="store put")
    _show_objects(ctx.out, store, ctx.args.uri, uris)
    return 0


def _store_ls(ctx: Context) -> int:
    store = ObjectStore(ctx.settings.store_root)
    try:
        uris = store.list(ctx.args.uri)
    except StoreError as exc:
        raise UsageError(f"store ls {ctx.args.uri}: {exc}") from None
    _show_objects(ctx.out, store, ctx.args.uri, uris)
    return 0


def _show_objects(out: Output, store: ObjectStore, prefix: str, uris: list[str]) -> None:
    """The URIs one a line; with ``--json``, ListObjectsV2's answer (the bucket, the prefix, each key's size and
    time)."""
    bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
    contents = []
    for uri in uris:
        stat = store.path_of(uri).stat()
        contents.append(
            {
                "Key": uri.removeprefix(f"s3://{bucket}/"),
                "Size": stat.st_size,
                "LastModified": datetime.fromtimestamp(stat.st_mtime, timezone.utc),
            }
        )
    out.document({"Name": bucket, "Prefix": key_prefix, "KeyCount": len(contents), "Contents": contents})
    for uri in uris:
        out.line(uri)
