"""A local execution's progress on stderr, while it runs.

On a terminal, a live table of the steps (status, time so far, and what each is doing: the job it runs, a
tuning step's trials done out of its total and the trial running now) redrawn a few times a second, with log
records printed above it (they share one console, ``output.stderr_console``); it is cleared when the execution
ends, since the final table follows on stdout. Anywhere else (a pipe, a CI log), one line per change.

The first line names the definition once: its steps by type, a digest, and where the execution keeps it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from showcase.callbacks import Callbacks
from showcase.cli.output import stderr_console
from showcase.local import Event, trial_logs
from showcase.local.jobs import job_name
from showcase.local.records import ExecutionStore
from showcase.reporting import STATUS_STYLES, how_long, when
from showcase.settings import Settings
from showcase.statuses import StepStatus

JOB_STEPS = frozenset({"Processing", "Training", "Transform", "QualityCheck", "ClarifyCheck"})
"""Step types that run one job named by ``local.jobs.job_name``."""
TUNING_JOB_NAME_LENGTH = 32
_TRIALS_HEADER = re.compile(r"HyperParameterTuningJob \S+: \S+, (\d+) training job")
_TRIAL_ENDED = re.compile(r"^trial (\S+) (Completed|Failed|Stopped)\b", re.M)


def digest(definition: Mapping[str, Any]) -> str:
    """A short SHA-256 of the definition's canonical JSON (keys sorted): the same definition, the same digest."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def definition_summary(definition: Mapping[str, Any]) -> str:
    """``7 steps (2 Processing, 1 Training, ...), sha256 1a2b3c4d5e6f``: what a definition holds, in one line."""
    kinds: Counter[str] = Counter()

    def count(steps: Any) -> None:
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict):
                kinds[str(step.get("Type", "?"))] += 1
                arguments: dict[str, Any] = step["Arguments"] if isinstance(step.get("Arguments"), dict) else {}
                count(arguments.get("IfSteps"))
                count(arguments.get("ElseSteps"))

    count(definition.get("Steps"))
    total = sum(kinds.values())
    parts = ", ".join(f"{number} {kind}" for kind, number in kinds.most_common())
    return f"{total} step{'s' if total != 1 else ''} ({parts}), sha256 {digest(definition)}"


@dataclass
class _Row:
    step_type: str
    status: str
    started: float | None = None
    ended: float | None = None


