"""``showcase-local``: run pipeline definitions on this machine and inspect their executions.

    showcase-local start --definition definition.json [--pipeline-name NAME] [--parameter Name=Value ...]
    showcase-local list
    showcase-local describe <execution-id>
    showcase-local retry <execution-id>
    showcase-local logs <execution-id> <step-name>
    showcase-local store put LOCAL s3://bucket/key      (a file, or a directory under a prefix)
    showcase-local store ls s3://bucket/prefix
    showcase-local api [--port 4566]                    (the AWS API on loopback: see showcase.cli.api)

``--home`` (or SHOWCASE_HOME) selects where the object store, registry and executions live.

While ``start`` or ``retry`` runs, Ctrl-C (SIGINT) or SIGTERM stops the execution as StopPipelineExecution does
(its jobs get SIGTERM and their grace, then SIGKILL; it ends Stopped) and a second one kills its jobs at once; the
command then says how to go on and exits 128 + the signal's number (130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from showcase import settings as settings_module
from showcase.cli import api as api_command
from showcase.cli.common import (
    ArgumentParser,
    add_home,
    add_log_level,
    configure_logging,
    execution_id_flag,
    key_value_flag,
    pipeline_name_flag,
    read_json_file,
    run_cli,
    step_name_flag,
)
from showcase.cli.report import styled
from showcase.errors import ExecutionFailed, UsageError
from showcase.local import (
    Event,
    ExecutionRecord,
    StepRecord,
    StopRequest,
    describe_execution,
    list_executions,
    retry_execution,
    run_definition,
    trial_logs,
)
from showcase.local.engine import EventKind
from showcase.reporting import how_long, when
from showcase.settings import Settings
from showcase.statuses import ExecutionStatus
from showcase.store import ObjectStore, StoreError

logger = logging.getLogger(__name__)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="showcase-local",
        description="Run pipeline definitions on this machine and inspect their executions. State (object store, "
        "registry, executions) lives under --home, else SHOWCASE_HOME, else ./.showcase.",
    )
    add_log_level(parser, default="WARNING")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    start = commands.add_parser("start", help="run a pipeline definition JSON file")
    start.add_argument("--definition", required=True, help="the definition JSON file")
    start.add_argument("--pipeline-name", type=pipeline_name_flag, help="pipeline name (default: the file's stem)")
    start.add_argument(
        "-p", "--parameter", action="append", type=key_value_flag, default=[], metavar="NAME=VALUE",
        help="override a pipeline parameter (repeatable)",
    )  # fmt: skip
    start.add_argument(
        "--upload", action="append", type=upload_flag, default=[], metavar="LOCAL=s3://BUCKET/KEY",
        help="put a local file (or a directory, under the key as a prefix) into the object store before the run "
        "(repeatable); objects the definition reads and the store lacks are all named before anything runs",
    )  # fmt: skip
    store = commands.add_parser("store", help="put objects into the local object store, or list them")
    store_commands = store.add_subparsers(dest="store_command", required=True, metavar="STORE_COMMAND")
    put = store_commands.add_parser("put", help="copy a local file, or a directory under a prefix, into the store")
    put.add_argument("local", help="a file or a directory")
    put.add_argument("uri", help="s3://bucket/key (for a directory: the prefix its files go under)")
    ls = store_commands.add_parser("ls", help="list the objects under an s3:// prefix")
    ls.add_argument("uri", help="s3://bucket/prefix")
    commands.add_parser("list", help="list executions, newest first")
    describe = commands.add_parser("describe", help="show an execution's steps and parameters")
    describe.add_argument("execution_id", type=execution_id_flag)
    retry = commands.add_parser("retry", help="re-run a Failed or Stopped execution from its unfinished steps")
    retry.add_argument("execution_id", type=execution_id_flag)
    logs = commands.add_parser("logs", help="print one step's log (or one tuning trial's, by its training job name)")
    logs.add_argument("execution_id", type=execution_id_flag)
    logs.add_argument("step_name", type=step_name_flag)
    api_command.add_parser(commands)
    add_home(parser)
    return parser


def entry(argv: Sequence[str] | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(main, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    return COMMANDS[args.command](args, settings_module.load(args.home), Console())


def _start(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    definition = read_json_file(args.definition, "definition file")
    if not isinstance(definition, dict):
        raise UsageError(f"definition file {args.definition!r} must hold a JSON object")
    name = args.pipeline_name or args.definition.rsplit("/", 1)[-1].removesuffix(".json")
    overrides, store = dict(args.parameter), ObjectStore(settings.store_root)
    for local, uri in args.upload:
        put_local(store, local, uri, flag="--upload")
    with stop_on_signals() as stop, _progress(console) as on_event:
        record = run_definition(
            definition, pipeline_name=name, parameters=overrides, settings=settings, on_event=on_event, stop=stop
        )
    return _outcome(record, console, stop)


def _retry(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    with stop_on_signals() as stop, _progress(console) as on_event:
        record = retry_execution(args.execution_id, settings=settings, on_event=on_event, stop=stop)
    return _outcome(record, console, stop)


def _outcome(record: ExecutionRecord, console: Console, stop: SignalStop) -> int:
    """Success is a line on stdout; a stop one line on stderr and 128 + the signal; anything else is one error
    line on stderr (and no status line before it)."""
    if record.status == ExecutionStatus.STOPPED:
        print(f"error: {stopped_line(record.execution_id, stop)}", file=sys.stderr)
        return stop.exit_code
    if record.status != ExecutionStatus.SUCCEEDED:
        reason = (record.failure_reason or "no reason given").rstrip().rstrip(".")
        raise ExecutionFailed(
            f"execution {record.execution_id} {record.status}: {reason}. Inspect it with "
            f"`showcase-local describe {record.execution_id}`, fix the cause, then "
            f"`showcase-local retry {record.execution_id}`",
            execution_id=record.execution_id,
            status=record.status,
        )
    console.print(f"execution {record.execution_id} {record.status}")
    return 0


def run_with_progress(
    definition: dict[str, Any],
    *,
    pipeline_name: str,
    parameters: dict[str, str],
    uploads: dict[str, bytes],
    settings: Settings,
    stop: StopRequest | None = None,
) -> ExecutionRecord:
    """Run a definition locally to its end, showing progress on stderr (``run_pipeline --local``)."""
    with _progress(Console(stderr=True)) as on_event:
        return run_definition(
            definition,
            pipeline_name=pipeline_name,
            parameters=parameters,
            uploads=uploads,
            settings=settings,
            on_event=on_event,
            stop=stop,
        )


class SignalStop(StopRequest):
    """A StopRequest the first SIGINT or SIGTERM makes (``stop_on_signals``); a second one hurries it."""

    def __init__(self) -> None:
        super().__init__()
        self.signal_number: int | None = None

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended: 130 for Ctrl-C."""
        return 128 + (self.signal_number or signal.SIGINT)


@contextmanager
def stop_on_signals() -> Iterator[SignalStop]:
    """While the block runs, SIGINT (Ctrl-C) and SIGTERM stop the execution instead of raising KeyboardInterrupt
    or ending the process: the engine stops its jobs and ends it Stopped; a second signal kills the jobs at once.
    The handler only sets the request's flags (the engine reads them). Outside the main thread, which gets no
    signals, nothing is installed."""
    request = SignalStop()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def on_signal(number: int, frame: object) -> None:
        if request.signal_number is None:
            request.signal_number = number
        request.stop(signal.Signals(number).name, now=request.requested)

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stopped_line(execution_id: str, stop: StopRequest) -> str:
    """What to say of an execution a signal stopped: its id, and how to go on."""
    return (
        f"execution {execution_id} Stopped ({stop.reason or 'stopped'}): its running steps were stopped and no "
        f"further step started. `showcase-local describe {execution_id}` shows its steps; "
        f"`showcase-local retry {execution_id}` runs the steps that did not succeed"
    )


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[Event], None]]:
    """Live step table on a terminal; one plain line per event otherwise (to the console's stream)."""
    if not console.is_terminal:
        yield lambda event: print(_line(event), file=console.file, flush=True)
        return
    rows: dict[str, Event] = {}
    with Live(_table(rows), console=console, refresh_per_second=8, transient=False) as live:

        def update(event: Event) -> None:
            if event.step_name:
                rows[event.step_name] = event
                live.update(_table(rows))
            elif event.kind == EventKind.EXECUTION_STOPPING:
                live.console.print(_line(event), markup=False, highlight=False)

        yield update


def _line(event: Event) -> str:
    stamp = when(datetime.fromtimestamp(event.time), "clock")
    subject = f"step {event.step_name} ({event.step_type})" if event.step_name else "execution"
    reason = f": {event.message}" if event.message else ""
    return f"{stamp} {event.execution_id} {subject} {event.status}{reason}"