class StepDetails:
    """What a running step is doing, read from the files the runtime writes as it goes (never from the job)."""

    def __init__(self, settings: Settings, definition: Mapping[str, Any] | None) -> None:
        self.settings = settings
        self.records = ExecutionStore(settings.executions_root)
        self.declared = _declared_steps(definition or {})

    def __call__(self, execution_id: str, step_name: str, step_type: str, status: str) -> str:
        if status != StepStatus.EXECUTING:
            return ""
        if step_type == "Tuning":
            return self.trials(execution_id, step_name)
        if step_type in JOB_STEPS:
            return f"job {job_name(execution_id, step_name)}"
        if step_type == "Callback":
            waiting = Callbacks(self.settings.home).waiting_on(execution_id, step_name)
            return f"waiting: showcase callback {waiting['CallbackToken']} --success ..." if waiting else ""
        return ""

    def trials(self, execution_id: str, step_name: str) -> str:
        """``trials 3/20 done; running <trial>``: the trials ended (from the step's log), the trial total (the
        tuning job's first log line, else the definition's MaxNumberOfTrainingJobs) and the newest trial begun."""
        started = [path.stem for path in trial_logs(execution_id, step_name, self.settings)]
        log = _read(self.records.log_path(execution_id, step_name))
        header = _TRIALS_HEADER.search(log)
        total = int(header.group(1)) if header else self._max_jobs(step_name)
        ended = {name for name, _ in _TRIAL_ENDED.findall(log)}
        running = [name for name in started if name not in ended]
        counted = f"trials {len(ended & set(started))}/{total if total is not None else '?'} done"
        tuning_job = job_name(execution_id, step_name, TUNING_JOB_NAME_LENGTH)
        if not running:
            return f"{counted} ({tuning_job})"
        more = f" and {len(running) - 1} more" if len(running) > 1 else ""
        return f"{counted}; running {running[-1]}{more}"

    def _max_jobs(self, step_name: str) -> int | None:
        arguments = self.declared.get(step_name, {}).get("Arguments") or {}
        limits = (arguments.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits") or {}
        value = limits.get("MaxNumberOfTrainingJobs")
        return value if isinstance(value, int) else None


def _declared_steps(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def visit(steps: Any) -> None:
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict) and isinstance(step.get("Name"), str):
                found[step["Name"]] = step
                arguments: dict[str, Any] = step["Arguments"] if isinstance(step.get("Arguments"), dict) else {}
                visit(arguments.get("IfSteps"))
                visit(arguments.get("ElseSteps"))

    visit(definition.get("Steps"))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


@contextmanager
def progress(
    settings: Settings, definition: Mapping[str, Any] | None, *, print_definition: bool = False
) -> Iterator[Callable[[Event], None]]:
    """An ``on_event`` for ``showcase.local``: a live table on a terminal, one line per change elsewhere."""
    console = stderr_console()
    summary = definition_summary(definition) if definition is not None else None
    store = ExecutionStore(settings.executions_root)

    def started(event: Event) -> None:
        where = store.directory(event.execution_id) / "definition.json"
        what = f"definition: {summary}, kept in {where}" if summary else f"definition kept in {where}"
        _say(console, f"execution {event.execution_id} started; {what}")

    if not console.is_terminal:

        def line(event: Event) -> None:
            if event.step_name is None:
                if event.kind == "execution_started":
                    started(event)
                elif event.kind == "execution_stopping":
                    _say(console, f"execution {event.execution_id}: {event.message}")
                return
            stamp = when(datetime.fromtimestamp(event.time), "clock")
            _say(console, f"{stamp} {event.execution_id} step {event.step_name} ({event.step_type}) {event.status}")

        yield line
        return

    from rich.live import Live

    rows: dict[str, _Row] = {}
    execution: list[str] = []
    details = StepDetails(settings, definition)
    lock = threading.Lock()

    def render() -> Any:
        with lock:
            current = dict(rows)
        return _live_table(execution[0] if execution else "", current, details)

    with Live(console=console, get_renderable=render, refresh_per_second=4, transient=True, redirect_stdout=False):

        def update(event: Event) -> None:
            if event.step_name is None:
                if event.kind == "execution_started":
                    execution.append(event.execution_id)
                    started(event)
                elif event.kind == "execution_stopping":  # above the live table, as every line said meanwhile
                    _say(console, f"execution {event.execution_id}: {event.message}")
                return
            with lock:
                row = rows.setdefault(event.step_name, _Row(event.step_type or "", str(event.status)))
                row.status = str(event.status)
                if event.status == StepStatus.EXECUTING:
                    row.started, row.ended = event.time, None
                elif row.started is not None:
                    row.ended = event.time

        yield update


def _live_table(execution_id: str, rows: Mapping[str, _Row], details: StepDetails) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("STEP", no_wrap=True)
    table.add_column("TYPE", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("TIME", no_wrap=True, justify="right")
    table.add_column("DETAIL", no_wrap=True, overflow="ellipsis")
    now = time.time()
    for name, row in rows.items():
        style = STATUS_STYLES[row.status].terminal if row.status in STATUS_STYLES else ""
        elapsed = (row.ended or now) - row.started if row.started is not None else None
        detail = details(execution_id, name, row.step_type, row.status) if execution_id else ""
        table.add_row(name, row.step_type, Text(row.status, style=style or ""), how_long(elapsed), detail)
    return table


def _say(console: Any, text: str) -> None:
    from rich.text import Text

    console.print(Text(text), soft_wrap=True)