def _table(rows: dict[str, Event]) -> Table:
    table = Table("step", "type", "status", "detail", box=None)
    for name, event in rows.items():
        table.add_row(name, event.step_type or "", styled(event.status), event.message or "")
    return table


def _list(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    records = list_executions(settings)
    if not records:
        console.print(f"no executions under {settings.executions_root}")
        return 0
    table = Table("execution", "pipeline", "status", "start", "duration")
    for record in records:
        table.add_row(
            record.execution_id,
            record.pipeline_name,
            record.status,
            when(record.start),
            how_long(record.duration),
        )
    console.print(table)
    return 0


def _describe(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    record = describe_execution(args.execution_id, settings)
    console.print(f"execution {record.execution_id} ({record.execution_arn})")
    console.print(f"pipeline {record.pipeline_name}: {record.status}, started {when(record.start)}, "
                  f"took {how_long(record.duration)}")  # fmt: skip
    if record.failure_reason:
        console.print(f"failure reason: {record.failure_reason}", markup=False, soft_wrap=True)
    parameters = Table("parameter", "value")
    for name, value in record.parameters.items():
        parameters.add_row(name, str(value))
    console.print(parameters)
    steps = Table("step", "type", "status", "start", "end", "duration")
    for step in record.steps:
        steps.add_row(step.name, step.type, step.status, when(step.start), when(step.end), how_long(step.duration))
    console.print(steps)
    for step in record.steps:
        if step.failure_reason:
            console.print(f"{step.name} failure reason: {step.failure_reason}", markup=False, soft_wrap=True)
        if step.log_path:
            console.print(f"{step.name} log: {step.log_path}", markup=False, soft_wrap=True)
    for step in record.steps:
        _trials(console, step, trial_logs(record.execution_id, step.name, settings))
    return 0


def _trials(console: Console, step: StepRecord, logs: list[Path]) -> None:
    """A Tuning step's training jobs: best first with their objective (when it completed), and their logs."""
    summaries = step.properties.get("TrainingJobSummaries") or []
    if summaries:
        table = Table("training job", "status", "objective", "hyperparameters", title=f"{step.name} trials, best first")
        for summary in summaries:
            objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
            value = f"{objective['MetricName']} {objective['Value']:.5g}" if objective else "-"
            tuned = ", ".join(f"{k}={_short(v)}" for k, v in summary.get("TunedHyperParameters", {}).items())
            table.add_row(summary["TrainingJobName"], summary["TrainingJobStatus"], value, tuned)
        console.print(table)
    if logs:
        console.print(f"{step.name} trial logs ({len(logs)}): {logs[0].parent}", markup=False, soft_wrap=True)


def _short(value: str) -> str:
    """A tuned value as a person reads it: floats to 4 significant digits."""
    try:
        return value if value.lstrip("-").isdigit() else f"{float(value):.4g}"
    except ValueError:
        return value


def _logs(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    record = describe_execution(args.execution_id, settings)
    names = [step.name for step in record.steps]
    trials = {log.stem: log for step in names for log in trial_logs(record.execution_id, step, settings)}
    if args.step_name in trials:
        sys.stdout.write(trials[args.step_name].read_text(encoding="utf-8"))
        return 0
    if args.step_name not in names:
        raise UsageError(
            f"execution {record.execution_id} has no step or tuning trial {args.step_name!r} "
            f"(steps: {', '.join(names)})"
        )
    step = record.step(args.step_name)
    if not step.log_path:
        raise UsageError(f"step {step.name!r} has no log: it is {step.status}")
    with open(step.log_path, encoding="utf-8") as log:
        sys.stdout.write(log.read())
    return 0


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


def _store(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    store = ObjectStore(settings.store_root)
    try:
        uris = (
            put_local(store, args.local, args.uri, flag="store put")
            if args.store_command == "put"
            else store.list(args.uri)
        )
    except StoreError as exc:
        raise UsageError(f"store {args.store_command} {args.uri}: {exc}") from None
    for uri in uris:
        console.print(uri, markup=False, soft_wrap=True)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings, Console], int]] = {
    "start": _start,
    "list": _list,
    "describe": _describe,
    "retry": _retry,
    "logs": _logs,
    "store": _store,
    "api": lambda args, settings, console: api_command.run(args, settings),
}

if __name__ == "__main__":
    sys.exit(entry())
